package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/drivers/serial"
	"github.com/posagent/posagent/fonts"
	"github.com/posagent/posagent/printer"
)

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

// placardOf is the placard of merchant.static_qr and merchant.payment_links.
func placardOf(cfg *config.Config) printer.Placard {
	pl := printer.Placard{Merchant: cfg.Merchant.Name, StaticQR: cfg.Merchant.StaticQR}
	for _, l := range cfg.Merchant.PaymentLinks {
		pl.Links = append(pl.Links, printer.PlacardLink{Name: l.Name, URL: l.URL})
	}
	return pl
}

var _ api.PlacardPrinter = (*livePrinter)(nil)

// Placard is the current configuration's placard.
func (lp *livePrinter) Placard() printer.Placard {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return lp.gen.placard
}

// PrintPlacard prints a placard on the current printer, in its profile.
func (lp *livePrinter) PrintPlacard(ctx context.Context, pl printer.Placard) error {
	return lp.printDocument(ctx, "placards", func(p printer.Profile) []byte { return printer.EncodePlacard(pl, p) })
}

// RenderPlacard draws a placard as the current printer would print it.
func (lp *livePrinter) RenderPlacard(pl printer.Placard) ([]byte, error) {
	return printer.RenderPlacardPNG(pl, lp.profile())
}

// PrintReport prints a report on the current printer, in its profile.
func (lp *livePrinter) PrintReport(ctx context.Context, r printer.Report) error {
	return lp.printDocument(ctx, "reports", func(p printer.Profile) []byte { return printer.EncodeReport(r, p) })
}

// RenderReport draws a report as the current printer would print it.
func (lp *livePrinter) RenderReport(r printer.Report) ([]byte, error) {
	return printer.RenderReportPNG(r, lp.profile())
}

// printDocument prints what encode makes for the current printer's
// profile (a report, a placard), counted as a job so that a reload lets it
// finish on the printer it started on.
func (lp *livePrinter) printDocument(ctx context.Context, what string, encode func(printer.Profile) []byte) error {
	lp.mu.Lock()
	g := lp.gen
	g.jobs.Add(1)
	lp.mu.Unlock()
	defer g.jobs.Done()
	if g.prn == nil {
		return fmt.Errorf("printer: %s are printed on a printer the agent drives (not printer.kind none or bridge)", what)
	}
	return g.prn.Print(ctx, encode(g.prof))
}

// profile is the current printer's profile.
func (lp *livePrinter) profile() printer.Profile {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return lp.gen.prof
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
