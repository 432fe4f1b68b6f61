package daemon

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/devices"
	"github.com/posagent/posagent/display"
	"github.com/posagent/posagent/drivers/bridge"
	"github.com/posagent/posagent/fonts"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/scanner"
	"github.com/posagent/posagent/store"
)

// build makes every part, in the order they depend on each other: the
// journal, the simulator and the gateway client, the engine over them, then
// the devices and the API that reach the engine. Each part is added as it
// is made, so that Close undoes a partial build.
func (d *Daemon) build(cfg *config.Config) error {
	log := d.log
	// The CJK font (a 20 MB collection to parse) loads while the journal
	// is checked and opened: neither waits for the other at start.
	cjkc := make(chan *fonts.CJK, 1)
	go func() { cjkc <- loadCJK(cfg, log) }()
	cjkTaken := false
	defer func() {
		if !cjkTaken {
			if c := <-cjkc; c != nil {
				c.Close()
			}
		}
	}()
	front, err := newAPIFront(cfg, log)
	if err != nil {
		return err
	}
	st, err := OpenJournal(cfg, log)
	if err != nil {
		return err
	}
	d.add(&journalPart{st: st, backup: cfg.Store.Backup})
	sim, err := newSim(cfg, log)
	if err != nil {
		return err
	}
	if sim != nil {
		d.add(sim)
	}
	gw, err := newGateway(cfg, sim.gatewayURL(cfg), log)
	if err != nil {
		return err
	}
	cjk := <-cjkc
	cjkTaken = true
	if cjk != nil {
		d.add(closerPart{name: "fonts", close: func() error { cjk.Close(); return nil }})
	}
	// The engine holds the receipt printer for the whole run; what is
	// behind it is built below, once the bridge it may print through exists.
	lp := &livePrinter{log: log, cjk: cjk}
	reg := devices.New()
	eng, err := d.newEngine(cfg, gw, st, lp, reg)
	if err != nil {
		return err
	}
	reg.Watch(eng.RecordDevice) // every change is journaled (device.changed)
	d.engine = eng
	ep := &enginePart{eng: eng}
	d.add(ep)
	d.gate, d.before = ep, len(d.parts)
	return d.buildDevices(cfg, front, st, gw, sim, cjk, lp, reg, eng)
}

// buildDevices makes the parts that follow the engine: the bridge, the
// printer, the display, the feed, the API and the scanners.
func (d *Daemon) buildDevices(cfg *config.Config, front *apiFront, st *store.Store, gw *gateway.Client, sim *simPart,
	cjk *fonts.CJK, lp *livePrinter, reg *devices.Registry, eng *agent.Engine) error {
	log := d.log
	bp, hubPrinter, err := newBridge(cfg, cjk, eng, reg, log)
	if err != nil {
		return err
	}
	var hub *bridge.Hub
	if bp != nil {
		hub = bp.hub
	}
	if err := lp.init(cfg, hubPrinter, reg.Set); err != nil {
		return err
	}
	d.add(lp)
	if bp != nil {
		d.add(bp)
	}
	disp, err := newDisplay(cfg, cjk, hub, eng, log)
	if err != nil {
		return err
	}
	d.add(disp)
	fp, err := newFeed(cfg, st, eng, d.opts.Version, log)
	if err != nil {
		return err
	}
	if fp != nil {
		d.add(fp)
	}
	if d.opts.Reloadable {
		d.rl = &reloader{d: d, eng: eng, log: log.With("part", "config")}
		d.add(d.rl)
	}
	ap := &apiPart{front: front, cfg: cfg, log: log, version: d.opts.Version, ready: d.opts.Ready, simURL: sim.url()}
	ap.srv = d.newAPI(cfg, ap, st, gw, hub, lp, disp, fp, eng)
	scs, err := newScanners(cfg, log, reg, eng)
	if err != nil {
		return err
	}
	d.add(scs)
	d.add(ap) // last: the API listens once the rest runs
	d.live = []Live{lp, disp, scs, ap}
	if bp != nil {
		d.live = append(d.live, bp)
	}
	d.live = append(d.live, levelLive{d.opts.Level})
	return nil
}

// newEngine is the payment engine over the journal, the gateway client and
// the receipt printer (nil behind it with printer.kind none).
func (d *Daemon) newEngine(cfg *config.Config, gw *gateway.Client, st *store.Store, lp *livePrinter, reg *devices.Registry) (*agent.Engine, error) {
	var rp agent.ReceiptPrinter
	if printerPresent(cfg) {
		rp = lp
	}
	opts := agent.Options{
		Gateway: gw, Store: st, Logger: d.log.With("part", "agent"),
		Currency: cfg.Merchant.Currency, TerminalNo: cfg.Gateway.TerminalNo, MerchantName: cfg.Merchant.Name,
		ScanPollWindow: cfg.Agent.ScanWindow, QRWindow: cfg.Agent.QRWindow, ScanPollEvery: cfg.Agent.PollInterval,
		DedupWindow: cfg.Agent.Dedup, Retention: retention(cfg.Store.Retention), TimeScale: cfg.Agent.TimeScale,
		Printer: rp, AutoPrint: cfg.Printer.AutoPrint && rp != nil,
		ReceiptFooter: cfg.Merchant.Footer,
		ScanAutoStart: cfg.Agent.ScanAutoStart, Version: d.opts.Version,
		AwaitCodeTimeout: cfg.Agent.AwaitCodeTimeout, CartTimeout: cfg.Agent.CartTimeout, DuplicateWindow: duplicateWindow(cfg.Agent.DuplicateWindow),
		RateEvery: time.Hour, RateMaxAge: cfg.Display.RateMaxAge,
		ShutdownGrace: cfg.Agent.ShutdownGrace, OutboxWorkers: cfg.Agent.OutboxWorkers, NotBefore: d.opts.NotBefore,
		FeeAllowanceBPS: cfg.Gateway.FeeAllowanceBPS, TipChoices: cfg.Display.TipChoices, TipMaxPercent: cfg.Tips.MaxPercent,
		Location: ShopLocation(cfg), CloseAt: cfg.Reports.CloseAt, ReconcileRate: reconcileRate(cfg), Reports: lp,
		GatewayZone: gatewayZone(cfg), Devices: reg,
	}
	return agent.New(opts)
}

// newAPI is the local API in front of the engine, with the journal backup,
// the reload endpoint and the display page mounted behind its front door.
func (d *Daemon) newAPI(cfg *config.Config, ap *apiPart, st *store.Store, gw *gateway.Client, hub *bridge.Hub,
	lp *livePrinter, disp *displayPart, fp *feedPart, eng *agent.Engine) *api.Server {
	o := api.Options{Token: cfg.API.Token, Access: ap.front.access, Reports: lp,
		RenderReceipt: lp.RenderPNG, Logger: d.log.With("part", "api"),
		RenderReport: printer.RenderReportPaper, RenderPlacard: printer.RenderPlacardPaper,
		SSEPing: scaled(15*time.Second, cfg.Agent.TimeScale), PrintTimeout: scaled(30*time.Second, cfg.Agent.TimeScale)}
	o.Mount = map[string]http.Handler{"GET /v1/journal/backup": journalBackupHandler(st, d.log)}
	// The bridge and OTTPay's call-backs are behind the same front door:
	// the bridge with its role's token, the call-back with no token (its
	// digest authenticates it) but the same Host, size, type and time limits.
	if hub != nil {
		o.Bridge = hub.Handler()
	}
	o.Callback = api.CallbackHandler(eng, gw, d.log.With("part", "api"))
	if d.rl != nil {
		o.Mount["POST /v1/config/reload"] = d.rl.handler()
	}
	if h := disp.handler; h != nil {
		o.Mount["/display"], o.Mount["/display/"] = h, h
	}
	if fp != nil {
		o.Feed = fp
	}
	return api.New(eng, o)
}

// journalPart is the journal: Run does its maintenance (scheduled backups,
// retention) and the background check of what the quick check at start
// left (store/bgcheck.go); Close closes the file.
type journalPart struct {
	st     *store.Store
	backup config.Backup
}

func (j *journalPart) Name() string { return "journal" }

func (j *journalPart) Run(ctx context.Context) error {
	grp, ctx := errgroup.WithContext(ctx)
	grp.Go(func() error {
		return j.st.RunMaintenance(ctx, store.MaintenanceOptions{Backup: store.BackupOptions{
			Dir: j.backup.Dir, Every: j.backup.Every, Keep: j.backup.Keep}})
	})
	grp.Go(func() error { return j.st.RunCheck(ctx) })
	return grp.Wait()
}

func (j *journalPart) Close() error { return j.st.Close() }

// enginePart is the payment engine; the parts after it start once it is
// ready (recovery done).
type enginePart struct{ eng *agent.Engine }

func (e *enginePart) Name() string                  { return "engine" }
func (e *enginePart) Run(ctx context.Context) error { return e.eng.Run(ctx) }
func (e *enginePart) Close() error                  { return nil }
func (e *enginePart) Ready() <-chan struct{}        { return e.eng.Ready() }

// closerPart is something the daemon holds open with nothing to run (the
// CJK font).
type closerPart struct {
	name  string
	close func() error
}

func (c closerPart) Name() string              { return c.name }
func (c closerPart) Run(context.Context) error { return nil }
func (c closerPart) Close() error              { return c.close() }

// bridgePart is the hub the Android helper connects to. A reload puts a
// new bridge.token in force (the helper's WebSocket checks the live token).
type bridgePart struct{ hub *bridge.Hub }

func (b *bridgePart) Name() string                  { return "bridge" }
func (b *bridgePart) Run(ctx context.Context) error { return b.hub.Run(ctx) }
func (b *bridgePart) Close() error                  { return nil }

func (b *bridgePart) Prepare(_, next *config.Config) (Commit, error) {
	tok := next.BridgeToken()
	return func() { b.hub.SetToken(tok) }, nil
}

// newBridge makes the hub the Android helper connects to, when the config
// uses it, and the printer that prints through it; (nil, nil, nil)
// otherwise. Its scans go to the engine's routing.
func newBridge(cfg *config.Config, cjk *fonts.CJK, eng *agent.Engine, reg *devices.Registry, log *slog.Logger) (*bridgePart, agent.ReceiptPrinter, error) {
	if !cfg.Bridge.Enabled && cfg.Printer.Kind != "bridge" {
		return nil, nil, nil
	}
	prof := PrinterProfile(cfg)
	prof.CJK = cjk
	format, encode := bridge.FormatESCPOS, func(r printer.Receipt) ([]byte, error) { return printer.Encode(r, prof), nil }
	if cfg.Printer.Image {
		format, encode = bridge.FormatPNG, func(r printer.Receipt) ([]byte, error) { return printer.RenderPNG(r, prof) }
	}
	hub, err := bridge.New(bridge.Options{
		Token: cfg.BridgeToken(), Format: format, WidthDots: prof.Dots,
		OnScan:  func(ctx context.Context, s bridge.Scan) error { return eng.HandleScan(ctx, agent.Scan(s)) },
		OnState: func(h bridge.HelperStatus) { bridgeDevices(h, reg.Set) },
		Logger:  log.With("part", "bridge"),
	})
	if err != nil {
		return nil, nil, err
	}
	return &bridgePart{hub: hub}, printer.JobPrinter{Sender: hub, Encode: encode}, nil
}

// bridgeDevices reports the helper and the devices it owns.
func bridgeDevices(h bridge.HelperStatus, setDevice func(agent.DeviceStatus)) {
	d := agent.DeviceStatus{Kind: "bridge", Name: "bridge", State: "disconnected", LastError: h.Reason}
	if h.Connected {
		d.State, d.LastError = "connected", ""
	}
	setDevice(d)
	for _, hd := range h.Devices {
		setDevice(agent.DeviceStatus{Kind: hd.Kind, Name: "bridge:" + hd.Name, State: hd.State, LastError: hd.Error})
	}
}

// displayPart is the customer display: the controller, the web page (nil
// with display.kind none) and the pole or PNG sink (nil without one). Run
// passes the engine's events to the controller.
type displayPart struct {
	ctl     *display.Controller
	handler *liveHandler
	sink    *swapSink
	eng     *agent.Engine
	cjk     *fonts.CJK
	hub     *bridge.Hub
	log     *slog.Logger
}

func newDisplay(cfg *config.Config, cjk *fonts.CJK, hub *bridge.Hub, eng *agent.Engine, log *slog.Logger) (*displayPart, error) {
	p := &displayPart{ctl: display.NewController(display.ControllerOptions{Hold: cfg.Display.Hold, Logger: log.With("part", "display")}),
		eng: eng, cjk: cjk, hub: hub, log: log}
	if cfg.Display.Kind == "pole" || cfg.Display.Kind == "png" {
		ds, closer, err := displaySink(cfg, cjk, hub)
		if err != nil {
			return nil, err
		}
		p.sink = &swapSink{s: ds, closer: closer}
		p.ctl.AddSink(p.sink)
	}
	if cfg.Display.Kind != "none" {
		p.handler = newLiveHandler(displayHandler(cfg, cjk, p.ctl, eng, log))
	}
	return p, nil
}

func (p *displayPart) Name() string { return "display" }

func (p *displayPart) Run(ctx context.Context) error {
	grp, ctx := errgroup.WithContext(ctx)
	grp.Go(func() error { return p.ctl.Run(ctx) })
	grp.Go(func() error { return feedDisplay(ctx, p.eng, p.ctl) })
	return grp.Wait()
}

func (p *displayPart) Close() error {
	if p.sink != nil {
		p.sink.Close()
	}
	return nil
}

// newScanners checks each configured scanner and makes the set that runs
// them; their codes go to the engine's routing.
func newScanners(cfg *config.Config, log *slog.Logger, reg *devices.Registry, eng *agent.Engine) (*scannerSet, error) {
	for _, sc := range cfg.Scanners {
		if _, err := scannerSource(sc, cfg, log, reg.Set); err != nil {
			return nil, err
		}
	}
	return &scannerSet{cfg: cfg, log: log, setDevice: reg.Set, emit: func(ctx context.Context, s scanner.Scan) {
		if err := eng.HandleScan(ctx, agent.Scan(s)); err != nil {
			log.Warn("scan not taken", "scanner", s.Device, "err", err)
		}
	}}, nil
}

// levelLive is the logger's level (log.level).
type levelLive struct{ lv *slog.LevelVar }

func (l levelLive) Prepare(_, next *config.Config) (Commit, error) {
	if l.lv == nil {
		return nil, nil
	}
	level := ParseLevel(next.Log.Level)
	return func() { l.lv.Set(level) }, nil
}
