package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/display"
	"github.com/posagent/posagent/display/pole"
	"github.com/posagent/posagent/drivers/bridge"
	"github.com/posagent/posagent/drivers/serial"
	"github.com/posagent/posagent/fonts"
	"golang.org/x/sync/errgroup"
)

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

// shopLanguage is the shop's own language, for display.language auto:
// Chinese when its receipts are Chinese only, else English.
func shopLanguage(cfg *config.Config) string {
	if cfg.Receipt.Language == "zh" {
		return display.LangZH
	}
	return display.LangEN
}
