package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/display"
	"github.com/posagent/posagent/display/pole"
	"github.com/posagent/posagent/drivers/bridge"
	"github.com/posagent/posagent/drivers/serial"
	"github.com/posagent/posagent/fonts"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/scanner"
)

// Reloading the configuration of a running daemon (SIGHUP, posagent
// reload, POST /v1/config/reload): the file is read and checked again as at
// start; an invalid file changes nothing. Of a valid file, the changes the
// running parts can take are applied at once (liveKey) and the others are
// listed as needing a restart, and left as they were. A payment in flight is
// not touched (the engine keeps running); a receipt being printed finishes
// on the printer it started on; queued receipts wait in the outbox.

// daemonOptions are what `posagent run` gives runDaemon beyond the config.
type daemonOptions struct {
	// ConfigPath and Env are what a reload reads again (--config, and the
	// environment the daemon started with). Reload is off when both are
	// empty and no Reload channel is given.
	ConfigPath string
	Env        []string
	// Level is the logger's level, which a reload changes (log.level).
	Level *slog.LevelVar
	// Reload asks for a reload (SIGHUP).
	Reload <-chan struct{}
	// Reloadable turns reloading on.
	Reloadable bool
}

// reloadResult is what a reload did, for the CLI, the log and the event.
type reloadResult struct {
	OK       bool             `json:"ok"`
	File     string           `json:"file,omitempty"`
	Applied  []config.Change  `json:"applied"`            // now in effect
	Restart  []config.Change  `json:"restart"`            // need a restart; not applied
	Problems []config.Problem `json:"problems,omitempty"` // why the file was refused
	Error    string           `json:"error,omitempty"`    // the file could not be read
	Warnings []string         `json:"warnings,omitempty"`
}

// liveKey reports whether a running daemon applies a change of key at once.
// The rest (the journal, the listen address, the gateway, the flows'
// timings, what the parts are) need a restart.
func liveKey(key string, old, new *config.Config) bool {
	bridged := old.Printer.Kind == "bridge" || new.Printer.Kind == "bridge"
	switch {
	case key == "log.level":
		return true
	case strings.HasPrefix(key, "api.tokens.") || key == "api.allowed_hosts" || key == "api.allowed_origins" ||
		key == "api.default_operator" || key == "api.socket_users" || strings.HasPrefix(key, "operators") ||
		key == "refunds.approval_above" || key == "refunds.unapproved_per_shift" || key == "bridge.token":
		return true // the engine's access rules (SetAccess)
	case strings.HasPrefix(key, "scanners["):
		return true
	case key == "display.language" || key == "display.logo" || key == "display.idle_qr" || strings.HasPrefix(key, "display.pole.") ||
		strings.HasPrefix(key, "display.png."):
		return old.Display.Kind == new.Display.Kind
	case key == "merchant.id" || key == "merchant.store":
		return false // the feed's subjects, set at start
	case strings.HasPrefix(key, "merchant.") && key != "merchant.currency":
		return true // receipt text and the display's name
	case key == "receipt.language":
		return !bridged
	case strings.HasPrefix(key, "printer."):
		switch key {
		case "printer.kind":
			return old.Printer.Kind != "none" && new.Printer.Kind != "none" && !bridged
		case "printer.auto_print", "printer.image":
			return false // the engine's and the bridge's, set at start
		}
		return !bridged
	}
	return false
}

// reloader owns the running configuration and the parts a reload changes.
type reloader struct {
	path  string
	env   []string
	log   *slog.Logger
	level *slog.LevelVar
	eng   *agent.Engine
	api   *api.Server

	printer  *livePrinter
	display  *liveHandler // nil without the web display
	sink     *swapSink    // nil without a pole or PNG display
	scanners *scannerSet
	cjk      *fonts.CJK
	hub      *bridge.Hub
	ctl      *display.Controller

	mu  sync.Mutex // serialises reloads; guards cur
	cur *config.Config
}

// reload reads the file again and applies what it can.
func (r *reloader) reload() reloadResult {
	r.mu.Lock()
	defer r.mu.Unlock()
	res := r.reloadLocked()
	r.report(res)
	return res
}

func (r *reloader) reloadLocked() reloadResult {
	next, src, err := config.Check(r.path, r.env)
	res := reloadResult{File: src.File, Warnings: src.Warnings, Applied: []config.Change{}, Restart: []config.Change{}}
	var ce *config.Error
	switch {
	case errors.As(err, &ce):
		res.Problems = ce.Problems
		return res
	case err != nil:
		res.Error = err.Error()
		return res
	}
	var live []string
	for _, c := range config.Changes(r.cur, next) {
		if liveKey(c.Key, r.cur, next) {
			res.Applied = append(res.Applied, c)
			live = append(live, c.Key)
		} else {
			res.Restart = append(res.Restart, c)
		}
	}
	merged := r.cur.With(next, live)
	if ps := merged.Problems(); len(ps) > 0 {
		// Live changes that only make sense with restart-only ones.
		for _, p := range ps {
			p.Msg += " (with the running values of the keys that need a restart: restart to apply them together)"
			res.Problems = append(res.Problems, p)
		}
		res.Applied = []config.Change{}
		return res
	}
	// Prepare every part first; only when all are ready is anything swapped.
	var commits []func()
	for _, prep := range []func(old, new *config.Config) (func(), error){r.printer.prepare, r.prepareDisplay, r.scanners.prepare, r.prepareAccess} {
		c, err := prep(r.cur, merged)
		if err != nil {
			res.Error = err.Error()
			res.Applied = []config.Change{}
			return res
		}
		if c != nil {
			commits = append(commits, c)
		}
	}
	for _, c := range commits {
		c()
	}
	if r.level != nil {
		r.level.Set(parseLevel(merged.Log.Level))
	}
	r.cur = merged
	res.OK = true
	return res
}

// report logs the result and journals config.reloaded (or
// config.reload_refused) with what changed; secrets show as ********.
func (r *reloader) report(res reloadResult) {
	kind := "config.reloaded"
	fields := map[string]any{"file": res.File, "applied": res.Applied, "restart": res.Restart}
	if !res.OK {
		kind = "config.reload_refused"
		// "reason", not "error": Event.Error is a structured error.
		fields = map[string]any{"file": res.File, "problems": res.Problems, "reason": res.Error}
		r.log.Warn("config: reload refused: the running configuration is unchanged", "file", res.File,
			"problems", len(res.Problems), "err", res.Error)
		for _, p := range res.Problems {
			r.log.Warn("config: " + p.String())
		}
	} else {
		keys := func(cs []config.Change) string {
			var k []string
			for _, c := range cs {
				k = append(k, c.Key)
			}
			return strings.Join(k, ",")
		}
		r.log.Info("config: reloaded", "file", res.File, "applied", keys(res.Applied), "restart", keys(res.Restart))
		for _, c := range res.Restart {
			r.log.Warn("config: "+c.Key+" changed but needs a restart (systemctl restart posagent); still running with the old value", "old", c.Old, "new", c.New)
		}
	}
	if _, err := r.eng.RecordEvent(kind, fields); err != nil {
		r.log.Error("config: reload not journaled", "err", err)
	}
}

// auditDetail names the keys a reload applied and those left for a
// restart (never their values), or says it was refused.
func (res reloadResult) auditDetail() string {
	if !res.OK {
		return fmt.Sprintf("refused: %d problems", len(res.Problems))
	}
	keys := func(cs []config.Change) string {
		var k []string
		for _, c := range cs {
			k = append(k, c.Key)
		}
		return strings.Join(k, ",")
	}
	return "applied: " + keys(res.Applied) + "; restart: " + keys(res.Restart)
}

// handler is POST /v1/config/reload: the reload's result as JSON; 422
// when the file was refused.
func (r *reloader) handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		res := r.reload()
		api.AuditDetail(req, res.auditDetail())
		w.Header().Set("Content-Type", "application/json")
		if !res.OK {
			w.WriteHeader(http.StatusUnprocessableEntity)
		}
		json.NewEncoder(w).Encode(res)
	})
}

// run reloads on each signal until ctx ends.
func (r *reloader) run(ctx context.Context, sig <-chan struct{}) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-sig:
			res := r.reload()
			status, result := 200, "ok"
			if !res.OK {
				status, result = 422, "reload_refused"
			}
			// A reload by signal is on the audit trail too (one by the API is
			// recorded by the API's front door, with its credential).
			if err := r.eng.RecordAudit(agent.Audit{Action: "config.reload", Method: "SIGHUP", Credential: "signal", Client: "local",
				Status: status, Result: result, Detail: res.auditDetail()}); err != nil {
				r.log.Error("config: reload not on the audit trail", "err", err)
			}
		}
	}
}

// prepareDisplay rebuilds the web page's handler and the pole or PNG sink
// with the new values; the controller (what is on screen) stays.
func (r *reloader) prepareDisplay(old, new *config.Config) (func(), error) {
	if sameKeys(old, new, "display.", "merchant.name", "merchant.static_qr", "receipt.language") {
		return nil, nil
	}
	var h http.Handler
	if r.display != nil {
		h = displayHandler(new, r.cjk, r.ctl, func() *agent.Engine { return r.eng }, r.log)
	}
	var s display.Sink
	var closer io.Closer
	if r.sink != nil {
		var err error
		if s, closer, err = displaySink(new, r.cjk, r.hub); err != nil {
			return nil, err
		}
	}
	return func() {
		if h != nil {
			r.display.set(h)
		}
		if s != nil {
			r.sink.set(s, closer, r.ctl.Current())
		}
	}, nil
}

// sameKeys reports whether old and new agree on every key starting with
// one of prefixes.
func sameKeys(old, new *config.Config, prefixes ...string) bool {
	for _, c := range config.Changes(old, new) {
		for _, p := range prefixes {
			if strings.HasPrefix(c.Key, p) {
				return false
			}
		}
	}
	return true
}

// liveHandler is an http.Handler a reload replaces.
type liveHandler struct{ h atomic.Pointer[http.Handler] }

func newLiveHandler(h http.Handler) *liveHandler {
	l := &liveHandler{}
	l.set(h)
	return l
}

func (l *liveHandler) set(h http.Handler) { l.h.Store(&h) }

func (l *liveHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*l.h.Load()).ServeHTTP(w, r)
}

// swapSink is the display controller's pole or PNG sink; a reload replaces
// what is behind it and shows the current screen on the new one.
type swapSink struct {
	mu     sync.Mutex
	s      display.Sink
	closer io.Closer
}

func (w *swapSink) Show(s display.Screen) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.s.Show(s)
}

func (w *swapSink) set(s display.Sink, closer io.Closer, now display.Screen) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closer != nil {
		w.closer.Close()
	}
	w.s, w.closer = s, closer
	_ = s.Show(now)
}

func (w *swapSink) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closer != nil {
		return w.closer.Close()
	}
	return nil
}

// livePrinter is the receipt printer the engine keeps for the whole run. A
// reload builds a new printer behind it: new receipts go to the new one, a
// receipt being printed finishes on the old one, which then stops.
type livePrinter struct {
	log       *slog.Logger
	cjk       *fonts.CJK
	hub       agent.ReceiptPrinter // the bridge helper's printer (nil: no bridge)
	setDevice func(agent.DeviceStatus)

	mu   sync.Mutex
	gen  *printerGen
	ctx  context.Context // Run's; nil before
	runs sync.WaitGroup
}

type printerGen struct {
	rp   agent.ReceiptPrinter // nil: no printer
	prn  *printer.Printer     // nil: none, or the bridge
	prof printer.Profile
	dec  func(printer.Receipt) printer.Receipt
	// placard is merchant.static_qr and merchant.payment_links (cmd_placard.go).
	placard printer.Placard
	jobs    sync.WaitGroup
	cancel  context.CancelFunc
}

func newLivePrinter(cfg *config.Config, hub agent.ReceiptPrinter, cjk *fonts.CJK, log *slog.Logger, setDevice func(agent.DeviceStatus)) (*livePrinter, error) {
	lp := &livePrinter{log: log, cjk: cjk, hub: hub, setDevice: setDevice}
	g, err := lp.build(cfg)
	if err != nil {
		return nil, err
	}
	lp.gen = g
	return lp, nil
}

// build makes the printer cfg describes.
func (lp *livePrinter) build(cfg *config.Config) (*printerGen, error) {
	prof := printerProfile(cfg)
	prof.CJK = lp.cjk
	g := &printerGen{prof: prof, dec: receiptDecorator(cfg), placard: placardOf(cfg)}
	var rp agent.ReceiptPrinter
	switch cfg.Printer.Kind {
	case "", "none":
	case "bridge":
		rp = lp.hub
	default:
		open, err := printerOpener(cfg)
		if err != nil {
			return nil, err
		}
		name := "printer"
		g.prn, err = printer.New(printer.Options{
			Open: open, Profile: prof, Name: name, Logger: lp.log.With("part", "printer"),
			SkipStatus: cfg.Printer.Kind == "file" || !cfg.Printer.Status,
			OnChange: func(s printer.Status, err error) {
				d := agent.DeviceStatus{Kind: "printer", Name: name, State: printer.StateOf(s, err)}
				if err != nil {
					d.LastError = err.Error()
				}
				lp.setDevice(d)
			},
		})
		if err != nil {
			return nil, err
		}
		rp = g.prn
	}
	if rp != nil {
		g.rp = receiptPrinter{p: rp, copies: cfg.Printer.Copies, decorate: g.dec}
	}
	return g, nil
}

// present reports whether there is a printer at all.
func (lp *livePrinter) present() bool { return lp.gen.rp != nil }

func (lp *livePrinter) PrintReceipt(ctx context.Context, r printer.Receipt) error {
	lp.mu.Lock()
	g := lp.gen
	g.jobs.Add(1)
	lp.mu.Unlock()
	defer g.jobs.Done()
	if g.rp == nil {
		return errors.New("printer: none configured (printer.kind: none)")
	}
	return g.rp.PrintReceipt(ctx, r)
}

// RenderPNG draws a receipt as the current printer would print it.
func (lp *livePrinter) RenderPNG(r printer.Receipt) ([]byte, error) {
	lp.mu.Lock()
	g := lp.gen
	lp.mu.Unlock()
	return printer.RenderPNG(g.dec(r), g.prof)
}

// Run runs the current printer's status polling, and each replacement's,
// until ctx ends.
func (lp *livePrinter) Run(ctx context.Context) error {
	lp.mu.Lock()
	lp.ctx = ctx
	lp.start(lp.gen)
	lp.mu.Unlock()
	<-ctx.Done()
	lp.runs.Wait()
	return nil
}

// start runs g's printer under its own context; lp.mu held.
func (lp *livePrinter) start(g *printerGen) {
	gctx, cancel := context.WithCancel(lp.ctx)
	g.cancel = cancel
	if g.prn == nil {
		return
	}
	lp.runs.Add(1)
	go func() {
		defer lp.runs.Done()
		if err := g.prn.Run(gctx); err != nil && !errors.Is(err, context.Canceled) {
			lp.log.Warn("printer stopped", "err", err)
		}
	}()
}

// prepare builds the new printer when a printer or receipt key changed.
func (lp *livePrinter) prepare(old, new *config.Config) (func(), error) {
	if sameKeys(old, new, "printer.", "receipt.", "merchant.") {
		return nil, nil
	}
	g, err := lp.build(new)
	if err != nil {
		return nil, fmt.Errorf("printer: %w", err)
	}
	return func() {
		lp.mu.Lock()
		old := lp.gen
		lp.gen = g
		if lp.ctx != nil {
			lp.start(g)
		}
		lp.mu.Unlock()
		// The old printer stops once the receipt it is printing is done.
		go func() {
			old.jobs.Wait()
			if old.cancel != nil {
				old.cancel()
			}
		}()
	}, nil
}

// scannerSet runs one source per configured scanner; a reload stops the
// scanners whose settings changed or that are gone and starts the new ones
// (a changed device path reopens). The others keep running untouched.
type scannerSet struct {
	log       *slog.Logger
	setDevice func(agent.DeviceStatus)
	emit      func(ctx context.Context, s scanner.Scan)

	mu      sync.Mutex
	ctx     context.Context
	running map[string]*runningScanner
	wg      sync.WaitGroup
}

type runningScanner struct {
	cfg    config.Scanner
	cancel context.CancelFunc
	done   chan struct{}
}

// Run starts cfg's scanners and returns when ctx ends and every scanner
// has stopped.
func (s *scannerSet) Run(ctx context.Context, cfg *config.Config) error {
	s.mu.Lock()
	s.ctx, s.running = ctx, map[string]*runningScanner{}
	for _, sc := range cfg.Scanners {
		if err := s.startLocked(sc, cfg); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	s.mu.Unlock()
	<-ctx.Done()
	s.wg.Wait()
	return nil
}

func (s *scannerSet) startLocked(sc config.Scanner, cfg *config.Config) error {
	src, err := scannerSource(sc, cfg, s.log, s.setDevice)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	rs := &runningScanner{cfg: sc, cancel: cancel, done: make(chan struct{})}
	s.running[sc.Name] = rs
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(rs.done)
		if err := src.Run(ctx, func(scan scanner.Scan) { s.emit(ctx, scan) }); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Warn("scanner stopped", "scanner", sc.Name, "err", err)
		}
	}()
	return nil
}

func (s *scannerSet) prepare(old, new *config.Config) (func(), error) {
	if sameKeys(old, new, "scanners[", "agent.dedup") {
		return nil, nil
	}
	for _, sc := range new.Scanners {
		if _, err := scannerSource(sc, new, s.log, s.setDevice); err != nil {
			return nil, err
		}
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.ctx == nil {
			return
		}
		want := map[string]config.Scanner{}
		for _, sc := range new.Scanners {
			want[sc.Name] = sc
		}
		for name, rs := range s.running {
			if sc, ok := want[name]; ok && sc == rs.cfg {
				delete(want, name) // unchanged: keeps running
				continue
			}
			rs.cancel()
			<-rs.done // the port is closed before it is opened again
			delete(s.running, name)
			if _, ok := want[name]; !ok {
				s.setDevice(agent.DeviceStatus{Kind: "scanner", Name: name, State: "removed"})
			}
		}
		for _, sc := range new.Scanners {
			if _, ok := want[sc.Name]; ok {
				if err := s.startLocked(sc, new); err != nil {
					s.log.Error("scanner not started after reload", "scanner", sc.Name, "err", err)
				}
			}
		}
	}, nil
}

// displaySink is the pole display or the PNG frames (and a bridged LCD)
// cfg describes, with what closes it.
func displaySink(cfg *config.Config, cjk *fonts.CJK, hub *bridge.Hub) (display.Sink, io.Closer, error) {
	switch cfg.Display.Kind {
	case "pole":
		d, err := pole.DialectByName(cfg.Display.Pole.Dialect)
		if err != nil {
			return nil, nil, err
		}
		if c, ok := d.(pole.CD5220); ok {
			c.GB2312 = cfg.Display.Pole.Chinese
			d = c
		}
		// Reopened on the next screen change when missing or unplugged: a
		// pole display never stops payments.
		dev, baud := cfg.Display.Pole.Device, cfg.Display.Pole.Baud
		pd := pole.NewReopening(func() (io.WriteCloser, error) {
			return serial.Open(serial.Config{Device: dev, Baud: baud})
		}, d, pole.Options{Merchant: cfg.Merchant.Name, Language: cfg.Display.Language, ShopLanguage: shopLanguage(cfg)})
		return pd, pd, nil
	case "png":
		r, err := display.NewRenderer(display.FrameOptions{Width: cfg.Display.PNG.Width, Height: cfg.Display.PNG.Height, MerchantName: cfg.Merchant.Name,
			CJK: cjk, Language: cfg.Display.Language, ShopLanguage: shopLanguage(cfg), IdleQR: idleQR(cfg)})
		if err != nil {
			return nil, nil, err
		}
		var sinks multiSink
		if cfg.Display.PNG.Path != "" {
			sinks = append(sinks, &display.PNGSink{Path: cfg.Display.PNG.Path, Renderer: r})
		}
		if hub != nil {
			// A small LCD that Android owns (Sunmi T1 mini): frames go over the bridge.
			sinks = append(sinks, bridge.FrameSink(hub, r.PNG))
		}
		return sinks, nil, nil
	}
	return nil, nil, fmt.Errorf("display.kind %q has no sink", cfg.Display.Kind)
}

// multiSink shows each screen on every sink; the first error is returned.
type multiSink []display.Sink

func (m multiSink) Show(s display.Screen) error {
	var first error
	for _, x := range m {
		if err := x.Show(s); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// displayHandler is the web display (/display) for cfg.
func displayHandler(cfg *config.Config, cjk *fonts.CJK, ctl *display.Controller, eng func() *agent.Engine, log *slog.Logger) http.Handler {
	return display.Handler(display.Options{
		MerchantName: cfg.Merchant.Name, Language: cfg.Display.Language, LogoPath: cfg.Display.Logo,
		ShopLanguage: shopLanguage(cfg), CJK: cjk,
		Controller: ctl, FrameWidth: cfg.Display.PNG.Width, FrameHeight: cfg.Display.PNG.Height,
		CodeURL: func(id string) (string, bool) {
			p, err := eng().Payment(id)
			if err != nil || p.CodeURL == "" || p.State.Final() {
				return "", false
			}
			return p.CodeURL, true
		},
		Rate:       engineRate(eng),
		RateMaxAge: cfg.Display.RateMaxAge,
		IdleQR:     idleQR(cfg),
		Logger:     log.With("part", "display"),
	})
}

// idleQR is what the idle customer display shows as the merchant's static
// QR: merchant.static_qr when display.idle_qr is on, else "".
func idleQR(cfg *config.Config) string {
	if !cfg.Display.IdleQR {
		return ""
	}
	return cfg.Merchant.StaticQR
}

// prepareAccess builds the API's access rules from the new config; the
// commit puts them in force at once (tokens, operators, approval limit,
// allowed hosts and origins, socket users).
func (r *reloader) prepareAccess(old, new *config.Config) (func(), error) {
	if r.api == nil {
		return nil, nil
	}
	acc, err := accessOf(new)
	if err != nil {
		return nil, fmt.Errorf("api access: %w", err)
	}
	return func() {
		r.api.SetAccess(acc)
		if r.hub != nil {
			r.hub.SetToken(new.BridgeToken()) // the helper's WebSocket checks the live token too
		}
	}, nil
}
