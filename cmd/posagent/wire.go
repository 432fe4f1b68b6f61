package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/agent/books"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/display"
	"github.com/posagent/posagent/drivers/bridge"
	"github.com/posagent/posagent/drivers/serial"
	"github.com/posagent/posagent/drivers/usbhid"
	"github.com/posagent/posagent/fonts"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/scanner"
	"github.com/posagent/posagent/store"
)

func newRunCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the payment daemon (the local API, scanners, printer, display)",
		Long: `Run the payment daemon in the foreground until SIGINT or SIGTERM.

With the default configuration (no file at all, or gateway.url: sim) the
OTTPay simulator runs in-process on loopback, so nothing else is needed:
no account and no real money. The local API listens on api.listen
(127.0.0.1:7420); the customer display is at http://127.0.0.1:7420/display.

On start every payment that is not final is picked up from the journal and
driven on; in-doubt payments are reconciled in the background.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, src, err := config.Check(g.configPath, os.Environ())
			if err != nil {
				return err
			}
			log, level := newLevelLogger(cmd.ErrOrStderr(), cfg.Log.Level, cfg.Log.Format)
			for _, w := range src.Warnings {
				log.Warn("config: "+w, "part", "config")
			}
			// SIGHUP (systemctl reload posagent) reads the file again.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer func() { signal.Stop(hup); close(hup) }()
			reload := make(chan struct{}, 1)
			go func() {
				for range hup {
					select {
					case reload <- struct{}{}:
					default: // one pending reload reads the newest file anyway
					}
				}
			}()
			do := daemonOptions{ConfigPath: src.File, Env: os.Environ(), Level: level, Reload: reload, Reloadable: true}
			return runDaemonWith(cmd.Context(), cfg, log, func(r running) {
				fmt.Fprintf(cmd.OutOrStdout(), "posagent %s: API on %s://%s  customer display %s://%s/display\n", version, r.Scheme, r.API, r.Scheme, r.API)
				if r.SimURL != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "OTTPay simulator (no real money) at %s; its ledger: %s/_sim/ledger\n", r.SimURL, r.SimURL)
				}
			}, do)
		},
	}
}

// running says where a started daemon can be reached.
type running struct {
	API    string // host:port of the local API
	Scheme string // http, or https with api.tls
	SimURL string // base URL of the in-process simulator ("" with a real gateway)
}

// runDaemon turns the configuration into concrete parts and runs them in one
// errgroup until ctx ends. ready is called once the API listens. Parts
// started are cleaned up even after a partial start.
func runDaemon(ctx context.Context, cfg *config.Config, log *slog.Logger, ready func(running)) (err error) {
	return runDaemonWith(ctx, cfg, log, ready, daemonOptions{})
}

// runDaemonWith is runDaemon with reloading (reload.go) when do asks for it.
// build calls the parts' constructors in order; run starts the long-lived
// ones in one errgroup; close undoes what build opened.
func runDaemonWith(ctx context.Context, cfg *config.Config, log *slog.Logger, ready func(running), do daemonOptions) (err error) {
	if err := api.CheckListen(cfg.API.Listen, anyToken(cfg)); err != nil {
		return err
	}
	d := &daemonParts{cfg: cfg, log: log}
	defer func() {
		if cerr := d.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if err := d.build(do); err != nil {
		return err
	}
	return d.run(ctx, ready, do)
}

// daemonParts holds the parts of a running posagent, in the order build makes
// them. Each is made by one newX(cfg, ...) constructor.
type daemonParts struct {
	cfg *config.Config
	log *slog.Logger

	front    *apiFront    // api_front.go: roles, operators, TLS
	st       *store.Store // the journal
	sim      *simPart     // nil with a real gateway
	gw       *gateway.Client
	cjk      *fonts.CJK   // nil without a CJK font
	hub      *bridge.Hub  // nil without the bridge
	printer  *livePrinter // reload.go
	disp     *displayPart
	rl       *reloader // nil unless reloadable
	eng      *agent.Engine
	books    *books.Books // shifts, reports, reconciliations beside eng
	api      *api.Server  // the local API in front of eng and books
	feed     *feedPart    // nil unless feed.enabled (feed.go)
	ref      engineRef    // the engine for parts made before it
	scanners *scannerSet
}

// build makes every part. The journal is checked before anything else: a
// damaged or rolled-back journal stops the start here, unmodified
// (cmd_journal.go).
func (d *daemonParts) build(do daemonOptions) (err error) {
	cfg, log := d.cfg, d.log
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
	if d.front, err = newAPIFront(cfg, log); err != nil {
		return err
	}
	if d.st, err = openJournal(cfg, log); err != nil {
		return err
	}
	if d.sim, err = newSim(cfg, log); err != nil {
		return err
	}
	if d.gw, err = newGateway(cfg, d.sim.gatewayURL(cfg), log); err != nil {
		return err
	}
	d.cjk, cjkTaken = <-cjkc, true
	hubPrinter, err := d.newBridge()
	if err != nil {
		return err
	}
	if d.printer, err = newLivePrinter(cfg, hubPrinter, d.cjk, log, d.ref.setDevice); err != nil {
		return err
	}
	if d.disp, err = newDisplay(cfg, d.cjk, d.hub, d.ref.get, log); err != nil {
		return err
	}
	d.rl = newReloader(cfg, log, do)
	if d.eng, err = d.newEngine(); err != nil {
		return err
	}
	d.ref.eng = d.eng
	if d.books, err = d.newBooks(); err != nil {
		return err
	}
	if d.feed, err = newFeed(cfg, d.st, log); err != nil {
		return err
	}
	d.api = d.newAPI()
	if d.scanners, err = newScanners(cfg, log, &d.ref); err != nil {
		return err
	}
	if d.rl != nil {
		rl := d.rl
		rl.eng, rl.api, rl.printer, rl.display, rl.sink, rl.scanners, rl.cjk, rl.hub, rl.ctl = d.eng, d.api, d.printer, d.disp.handler, d.disp.sink, d.scanners, d.cjk, d.hub, d.disp.ctl
	}
	return nil
}

// run starts the parts in one errgroup and waits for them. Recovery comes
// first: every payment left open by a crash is picked up before a scanner or
// the POS can start a new one, so the rest start, and the API listens, only
// once the engine is ready.
func (d *daemonParts) run(ctx context.Context, ready func(running), do daemonOptions) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	grp, ctx := errgroup.WithContext(ctx)
	if d.sim != nil {
		grp.Go(func() error { return d.sim.Run(ctx) })
	}
	grp.Go(func() error { return d.eng.Run(ctx) })
	select {
	case <-d.eng.Ready():
	case <-ctx.Done():
		return quietCancel(grp.Wait())
	}
	d.start(ctx, grp, do)
	ls, err := d.front.listen(d.cfg)
	if err != nil {
		cancel()
		_ = grp.Wait()
		return err
	}
	// Timeouts on every listener; a stop closes slow and idle connections.
	grp.Go(func() error { return api.Serve(ctx, api.NewServer(d.api, d.log), ls...) })
	api := ls[0].Addr().String()
	d.log.Info("posagent running", "version", version, "api", api, "journal", d.cfg.Store.Path)
	if ready != nil {
		scheme := "http"
		if d.front.tls != nil {
			scheme = "https"
		}
		ready(running{API: api, Scheme: scheme, SimURL: d.sim.url()})
	}
	return quietCancel(grp.Wait())
}

// start runs the parts that follow the engine: journal maintenance, the
// books (close_at, reconciliations), the display, the printer, the bridge, the scanners and the reloader.
func (d *daemonParts) start(ctx context.Context, grp *errgroup.Group, do daemonOptions) {
	cfg := d.cfg
	grp.Go(func() error {
		return d.st.RunMaintenance(ctx, store.MaintenanceOptions{Backup: store.BackupOptions{
			Dir: cfg.Store.Backup.Dir, Every: cfg.Store.Backup.Every, Keep: cfg.Store.Backup.Keep}})
	})
	grp.Go(func() error { return d.st.RunCheck(ctx) }) // what the quick check at start left (store/bgcheck.go)
	grp.Go(func() error { return d.books.Run(ctx) })
	grp.Go(func() error { return d.disp.ctl.Run(ctx) })
	grp.Go(func() error { return feedDisplay(ctx, d.eng, d.disp.ctl) })
	grp.Go(func() error { return d.printer.Run(ctx) })
	if d.hub != nil {
		grp.Go(func() error { return d.hub.Run(ctx) })
	}
	grp.Go(func() error { return d.scanners.Run(ctx, cfg) })
	if d.rl != nil {
		grp.Go(func() error { return d.rl.run(ctx, do.Reload) })
	}
	if d.feed != nil {
		grp.Go(func() error { return d.feed.run(ctx, d.eng) })
	}
}

// close undoes what build opened, the last first; the journal's error is
// the one returned.
func (d *daemonParts) close() error {
	if d.disp != nil && d.disp.sink != nil {
		d.disp.sink.Close()
	}
	if d.cjk != nil {
		d.cjk.Close()
	}
	if d.sim != nil {
		d.sim.l.Close() // Run closes it too; a second close changes nothing
	}
	if d.feed != nil {
		d.feed.nc.Close()
	}
	if d.st != nil {
		return d.st.Close()
	}
	return nil
}

// quietCancel is err, with cancellation not an error.
func quietCancel(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// engineRef lets the parts made before the engine reach it: device states
// reported before it exists are dropped (each part reports again on its
// next change), and scans arrive only once the parts run, after it is set.
type engineRef struct{ eng *agent.Engine }

func (r *engineRef) get() *agent.Engine { return r.eng }

func (r *engineRef) setDevice(s agent.DeviceStatus) {
	if r.eng != nil {
		r.eng.SetDevice(s)
	}
}

// simPart is the OTTPay simulator, in-process on loopback (gateway.url: sim).
type simPart struct {
	sim *ottsim.Sim
	l   net.Listener
}

// newSim listens for the simulator when the config asks for it; nil otherwise.
func newSim(cfg *config.Config, log *slog.Logger) (*simPart, error) {
	if cfg.Gateway.URL != "sim" {
		return nil, nil
	}
	l, err := net.Listen("tcp", cfg.Sim.Listen)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	sim := ottsim.New(ottsim.Options{
		MerchantID: cfg.Gateway.MerchantID, SignKey: cfg.Gateway.SignKey,
		TimeScale: cfg.Sim.TimeScale, Logger: log.With("part", "sim"),
	})
	s := &simPart{sim: sim, l: l}
	log.Info("OTTPay simulator in-process (no real money)", "url", s.gatewayURL(cfg))
	return s, nil
}

func (s *simPart) Run(ctx context.Context) error { return s.sim.Run(ctx, s.l) }

// url is the simulator's base URL; "" with a real gateway.
func (s *simPart) url() string {
	if s == nil {
		return ""
	}
	return "http://" + s.l.Addr().String()
}

// gatewayURL is where gateway calls go: the simulator's, or gateway.url.
func (s *simPart) gatewayURL(cfg *config.Config) string {
	if s == nil {
		return cfg.Gateway.URL
	}
	return s.url() + "/processV2"
}

// newGateway is the OTTPay client for url, with the config's timeout
// (scaled with agent.time_scale against the simulator).
func newGateway(cfg *config.Config, url string, log *slog.Logger) (*gateway.Client, error) {
	hc := gateway.DefaultHTTPClient()
	if cfg.Gateway.Timeout > 0 {
		hc.Timeout = cfg.Gateway.Timeout
	}
	if ts := cfg.Agent.TimeScale; ts > 0 && ts < 1 && cfg.Gateway.URL == "sim" {
		hc.Timeout = time.Duration(float64(hc.Timeout) * ts)
	}
	return gateway.New(gateway.Config{
		URL: url, MerchantID: cfg.Gateway.MerchantID, SignKey: cfg.Gateway.SignKey,
		OperatorID: cfg.Gateway.OperatorID, TerminalNo: cfg.Gateway.TerminalNo,
		HTTPClient: hc, Logger: log.With("part", "gateway"), FeeAllowanceBPS: cfg.Gateway.FeeAllowanceBPS,
		CallbackURL: callbackURL(cfg),
	})
}

// callbackURL is the call_back_url sent with qr orders: gateway.callback_url,
// the public address the shop forwards to the agent. OTTPay requires one,
// so without it the local API's address is sent, which a gateway on the
// internet cannot reach; polling is the source of truth either way.
func callbackURL(cfg *config.Config) string {
	if cfg.Gateway.CallbackURL != "" {
		return cfg.Gateway.CallbackURL
	}
	return "http://" + cfg.API.Listen + "/v1/ottpay/callback"
}

// gatewayZone is gateway.time_zone (UTC when it cannot be loaded, which
// config check refuses).
func gatewayZone(cfg *config.Config) *time.Location {
	loc, err := time.LoadLocation(cfg.Gateway.TimeZone)
	if err != nil || cfg.Gateway.TimeZone == "" {
		return time.UTC
	}
	return loc
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

// newBridge makes the hub the Android helper connects to, when the config
// uses it, and the printer that prints through it; (nil, nil) otherwise.
func (d *daemonParts) newBridge() (agent.ReceiptPrinter, error) {
	cfg, ref := d.cfg, &d.ref
	if !cfg.Bridge.Enabled && cfg.Printer.Kind != "bridge" {
		return nil, nil
	}
	prof := printerProfile(cfg)
	prof.CJK = d.cjk
	format, encode := bridge.FormatESCPOS, func(r printer.Receipt) ([]byte, error) { return printer.Encode(r, prof), nil }
	if cfg.Printer.Image {
		format, encode = bridge.FormatPNG, func(r printer.Receipt) ([]byte, error) { return printer.RenderPNG(r, prof) }
	}
	hub, err := bridge.New(bridge.Options{
		Token: cfg.BridgeToken(), Format: format, WidthDots: prof.Dots,
		OnScan:  func(ctx context.Context, s bridge.Scan) error { return ref.get().HandleScan(ctx, agent.Scan(s)) },
		OnState: func(h bridge.HelperStatus) { bridgeDevices(h, ref.setDevice) },
		Logger:  d.log.With("part", "bridge"),
	})
	if err != nil {
		return nil, err
	}
	d.hub = hub
	return printer.JobPrinter{Sender: hub, Encode: encode}, nil
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
// with display.kind none) and the pole or PNG sink (nil without one).
type displayPart struct {
	ctl     *display.Controller
	handler *liveHandler
	sink    *swapSink
}

func newDisplay(cfg *config.Config, cjk *fonts.CJK, hub *bridge.Hub, eng func() *agent.Engine, log *slog.Logger) (*displayPart, error) {
	p := &displayPart{ctl: display.NewController(display.ControllerOptions{Hold: cfg.Display.Hold, Logger: log.With("part", "display")})}
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

// newReloader is the config reloader when do asks for one; nil otherwise.
// Its parts are set once they exist (daemonParts.build).
func newReloader(cfg *config.Config, log *slog.Logger, do daemonOptions) *reloader {
	if !do.Reloadable {
		return nil
	}
	return &reloader{path: do.ConfigPath, env: do.Env, log: log.With("part", "config"), level: do.Level, cur: cfg}
}

// newEngine is the payment engine over the parts made before it.
func (d *daemonParts) newEngine() (*agent.Engine, error) {
	cfg, lp := d.cfg, d.printer
	var rp agent.ReceiptPrinter
	if lp.present() {
		rp = lp
	}
	opts := agent.Options{
		Gateway: d.gw, Store: d.st, Logger: d.log.With("part", "agent"),
		Currency: cfg.Merchant.Currency, TerminalNo: cfg.Gateway.TerminalNo, MerchantName: cfg.Merchant.Name,
		Timing: timing(cfg), TimeScale: cfg.Agent.TimeScale,
		Printer: rp, AutoPrint: cfg.Printer.AutoPrint && rp != nil,
		ReceiptFooter: cfg.Merchant.Footer,
		ScanAutoStart: cfg.Agent.ScanAutoStart, Version: version,
		OutboxWorkers: cfg.Agent.OutboxWorkers, NotBefore: buildTime(),
		FeeAllowanceBPS: cfg.Gateway.FeeAllowanceBPS, TipChoices: cfg.Display.TipChoices, TipMaxPercent: cfg.Tips.MaxPercent,
		GatewayZone: gatewayZone(cfg),
	}
	return agent.New(opts)
}

// timing is the engine's timing from the configuration: the real defaults
// (agent.DefaultTiming) with the configured delays. A key left at 0 keeps
// the default, except store.retention and agent.duplicate_window, whose 0
// is off in the configuration and in agent.Timing alike.
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
	t.RateEvery = time.Hour
	return t
}

// newBooks are the shifts, X/Z reports and reconciliations beside the
// engine, in its journal, clock and timing.
func (d *daemonParts) newBooks() (*books.Books, error) {
	cfg, tm := d.cfg, d.eng.Timing()
	o := books.Options{Store: d.st, Engine: d.eng, Clock: d.eng.Clock(), Logger: d.log.With("part", "books"),
		Merchant: cfg.Merchant.Name, Currency: d.eng.Currency(), Lane: cfg.Gateway.TerminalNo, Location: shopLocation(cfg),
		CloseAt: cfg.Reports.CloseAt, ReconcileRate: cfg.Reports.ReconcileRate, ReconcileSpread: tm.ReconcileSpread,
		PrintTimeout: tm.PrintTimeout, Printer: d.printer} // cmd_report.go
	return books.New(o)
}

// newAPI is the local API in front of the engine, with the journal backup,
// the reload endpoint and the display page mounted behind its front door.
func (d *daemonParts) newAPI() *api.Server {
	cfg := d.cfg
	o := api.Options{Token: cfg.API.Token, Access: d.front.access, Reports: d.printer,
		RenderReceipt: d.printer.RenderPNG, Logger: d.log.With("part", "api"),
		RenderReport: printer.RenderReportPaper, RenderPlacard: printer.RenderPlacardPaper,
		SSEPing: d.eng.Timing().SSEPing, PrintTimeout: d.eng.Timing().PrintTimeout}
	o.Mount = map[string]http.Handler{"GET /v1/journal/backup": journalBackupHandler(d.st, d.log)}
	// The bridge and OTTPay's call-backs are behind the same front door:
	// the bridge with its role's token, the call-back with no token (its
	// digest authenticates it) but the same Host, size, type and time limits.
	if d.hub != nil {
		o.Bridge = d.hub.Handler()
	}
	o.Callback = api.CallbackHandler(d.eng, d.gw, d.log.With("part", "api"))
	if d.rl != nil {
		o.Mount["POST /v1/config/reload"] = d.rl.handler()
	}
	if h := d.disp.handler; h != nil {
		o.Mount["/display"], o.Mount["/display/"] = h, h
	}
	if d.feed != nil {
		o.Feed = d.feed
	}
	return api.New(d.eng, d.books, o)
}

// newScanners checks each configured scanner and makes the set that runs
// them; their codes go to the engine's routing.
func newScanners(cfg *config.Config, log *slog.Logger, ref *engineRef) (*scannerSet, error) {
	for _, sc := range cfg.Scanners {
		if _, err := scannerSource(sc, cfg, log, ref.setDevice); err != nil {
			return nil, err
		}
	}
	return &scannerSet{log: log, setDevice: ref.setDevice, emit: func(ctx context.Context, s scanner.Scan) {
		if err := ref.get().HandleScan(ctx, agent.Scan(s)); err != nil {
			log.Warn("scan not taken", "scanner", s.Device, "err", err)
		}
	}}, nil
}

// feedDisplay passes the engine's live events to the display controller.
// A subscriber that falls behind is closed by the engine: resubscribe from
// the last event seen, so the display never misses a change.
func feedDisplay(ctx context.Context, eng *agent.Engine, ctl *display.Controller) error {
	// Start a little in the past, so that a payment in progress when the
	// agent restarted is on the screen at once; the controller's hold rule
	// keeps old results off it.
	last := eng.Status().Journal.LastSeq
	if last > 200 {
		last -= 200
	} else {
		last = 0
	}
	for ctx.Err() == nil {
		events, stop := eng.Subscribe(last)
		for open := true; open; {
			select {
			case <-ctx.Done():
				stop()
				return nil
			case ev, ok := <-events:
				if !ok {
					open = false
					break
				}
				last = ev.Seq
				data := ev.Data
				if data == nil {
					b, err := json.Marshal(ev)
					if err != nil {
						continue
					}
					data = b
				}
				_ = ctl.Apply(ev.Kind, data)
			}
		}
		stop()
	}
	return nil
}

// receiptPrinter prints each configured copy (customer, merchant) of a
// receipt, with the merchant's header lines and QR.
type receiptPrinter struct {
	p        agent.ReceiptPrinter
	copies   []string
	decorate func(printer.Receipt) printer.Receipt
}

func (c receiptPrinter) PrintReceipt(ctx context.Context, r printer.Receipt) error {
	r = c.decorate(r)
	names := c.copies
	if len(names) == 0 {
		names = []string{r.Copy}
	}
	for _, n := range names {
		r.Copy = n
		if err := c.p.PrintReceipt(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// receiptDecorator adds what the config says every receipt carries: the
// address lines under the merchant's name and the QR (merchant.receipt_qr
// with {order_id} and {payment_id} replaced).
func receiptDecorator(cfg *config.Config) func(printer.Receipt) printer.Receipt {
	return func(r printer.Receipt) printer.Receipt {
		if len(r.Address) == 0 {
			r.Address = cfg.Merchant.Address
		}
		if r.QR == "" && cfg.Merchant.ReceiptQR != "" {
			r.QR = strings.NewReplacer("{order_id}", r.OrderID, "{payment_id}", r.PaymentID).Replace(cfg.Merchant.ReceiptQR)
		}
		return r
	}
}

// shopLanguage is the shop's own language, for display.language auto:
// Chinese when its receipts are Chinese only, else English.
func shopLanguage(cfg *config.Config) string {
	if cfg.Receipt.Language == "zh" {
		return display.LangZH
	}
	return display.LangEN
}

// printerProfile is the printer.Profile the config (and its device profile)
// describe; the caller adds the CJK font for pictures.
func printerProfile(cfg *config.Config) printer.Profile {
	p := printer.Profile{
		Name: cfg.Device.Profile, Paper: printer.Paper(cfg.Printer.Paper), Dots: cfg.Printer.Dots,
		NativeQR: cfg.Printer.NativeQR, GB18030: cfg.Printer.Chinese, Language: printer.Language(cfg.Receipt.Language),
		Location: shopLocation(cfg), // receipts print the shop's time, not the system's (often UTC)
		Drawer:   printer.DrawerKick{Enabled: cfg.Printer.Drawer},
	}
	switch {
	case cfg.Printer.Cut == "none":
		p.Cut = printer.CutNone
	case cfg.Printer.Cut == "full" && cfg.Printer.FeedCut:
		p.Cut = printer.CutFeedFull
	case cfg.Printer.Cut == "full":
		p.Cut = printer.CutFull
	case cfg.Printer.FeedCut:
		p.Cut = printer.CutFeedPartial
	default:
		p.Cut = printer.CutPartial
	}
	return p.Normalize()
}

func printerOpener(cfg *config.Config) (printer.Opener, error) {
	switch cfg.Printer.Kind {
	case "network":
		return printer.TCP(cfg.Printer.Address, 3*time.Second), nil
	case "usb":
		return printer.USB(cfg.Printer.Device, true), nil
	case "serial":
		return printer.Serial(serial.Config{Device: cfg.Printer.Device, Baud: cfg.Printer.Baud}), nil
	case "file":
		return printer.File(cfg.Printer.Path), nil
	}
	return nil, fmt.Errorf("printer.kind %q: use none, serial, usb, network, file or bridge", cfg.Printer.Kind)
}

// source is a running scanner: SerialSource or HIDSource.
type source interface {
	Run(ctx context.Context, emit func(scanner.Scan)) error
}

func scannerSource(sc config.Scanner, cfg *config.Config, log *slog.Logger, setDevice func(agent.DeviceStatus)) (source, error) {
	onState := func(s scanner.Status) {
		setDevice(agent.DeviceStatus{Kind: "scanner", Name: sc.Name, State: s.State, LastError: s.Err})
	}
	dedup := sc.Dedup
	if dedup == 0 {
		dedup = cfg.Agent.Dedup
	}
	dec := scanner.Decoding{KeepAIM: !sc.StripAIM, TabEnds: sc.Terminator == "tab", DedupWindow: dedup}
	// Serial framing always accepts CR, LF and CR LF (auto, cr, lf and crlf
	// alike); a scanner set to send no suffix is framed by an idle gap.
	if sc.Terminator == "none" {
		dec.IdleFlush = 50 * time.Millisecond
	}
	l := log.With("part", "scanner", "scanner", sc.Name)
	switch sc.Kind {
	case "serial":
		return &scanner.SerialSource{
			Name: sc.Name, Decoding: dec, Logger: l, OnState: onState,
			Port: serial.Config{Device: sc.Device, Baud: sc.Baud, Parity: sc.Parity, StopBits: sc.StopBits},
		}, nil
	case "hid":
		return &scanner.HIDSource{
			Name: sc.Name, Mode: sc.Mode, Decoding: dec, Logger: l, OnState: onState,
			Device: usbhid.Config{Selector: usbhid.Selector{VID: uint16(sc.VID), PID: uint16(sc.PID), Interface: sc.Interface}},
		}, nil
	case "bridge":
		return bridgeScanner{}, nil
	}
	return nil, fmt.Errorf("scanners %q: kind %q: use serial, hid or bridge", sc.Name, sc.Kind)
}

// bridgeScanner is a scanner Android owns: its scans arrive through the
// bridge (or POST /v1/scans), so there is nothing to run here.
type bridgeScanner struct{}

func (bridgeScanner) Run(ctx context.Context, _ func(scanner.Scan)) error {
	<-ctx.Done()
	return nil
}
