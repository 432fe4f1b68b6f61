package daemon

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/agent/books"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/devices"
	"github.com/posagent/posagent/drivers/bridge"
	"github.com/posagent/posagent/fonts"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/store"
)

// build makes every part, in the order they depend on each other: the
// journal, the simulator and the gateway client, the engine over them, then
// the devices and the API that reach the engine. Each part is added as it
// is made, so that Close undoes a partial build.
func (d *Daemon) build(cfg *config.Config) error {
	log := d.log
	var st *store.Store
	if cfg.Fleet.Enabled && d.opts.Reloadable {
		// Head office's bundles in effect are in the journal: open it
		// first and build every part with them (fleet.go).
		var err error
		if st, cfg, err = d.fleetStart(cfg); err != nil {
			return err
		}
		d.cur = cfg
		d.add(&journalPart{st: st, backup: cfg.Store.Backup})
		if err := api.CheckListen(cfg.API.Listen, anyToken(cfg)); err != nil {
			return err
		}
	}
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
	if st == nil {
		if st, err = OpenJournal(cfg, log); err != nil {
			return err
		}
		d.add(&journalPart{st: st, backup: cfg.Store.Backup})
	}
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
	bk, err := d.newBooks(cfg, st, lp, eng)
	if err != nil {
		return err
	}
	d.add(booksPart{bk})
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
		flp, err := d.newFleet(cfg, st, eng, fp)
		if err != nil {
			return err
		}
		if flp != nil {
			d.add(flp)
		}
	}
	ap := &apiPart{front: front, cfg: cfg, log: log, version: d.opts.Version, ready: d.opts.Ready, simURL: sim.url()}
	ap.srv = d.newAPI(cfg, ap, st, gw, hub, lp, disp, fp, eng, bk)
	scs, err := newScanners(cfg, log, reg, eng)
	if err != nil {
		return err
	}
	d.add(scs)
	d.add(ap) // last: the API listens once the rest runs
	d.live = []Live{lp, disp, scs, ap, tipsLive{eng, log}}
	if bp != nil {
		d.live = append(d.live, bp)
	}
	d.live = append(d.live, levelLive{d.opts.Level})
	if d.opts.Extra != nil {
		extra, err := d.opts.Extra(d)
		if err != nil {
			return err
		}
		for _, p := range extra {
			d.add(p)
		}
	}
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
		Timing: timing(cfg), TimeScale: cfg.Agent.TimeScale,
		Printer: rp, AutoPrint: cfg.Printer.AutoPrint && rp != nil,
		ReceiptFooter: cfg.Merchant.Footer,
		ScanAutoStart: cfg.Agent.ScanAutoStart, Version: d.opts.Version,
		OutboxWorkers: cfg.Agent.OutboxWorkers, NotBefore: d.opts.NotBefore,
		FeeAllowanceBPS: cfg.Gateway.FeeAllowanceBPS, TipChoices: cfg.Display.TipChoices, TipMaxPercent: cfg.Tips.MaxPercent,
		GatewayZone: gatewayZone(cfg), Devices: reg,
	}
	return agent.New(opts)
}

// timing is the engine's timing from the configuration: the real defaults
// (agent.DefaultTiming) with the configured delays. A key left at 0 keeps
// the default, except store.retention, agent.duplicate_window and
// agent.idempotency_window, whose 0 is off in the configuration and in
// agent.Timing alike.
func timing(cfg *config.Config) agent.Timing {
	t := agent.DefaultTiming()
	set := func(d *time.Duration, v time.Duration) {
		if v > 0 {
			*d = v
		}
	}
	set(&t.ScanPollWindow, cfg.Agent.ScanWindow)
	set(&t.QRWindow, cfg.Agent.QRWindow)
	set(&t.ScanPollEvery, cfg.Agent.PollInterval)
	set(&t.DedupWindow, cfg.Agent.Dedup)
	set(&t.AwaitCodeTimeout, cfg.Agent.AwaitCodeTimeout)
	set(&t.CartTimeout, cfg.Agent.CartTimeout)
	set(&t.RateMaxAge, cfg.Display.RateMaxAge)
	set(&t.ShutdownGrace, cfg.Agent.ShutdownGrace)
	t.Retention, t.DuplicateWindow = cfg.Store.Retention, cfg.Agent.DuplicateWindow
	t.IdempotencyWindow = cfg.Agent.IdempotencyWindow
	t.RateEvery = time.Hour
	return t
}

// newBooks are the shifts, X/Z reports and reconciliations beside the
// engine, in its journal, clock and timing.
func (d *Daemon) newBooks(cfg *config.Config, st *store.Store, lp *livePrinter, eng *agent.Engine) (*books.Books, error) {
	tm := eng.Timing()
	o := books.Options{Store: st, Engine: eng, Clock: eng.Clock(), Logger: d.log.With("part", "books"),
		Merchant: cfg.Merchant.Name, Currency: eng.Currency(), Lane: cfg.Gateway.TerminalNo, Location: ShopLocation(cfg),
		CloseAt: cfg.Reports.CloseAt, ReconcileRate: cfg.Reports.ReconcileRate, ReconcileSpread: tm.ReconcileSpread,
		PrintTimeout: tm.PrintTimeout, Printer: lp}
	return books.New(o)
}

// booksPart is the books beside the engine: Run closes shifts at
// reports.close_at and owns the reconciliations; it starts once the engine
// is ready.
type booksPart struct{ bk *books.Books }

func (b booksPart) Name() string                  { return "books" }
func (b booksPart) Run(ctx context.Context) error { return b.bk.Run(ctx) }
func (b booksPart) Close() error                  { return nil }

// newAPI is the local API in front of the engine, with the journal backup,
// the reload endpoint and the display page mounted behind its front door.
func (d *Daemon) newAPI(cfg *config.Config, ap *apiPart, st *store.Store, gw *gateway.Client, hub *bridge.Hub,
	lp *livePrinter, disp *displayPart, fp *feedPart, eng *agent.Engine, bk *books.Books) *api.Server {
	o := api.Options{Token: cfg.API.Token, Access: ap.front.access, Reports: lp,
		RenderReceipt: lp.RenderPNG, Logger: d.log.With("part", "api"),
		RenderReport: printer.RenderReportPaper, RenderPlacard: printer.RenderPlacardPaper,
		SSEPing: eng.Timing().SSEPing, PrintTimeout: eng.Timing().PrintTimeout}
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
	return api.New(eng, bk, o)
}

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

// levelLive is the logger's level (log.level).
type levelLive struct{ lv *slog.LevelVar }

func (l levelLive) Prepare(_, next *config.Config) (Commit, error) {
	if l.lv == nil {
		return nil, nil
	}
	level := ParseLevel(next.Log.Level)
	return func() { l.lv.Set(level) }, nil
}

// ShopLocation is merchant.timezone (validated by Load), else the system's.
func ShopLocation(cfg *config.Config) *time.Location {
	loc, err := cfg.Location()
	if err != nil {
		return time.Local
	}
	return loc
}

// engineRate is the display's view of the engine's exchange rate to CNY.
func engineRate(e *agent.Engine) func() (string, int64, time.Time, bool) {
	return func() (string, int64, time.Time, bool) {
		r := e.Rate()
		if r == nil {
			return "", 0, time.Time{}, false
		}
		return r.Currency, r.Rate, r.At, true
	}
}

// loadCJK is the CJK font pictures draw Chinese with; without one they
// leave it out (and say so), and payments go on.
func loadCJK(cfg *config.Config, log *slog.Logger) *fonts.CJK {
	cjk, err := fonts.Load(cfg.Render.Font)
	if err != nil {
		log.Warn("render: no CJK font: receipt pictures and display frames leave Chinese out (posagent doctor)", "err", err)
		return nil
	}
	return cjk
}
