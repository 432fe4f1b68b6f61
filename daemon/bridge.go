package daemon

import (
	"context"
	"log/slog"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/devices"
	"github.com/posagent/posagent/drivers/bridge"
	"github.com/posagent/posagent/fonts"
	"github.com/posagent/posagent/printer"
)

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
		OnScan:  func(ctx context.Context, s bridge.Scan) error { return eng.Intake().HandleScan(ctx, agent.Scan(s)) },
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
