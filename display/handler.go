package display

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/posagent/posagent/fonts"
)

//go:embed page.html
var pageHTML []byte

// Options configures Handler. Zero values are the defaults.
type Options struct {
	MerchantName string
	// Language is which line is primary (both are shown): "en" (default),
	// "zh", or "auto": Chinese first for WeChat Pay and Alipay payments,
	// ShopLanguage ("en" default, or "zh") for everything else.
	Language     string
	ShopLanguage string
	// CJK draws Chinese in /display/frame.png (nil: English only, with a note).
	CJK       *fonts.CJK
	LogoPath  string // optional image file served at /display/logo
	EventsURL string // the agent's SSE endpoint (default "/v1/events")

	// CodeURL returns the code_url of a payment for /display/qr.svg and
	// /display/qr.png; (_, false) gives 404. When it is nil or says no, the
	// Controller's current qr screen is used if it shows that payment.
	CodeURL func(id string) (string, bool)

	// Controller backs /display/frame.png and /display/screen.json (the
	// page's resync after a reconnect). Nil: both are 404.
	Controller *Controller

	FrameWidth, FrameHeight int // frame.png size (default 800x480)
	QRModule                int // pixels per module of qr.png (default 8)

	// Reconnect backoff of the page's event stream (defaults 500 ms, 10 s).
	ReconnectMin, ReconnectMax time.Duration
	// Watchdog is how often the page compares its stream with the
	// Controller to catch a silently dead connection (default 20 s;
	// negative: off). Only useful with a Controller.
	Watchdog time.Duration

	Logger *slog.Logger

	// Rate is the agent's exchange rate of currency to CNY (rate x 10^8)
	// and when it was fetched (ok false: none); the page shows "≈ ¥ ..."
	// under the amount of WeChat Pay and Alipay payments while the rate
	// is younger than RateMaxAge (default 2 h). Later rates arrive as
	// rate.updated events. nil: no estimate.
	Rate       func() (currency string, rate int64, at time.Time, ok bool)
	RateMaxAge time.Duration

	// IdleQR is the merchant's static QR (its URL, from the OTTPay
	// merchant portal), shown on the idle screen with "Scan to pay us"
	// and served at /display/idle-qr.svg; "" shows none. Payments made
	// with it do not pass through the agent: the display never learns of them.
	IdleQR string
}

// config is /display/config.json.
type config struct {
	MerchantName   string `json:"merchant_name"`
	Language       string `json:"language"`
	LogoURL        string `json:"logo_url"` // relative to the page's base ("logo") or ""
	HoldSeconds    int    `json:"hold_seconds"`
	EventsURL      string `json:"events_url"`
	ReconnectMinMS int64  `json:"reconnect_min_ms"`
	ReconnectMaxMS int64  `json:"reconnect_max_ms"`
	WatchdogMS     int64  `json:"watchdog_ms"`
	ServerTime     string `json:"server_time"`
	ShopLanguage   string `json:"shop_language"`
	// The exchange rate to CNY for the estimate (rate x 10^8; 0: none).
	CNYRate         int64  `json:"cny_rate"`
	CNYRateAt       string `json:"cny_rate_at,omitempty"`
	CNYRateCurrency string `json:"cny_rate_currency,omitempty"`
	RateMaxAgeMS    int64  `json:"rate_max_age_ms"`
	// IdleQR: the idle screen shows the static QR (idle-qr.svg).
	IdleQR bool `json:"idle_qr"`
}

// snapshot is /display/screen.json.
type snapshot struct {
	Seq        uint64    `json:"seq"`
	Screen     Screen    `json:"screen"`
	HoldUntil  time.Time `json:"hold_until,omitzero"`
	ServerTime time.Time `json:"server_time"`
}

type handler struct {
	o   Options
	log *slog.Logger

	rOnce    sync.Once
	renderer *Renderer
	rErr     error
}

// Handler serves the customer display under /display:
//
//	/display              the page (one HTML file, inline CSS and JS, no external assets)
//	/display/config.json  merchant name, language, logo URL, hold seconds, events URL
//	/display/screen.json  the Controller's current screen and sequence (resync)
//	/display/qr.svg?id=   the QR of a payment's code_url (SVG)
//	/display/qr.png?id=   the same as PNG (&module=N pixels per module)
//	/display/frame.png    the Controller's current screen rendered as PNG
//	/display/idle-qr.svg  Options.IdleQR, the merchant's static QR (404 without one)
//	/display/logo         Options.LogoPath
//
// It accepts paths with or without the /display prefix, so it can be
// mounted as is or behind http.StripPrefix.
func Handler(o Options) http.Handler {
	if o.EventsURL == "" {
		o.EventsURL = "/v1/events"
	}
	if l, err := ParseLanguage(o.Language); err == nil {
		o.Language = l
	} else {
		o.Language = LangEN
	}
	if l, err := ParseLanguage(o.ShopLanguage); err == nil && l != LangAuto {
		o.ShopLanguage = l
	} else {
		o.ShopLanguage = LangEN
	}
	if o.QRModule <= 0 {
		o.QRModule = 8
	}
	if o.ReconnectMin <= 0 {
		o.ReconnectMin = 500 * time.Millisecond
	}
	if o.ReconnectMax < o.ReconnectMin {
		o.ReconnectMax = 10 * time.Second
		if o.ReconnectMax < o.ReconnectMin {
			o.ReconnectMax = o.ReconnectMin
		}
	}
	switch {
	case o.Watchdog == 0:
		o.Watchdog = 20 * time.Second
	case o.Watchdog < 0:
		o.Watchdog = 0
	}
	h := &handler{o: o, log: o.Logger}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		httpError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not supported here; use GET")
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/display")
	w.Header().Set("Cache-Control", "no-store")
	switch p {
	case "", "/", "/index.html":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Write(pageHTML)
	case "/config.json":
		h.config(w)
	case "/screen.json":
		h.screen(w)
	case "/qr.svg", "/qr.png":
		h.qr(w, r, p == "/qr.svg")
	case "/frame.png":
		h.frame(w)
	case "/idle-qr.svg":
		h.idleQR(w)
	case "/logo":
		h.logo(w, r)
	default:
		httpError(w, http.StatusNotFound, "not_found", "no such display resource: "+r.URL.Path)
	}
}

func (h *handler) config(w http.ResponseWriter) {
	hold := DefaultHold
	if h.o.Controller != nil {
		hold = h.o.Controller.Hold()
	}
	c := config{
		MerchantName:   h.o.MerchantName,
		Language:       h.o.Language,
		HoldSeconds:    int((hold + time.Second - 1) / time.Second),
		EventsURL:      h.o.EventsURL,
		ReconnectMinMS: h.o.ReconnectMin.Milliseconds(),
		ReconnectMaxMS: h.o.ReconnectMax.Milliseconds(),
		WatchdogMS:     h.o.Watchdog.Milliseconds(),
		ServerTime:     h.now().UTC().Format(time.RFC3339Nano),
		ShopLanguage:   h.o.ShopLanguage,
		IdleQR:         h.o.IdleQR != "",
	}
	if h.o.LogoPath != "" {
		c.LogoURL = "logo"
	}
	c.RateMaxAgeMS = h.o.RateMaxAge.Milliseconds()
	if c.RateMaxAgeMS <= 0 {
		c.RateMaxAgeMS = (2 * time.Hour).Milliseconds()
	}
	if h.o.Rate != nil {
		if cur, rate, at, ok := h.o.Rate(); ok {
			c.CNYRate, c.CNYRateAt, c.CNYRateCurrency = rate, at.UTC().Format(time.RFC3339Nano), cur
		}
	}
	writeJSON(w, c)
}

func (h *handler) now() time.Time {
	if h.o.Controller != nil {
		return h.o.Controller.Now()
	}
	return time.Now()
}

func (h *handler) screen(w http.ResponseWriter) {
	if h.o.Controller == nil {
		httpError(w, http.StatusNotFound, "no_controller", "this display has no screen controller")
		return
	}
	s, until, seq := h.o.Controller.Snapshot()
	writeJSON(w, snapshot{Seq: seq, Screen: s, HoldUntil: until, ServerTime: h.o.Controller.Now()})
}

func (h *handler) qr(w http.ResponseWriter, r *http.Request, svg bool) {
	id := r.URL.Query().Get("id")
	if id == "" {
		httpError(w, http.StatusBadRequest, "missing_id", "add ?id=PAYMENT_ID")
		return
	}
	var content string
	ok := false
	if h.o.CodeURL != nil {
		content, ok = h.o.CodeURL(id)
	}
	if (!ok || content == "") && h.o.Controller != nil {
		// The payment on screen needs no lookup.
		if s := h.o.Controller.Current(); s.PaymentID == id && s.CodeURL != "" {
			content, ok = s.CodeURL, true
		}
	}
	if !ok || content == "" {
		httpError(w, http.StatusNotFound, "not_found", "no QR for payment "+id)
		return
	}
	var b []byte
	var err error
	if svg {
		w.Header().Set("Content-Type", "image/svg+xml")
		b, err = QRSVG(content)
	} else {
		module := h.o.QRModule
		if m := r.URL.Query().Get("module"); m != "" {
			if module, err = strconv.Atoi(m); err != nil {
				httpError(w, http.StatusBadRequest, "bad_module", fmt.Sprintf("module %q is not a number of pixels (1-64)", m))
				return
			}
		}
		w.Header().Set("Content-Type", "image/png")
		b, err = QRPNG(content, module)
		if errors.Is(err, ErrModuleSize) {
			w.Header().Del("Content-Type")
			httpError(w, http.StatusBadRequest, "bad_module", err.Error())
			return
		}
	}
	if err != nil {
		w.Header().Del("Content-Type")
		h.log.Warn("display: qr", "payment", id, "err", err)
		httpError(w, http.StatusInternalServerError, "qr_failed", err.Error())
		return
	}
	w.Write(b)
}

func (h *handler) idleQR(w http.ResponseWriter) {
	if h.o.IdleQR == "" {
		httpError(w, http.StatusNotFound, "not_found", "no static QR configured (merchant.static_qr, display.idle_qr)")
		return
	}
	b, err := QRSVG(h.o.IdleQR)
	if err != nil {
		h.log.Warn("display: idle qr", "err", err)
		httpError(w, http.StatusInternalServerError, "qr_failed", err.Error())
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Write(b)
}

func (h *handler) frame(w http.ResponseWriter) {
	if h.o.Controller == nil {
		httpError(w, http.StatusNotFound, "no_controller", "this display has no screen controller")
		return
	}
	h.rOnce.Do(func() {
		h.renderer, h.rErr = NewRenderer(FrameOptions{Width: h.o.FrameWidth, Height: h.o.FrameHeight, MerchantName: h.o.MerchantName,
			CJK: h.o.CJK, Language: h.o.Language, ShopLanguage: h.o.ShopLanguage, IdleQR: h.o.IdleQR})
	})
	if h.rErr != nil {
		httpError(w, http.StatusInternalServerError, "bad_frame_size", h.rErr.Error())
		return
	}
	b, err := h.renderer.PNG(h.o.Controller.Current())
	if err != nil {
		httpError(w, http.StatusInternalServerError, "render_failed", err.Error())
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(b)
}

func (h *handler) logo(w http.ResponseWriter, r *http.Request) {
	if h.o.LogoPath == "" {
		httpError(w, http.StatusNotFound, "not_found", "no logo configured")
		return
	}
	f, err := os.Open(h.o.LogoPath)
	if err != nil {
		h.log.Warn("display: logo", "path", h.o.LogoPath, "err", err)
		httpError(w, http.StatusNotFound, "not_found", "logo file cannot be read")
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.IsDir() {
		httpError(w, http.StatusNotFound, "not_found", "logo is not a file")
		return
	}
	w.Header().Set("Cache-Control", "max-age=300")
	http.ServeContent(w, r, filepath.Base(h.o.LogoPath), fi.ModTime(), f)
}

func writeJSON(w http.ResponseWriter, v any) {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		httpError(w, http.StatusInternalServerError, "encode_failed", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(b.Bytes())
}

// httpError writes the contract's error JSON.
func httpError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
