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

// apiFromConfig reads api.listen and api.token from the config, if it loads.
func apiFromConfig(g *globalFlags) (listen, token string) {
	cfg, _, err := config.Load(g.configPath, os.Environ())
	if err != nil {
		return "", ""
	}
	return cfg.API.Listen, cfg.API.Token
}

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
				fmt.Fprintf(cmd.OutOrStdout(), "posagent %s: API on http://%s  customer display http://%s/display\n", version, r.API, r.API)
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
	SimURL string // base URL of the in-process simulator ("" with a real gateway)
}

// runDaemon turns the configuration into concrete parts and runs them in one
// errgroup until ctx ends. ready is called once the API listens. Parts
// started are cleaned up even after a partial start.
func runDaemon(ctx context.Context, cfg *config.Config, log *slog.Logger, ready func(running)) (err error) {
	return runDaemonWith(ctx, cfg, log, ready, daemonOptions{})
}

// runDaemonWith is runDaemon with reloading (reload.go) when do asks for it.
func runDaemonWith(ctx context.Context, cfg *config.Config, log *slog.Logger, ready func(running), do daemonOptions) (err error) {
	if err := agent.CheckListen(cfg.API.Listen, anyToken(cfg)); err != nil {
		return err
	}
	front, err := newAPIFront(cfg, log) // api_front.go: roles, operators, TLS
	if err != nil {
		return err
	}
	// The journal is checked before anything else: a damaged or rolled-back
	// journal stops the start here, unmodified (cmd_journal.go).
	st, err := openJournal(cfg, log)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	grp, ctx := errgroup.WithContext(ctx)

	// The gateway, or the simulator in-process on loopback.
	gwURL, simURL := cfg.Gateway.URL, ""
	if gwURL == "sim" {
		l, err := net.Listen("tcp", cfg.Sim.Listen)
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		sim := ottsim.New(ottsim.Options{
			MerchantID: cfg.Gateway.MerchantID, SignKey: cfg.Gateway.SignKey,
			TimeScale: cfg.Sim.TimeScale, Logger: log.With("part", "sim"),
		})
		grp.Go(func() error { return sim.Run(ctx, l) })
		simURL = "http://" + l.Addr().String()
		gwURL = simURL + "/processV2"
		log.Info("OTTPay simulator in-process (no real money)", "url", gwURL)
	}
	hc := gateway.DefaultHTTPClient()
	if cfg.Gateway.Timeout > 0 {
		hc.Timeout = cfg.Gateway.Timeout
	}
	if ts := cfg.Agent.TimeScale; ts > 0 && ts < 1 && cfg.Gateway.URL == "sim" {
		hc.Timeout = time.Duration(float64(hc.Timeout) * ts)
	}
	gw, err := gateway.New(gateway.Config{
		URL: gwURL, MerchantID: cfg.Gateway.MerchantID, SignKey: cfg.Gateway.SignKey,
		OperatorID: cfg.Gateway.OperatorID, TerminalNo: cfg.Gateway.TerminalNo,
		HTTPClient: hc, Logger: log.With("part", "gateway"),
		// OTTPay requires a call_back_url on qr orders. A terminal on a shop LAN
		// rarely receives call-backs; polling is the source of truth.
		CallbackURL: "http://" + cfg.API.Listen + "/v1/ottpay/callback",
	})
	if err != nil {
		return err
	}

	var eng *agent.Engine // set below; device callbacks run only after it is
	setDevice := func(d agent.DeviceStatus) {
		if eng != nil {
			eng.SetDevice(d)
		}
	}

	// The printer (or the bridge helper that prints for Android).
	prof := printerProfile(cfg)
	// The CJK font pictures draw Chinese with; without one they leave it
	// out (and say so), and payments go on.
	cjk, err := fonts.Load(cfg.Render.Font)
	if err != nil {
		log.Warn("render: no CJK font: receipt pictures and display frames leave Chinese out (posagent doctor)", "err", err)
		cjk = nil
	} else {
		defer cjk.Close()
	}
	prof.CJK = cjk
	var hub *bridge.Hub
	var hubPrinter agent.ReceiptPrinter // prints through the hub
	if cfg.Bridge.Enabled || cfg.Printer.Kind == "bridge" {
		format, encode := bridge.FormatESCPOS, func(r printer.Receipt) ([]byte, error) { return printer.Encode(r, prof), nil }
		if cfg.Printer.Image {
			format, encode = bridge.FormatPNG, func(r printer.Receipt) ([]byte, error) { return printer.RenderPNG(r, prof) }
		}
		hub, err = bridge.New(bridge.Options{
			Token: cfg.BridgeToken(), Format: format, WidthDots: prof.Dots,
			OnScan: func(ctx context.Context, s bridge.Scan) error { return eng.HandleScan(ctx, scanner.Scan(s)) },
			OnState: func(h bridge.HelperStatus) {
				d := agent.DeviceStatus{Kind: "bridge", Name: "bridge", State: "disconnected", LastError: h.Reason}
				if h.Connected {
					d.State, d.LastError = "connected", ""
				}
				setDevice(d)
				for _, hd := range h.Devices {
					setDevice(agent.DeviceStatus{Kind: hd.Kind, Name: "bridge:" + hd.Name, State: hd.State, LastError: hd.Error})
				}
			},
			Logger: log.With("part", "bridge"),
		})
		if err != nil {
			return err
		}
		hubPrinter = printer.JobPrinter{Sender: hub, Encode: encode}
	}
	// The printer, behind a livePrinter a reload can rebuild (reload.go).
	lp, err := newLivePrinter(cfg, hubPrinter, cjk, log, setDevice)
	if err != nil {
		return err
	}
	var rp agent.ReceiptPrinter
	if lp.present() {
		rp = lp
	}

	// The customer display.
	ctl := display.NewController(display.ControllerOptions{Hold: cfg.Display.Hold, Logger: log.With("part", "display")})
	var dispHandler *liveHandler
	var sink *swapSink
	if cfg.Display.Kind == "pole" || cfg.Display.Kind == "png" {
		ds, closer, err := displaySink(cfg, cjk, hub)
		if err != nil {
			return err
		}
		sink = &swapSink{s: ds, closer: closer}
		defer sink.Close()
		ctl.AddSink(sink)
	}
	if cfg.Display.Kind != "none" {
		dispHandler = newLiveHandler(displayHandler(cfg, cjk, ctl, func() *agent.Engine { return eng }, log))
	}

	opts := agent.Options{Access: front.access,
		Gateway: gw, Store: st, Logger: log.With("part", "agent"),
		Currency: cfg.Merchant.Currency, TerminalNo: cfg.Gateway.TerminalNo, MerchantName: cfg.Merchant.Name,
		ScanPollWindow: cfg.Agent.ScanWindow, QRWindow: cfg.Agent.QRWindow, ScanPollEvery: cfg.Agent.PollInterval,
		DedupWindow: cfg.Agent.Dedup, Retention: retention(cfg.Store.Retention), TimeScale: cfg.Agent.TimeScale,
		Printer: rp, AutoPrint: cfg.Printer.AutoPrint && rp != nil,
		RenderReceipt: lp.RenderPNG,
		ReceiptFooter: cfg.Merchant.Footer,
		APIToken:      cfg.API.Token, ScanAutoStart: cfg.Agent.ScanAutoStart, Version: version,
		AwaitCodeTimeout: cfg.Agent.AwaitCodeTimeout, CartTimeout: cfg.Agent.CartTimeout,
		ShutdownGrace: cfg.Agent.ShutdownGrace, OutboxWorkers: cfg.Agent.OutboxWorkers, NotBefore: buildTime(),
		Location: shopLocation(cfg), CloseAt: cfg.Reports.CloseAt, ReconcileRate: reconcileRate(cfg), Reports: lp, // cmd_report.go
	}
	opts.Mount = map[string]http.Handler{"GET /v1/journal/backup": journalBackupHandler(st, log)}
	var rl *reloader
	if do.Reloadable {
		rl = &reloader{path: do.ConfigPath, env: do.Env, log: log.With("part", "config"), level: do.Level, cur: cfg}
		opts.Mount["POST /v1/config/reload"] = rl.handler()
	}
	if dispHandler != nil {
		opts.Mount["/display"], opts.Mount["/display/"] = dispHandler, dispHandler
	}
	eng, err = agent.New(opts)
	if err != nil {
		return err
	}
	grp.Go(func() error { return eng.Run(ctx) })
	// Recovery first: every payment left open by a crash is picked up
	// before a scanner or the POS can start a new one.
	select {
	case <-eng.Ready():
	case <-ctx.Done():
		if err := grp.Wait(); !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	}
	grp.Go(func() error {
		return st.RunMaintenance(ctx, store.MaintenanceOptions{Backup: store.BackupOptions{
			Dir: cfg.Store.Backup.Dir, Every: cfg.Store.Backup.Every, Keep: cfg.Store.Backup.Keep}})
	})
	grp.Go(func() error { return ctl.Run(ctx) })
	grp.Go(func() error { return feedDisplay(ctx, eng, ctl) })
	grp.Go(func() error { return lp.Run(ctx) })
	if hub != nil {
		grp.Go(func() error { return hub.Run(ctx) })
	}

	// Scanners: each one's codes go to the engine's routing.
	scanners := &scannerSet{log: log, setDevice: setDevice, emit: func(ctx context.Context, s scanner.Scan) {
		if err := eng.HandleScan(ctx, s); err != nil {
			log.Warn("scan not taken", "scanner", s.Device, "err", err)
		}
	}}
	for _, sc := range cfg.Scanners {
		if _, err := scannerSource(sc, cfg, log, setDevice); err != nil {
			return err
		}
	}
	grp.Go(func() error { return scanners.Run(ctx, cfg) })
	if rl != nil {
		rl.eng, rl.printer, rl.display, rl.sink, rl.scanners, rl.cjk, rl.hub, rl.ctl = eng, lp, dispHandler, sink, scanners, cjk, hub, ctl
		grp.Go(func() error { return rl.run(ctx, do.Reload) })
	}

	// The local API (and the bridge endpoint, which has its own token).
	mux := http.NewServeMux()
	if hub != nil {
		mux.Handle("/v1/bridge", hub.Handler())
	}
	// OTTPay's call-backs carry no token of ours: the digest authenticates them.
	mux.Handle("POST /v1/ottpay/callback", eng.CallbackHandler())
	mux.Handle("/", eng.Handler())
	ls, err := front.listen(cfg)
	if err != nil {
		cancel()
		_ = grp.Wait()
		return err
	}
	l := ls[0]
	// Timeouts on every listener; a stop closes slow and idle connections.
	grp.Go(func() error { return agent.Serve(ctx, agent.NewServer(mux, log), ls...) })
	log.Info("posagent running", "version", version, "api", l.Addr().String(), "journal", cfg.Store.Path)
	if ready != nil {
		ready(running{API: l.Addr().String(), SimURL: simURL})
	}
	err = grp.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
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

// retention maps store.retention (0 keeps everything) to the engine's
// option (negative: never compact).
func retention(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
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
		Drawer: printer.DrawerKick{Enabled: cfg.Printer.Drawer},
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
