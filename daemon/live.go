package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/display"
	"github.com/posagent/posagent/display/pole"
	"github.com/posagent/posagent/drivers/bridge"
	"github.com/posagent/posagent/drivers/serial"
	"github.com/posagent/posagent/fonts"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/scanner"
)

// Prepare rebuilds the web page's handler and the pole or PNG sink
// with the new values; the controller (what is on screen) stays.
func (p *displayPart) Prepare(old, new *config.Config) (Commit, error) {
	if sameKeys(old, new, "display.", "merchant.name", "merchant.static_qr", "receipt.language") {
		return nil, nil
	}
	var h http.Handler
	if p.handler != nil {
		h = displayHandler(new, p.cjk, p.ctl, p.eng, p.log)
	}
	var s display.Sink
	var closer io.Closer
	if p.sink != nil {
		var err error
		if s, closer, err = displaySink(new, p.cjk, p.hub); err != nil {
			return nil, err
		}
	}
	return func() {
		if h != nil {
			p.handler.set(h)
		}
		if s != nil {
			p.sink.set(s, closer, p.ctl.Current())
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

// init builds the printer cfg describes, printing through hub with
// printer.kind bridge, and reporting its state to setDevice.
func (lp *livePrinter) init(cfg *config.Config, hub agent.ReceiptPrinter, setDevice func(agent.DeviceStatus)) error {
	lp.hub, lp.setDevice = hub, setDevice
	g, err := lp.build(cfg)
	if err != nil {
		return err
	}
	lp.gen = g
	return nil
}

// printerPresent reports whether cfg has a printer at all.
func printerPresent(cfg *config.Config) bool {
	return cfg.Printer.Kind != "" && cfg.Printer.Kind != "none"
}

func (lp *livePrinter) Name() string { return "printer" }
func (lp *livePrinter) Close() error { return nil }

// build makes the printer cfg describes.
func (lp *livePrinter) build(cfg *config.Config) (*printerGen, error) {
	prof := PrinterProfile(cfg)
	prof.CJK = lp.cjk
	g := &printerGen{prof: prof, dec: receiptDecorator(cfg), placard: placardOf(cfg)}
	var rp agent.ReceiptPrinter
	switch cfg.Printer.Kind {
	case "", "none":
	case "bridge":
		rp = lp.hub
	default:
		open, err := PrinterOpener(cfg)
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
func (lp *livePrinter) Prepare(old, new *config.Config) (Commit, error) {
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
	cfg       *config.Config // the start's
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
func (s *scannerSet) Run(ctx context.Context) error {
	cfg := s.cfg
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

func (s *scannerSet) Name() string { return "scanners" }
func (s *scannerSet) Close() error { return nil }

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

func (s *scannerSet) Prepare(old, new *config.Config) (Commit, error) {
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
func displayHandler(cfg *config.Config, cjk *fonts.CJK, ctl *display.Controller, eng *agent.Engine, log *slog.Logger) http.Handler {
	return display.Handler(display.Options{
		MerchantName: cfg.Merchant.Name, Language: cfg.Display.Language, LogoPath: cfg.Display.Logo,
		ShopLanguage: shopLanguage(cfg), CJK: cjk,
		Controller: ctl, FrameWidth: cfg.Display.PNG.Width, FrameHeight: cfg.Display.PNG.Height,
		CodeURL: func(id string) (string, bool) {
			p, err := eng.Payment(id)
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
