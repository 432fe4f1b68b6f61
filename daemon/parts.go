package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/display"
	"github.com/posagent/posagent/drivers/serial"
	"github.com/posagent/posagent/drivers/usbhid"
	"github.com/posagent/posagent/fonts"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/scanner"
)

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

func (s *simPart) Name() string                  { return "sim" }
func (s *simPart) Run(ctx context.Context) error { return s.sim.Run(ctx, s.l) }

// Close closes the listener (Run closes it too; a second close changes
// nothing).
func (s *simPart) Close() error {
	s.l.Close()
	return nil
}

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

// scaled is d in the agent's time scale (agent.time_scale; 0: 1).
func scaled(d time.Duration, scale float64) time.Duration {
	if scale <= 0 {
		return d
	}
	return time.Duration(float64(d) * scale)
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

// PrinterProfile is the printer.Profile the config (and its device profile)
// describe; the caller adds the CJK font for pictures.
func PrinterProfile(cfg *config.Config) printer.Profile {
	p := printer.Profile{
		Name: cfg.Device.Profile, Paper: printer.Paper(cfg.Printer.Paper), Dots: cfg.Printer.Dots,
		NativeQR: cfg.Printer.NativeQR, GB18030: cfg.Printer.Chinese, Language: printer.Language(cfg.Receipt.Language),
		Location: ShopLocation(cfg), // receipts print the shop's time, not the system's (often UTC)
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

func PrinterOpener(cfg *config.Config) (printer.Opener, error) {
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
