package display_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/display"
	"github.com/posagent/posagent/internal/displaytest"
)

// stand is the agent's side of the page for a test: a Hub (the event
// stream), a Controller fed by it, and the display Handler, all on one
// httptest.Server that can be stopped and started again on the same address.
type stand struct {
	t    *testing.T
	hub  *displaytest.Hub
	ctrl *display.Controller
	mux  *http.ServeMux
	addr string
	srv  *httptest.Server

	mu    sync.Mutex
	codes map[string]string // payment id -> code_url
}

func newStand(t *testing.T, lang string, hold time.Duration) *stand {
	return newStandWith(t, lang, hold, true, nil)
}

// newStandWith builds a stand; withController false leaves the Handler
// without a Controller (no screen.json), as a minimal wiring would.
func newStandWith(t *testing.T, lang string, hold time.Duration, withController bool, opt func(*display.Options)) *stand {
	s := &stand{t: t, codes: map[string]string{}}
	s.ctrl = display.NewController(display.ControllerOptions{Hold: hold})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ctrl.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Controller.Run: %v", err)
		}
	})
	s.hub = displaytest.NewHub(0)
	s.hub.OnEvent = s.ctrl.Apply
	var ctrl *display.Controller
	if withController {
		ctrl = s.ctrl
	}
	o := display.Options{
		MerchantName: "Maple Tea House",
		Language:     lang,
		EventsURL:    "/v1/events",
		Controller:   ctrl,
		CodeURL: func(id string) (string, bool) {
			s.mu.Lock()
			defer s.mu.Unlock()
			u, ok := s.codes[id]
			return u, ok
		},
		ReconnectMin: 100 * time.Millisecond,
		ReconnectMax: 400 * time.Millisecond,
	}
	if opt != nil {
		opt(&o)
	}
	h := display.Handler(o)
	s.mux = http.NewServeMux()
	s.mux.Handle("/v1/events", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { s.hub.ServeHTTP(w, r) }))
	s.mux.Handle("/display", h)
	s.mux.Handle("/display/", h)
	s.start()
	t.Cleanup(s.stop)
	return s
}

// start serves on the stand's address (a new one the first time).
func (s *stand) start() {
	s.t.Helper()
	addr := s.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ { // the old socket may linger for a moment
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("listen %s: %v", addr, err)
	}
	s.addr = l.Addr().String()
	srv := httptest.NewUnstartedServer(s.mux)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	s.srv = srv
}

// stop closes the server and every open stream.
func (s *stand) stop() {
	if s.srv == nil {
		return
	}
	s.srv.CloseClientConnections()
	s.srv.Close()
	s.srv = nil
}

func (s *stand) url() string { return "http://" + s.addr + "/display" }

func (s *stand) publish(kind string, payload any) {
	s.t.Helper()
	if _, err := s.hub.Publish(kind, payload); err != nil {
		s.t.Fatal(err)
	}
}

// payment is a payment in the contract's JSON shape.
func (s *stand) payment(id, mode, state, wallet, codeURL string, expires time.Time) map[string]any {
	if codeURL != "" {
		s.mu.Lock()
		s.codes[id] = codeURL
		s.mu.Unlock()
	}
	p := map[string]any{
		"id": id, "order_id": "O" + id, "reference": "INV-1001", "mode": mode, "wallet": wallet,
		"amount": 1250, "currency": "CAD", "state": state, "error": nil, "code_url": codeURL,
		"qr_expires_at": nil, "auth_code_masked": "", "created_at": time.Now().UTC().Format(time.RFC3339),
		"updated_at": time.Now().UTC().Format(time.RFC3339Nano), "history": []any{}, "refunds": []any{}, "refunded": 0,
	}
	if !expires.IsZero() {
		p["qr_expires_at"] = expires.UTC().Format(time.RFC3339)
	}
	return p
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func text(t *testing.T, ctx context.Context, id string) string {
	t.Helper()
	s, err := displaytest.Text(ctx, id)
	must(t, err)
	return s
}

// TestPageLive drives the page through a sale in real Chromium: cart, QR
// (decoded from a screenshot), paid without a reload, the hold back to
// idle, then a server restart on the same address with an event published
// while it was down (replayed) and one after (live).
func TestPageLive(t *testing.T) {
	ctx := displaytest.StartBrowser(t)
	s := newStand(t, "en", 2*time.Second)
	must(t, displaytest.Open(ctx, s.url()))
	must(t, displaytest.WaitConnected(ctx, true))
	must(t, displaytest.WaitScreen(ctx, display.KindIdle))
	if got := text(t, ctx, "merchant"); got != "Maple Tea House" {
		t.Errorf("idle merchant %q", got)
	}
	// A marker set now must survive every update: no reload, ever.
	marker, err := displaytest.Eval[float64](ctx, `window.__marker = Math.random(); window.__marker`)
	must(t, err)
	loadedAt, err := displaytest.Eval[float64](ctx, `POS.loadedAt`)
	must(t, err)
	assertNoReload := func(when string) {
		t.Helper()
		got, err := displaytest.Eval[float64](ctx, `window.__marker || -1`)
		must(t, err)
		at, err := displaytest.Eval[float64](ctx, `POS.loadedAt`)
		must(t, err)
		if got != marker || at != loadedAt {
			t.Fatalf("%s: the page reloaded (marker %v want %v, loadedAt %v want %v)", when, got, marker, at, loadedAt)
		}
	}

	s.publish(display.EventCartUpdated, map[string]any{"amount": 1250, "currency": "CAD", "reference": "INV-1001"})
	must(t, displaytest.WaitScreen(ctx, display.KindAmountDue))
	if got := text(t, ctx, "amount"); got != "CAD 12.50" {
		t.Errorf("amount due shows %q", got)
	}

	codeURL := "https://frontapi.ottpay.com/qr/ON00004652-LANE1-0001?t=8f3a"
	s.publish(display.EventPaymentUpdated, s.payment("pay_qr1", "qr", "processing", "wechat", codeURL, time.Now().Add(5*time.Minute)))
	must(t, displaytest.WaitScreen(ctx, display.KindQR))
	must(t, displaytest.WaitQRLoaded(ctx))
	if got := text(t, ctx, "amount"); got != "CAD 12.50" {
		t.Errorf("qr screen amount %q", got)
	}
	if got := text(t, ctx, "walletname"); !strings.Contains(got, "WeChat Pay") || !strings.Contains(got, "微信支付") {
		t.Errorf("wallet name %q", got)
	}
	must(t, displaytest.WaitUntil(ctx, `/[45]:[0-5][0-9]$/.test(document.getElementById("countdown").textContent)`))
	got, err := displaytest.DecodeQRScreenshot(ctx)
	if err != nil {
		t.Fatalf("QR on the screenshot: %v", err)
	}
	if got != codeURL {
		t.Fatalf("screenshot QR decodes to %q, want %q", got, codeURL)
	}

	s.publish(display.EventPaymentUpdated, s.payment("pay_qr1", "qr", "succeeded", "wechat", codeURL, time.Now().Add(5*time.Minute)))
	must(t, displaytest.WaitShown(ctx, display.KindPaid))
	assertNoReload("after paid")
	// The hold (2 s here) ends and the page returns to idle by itself.
	must(t, displaytest.WaitScreen(ctx, display.KindIdle))

	// The agent goes away; an event happens while it is down.
	connects, err := displaytest.Eval[float64](ctx, `POS.connects`)
	must(t, err)
	s.stop()
	must(t, displaytest.WaitConnected(ctx, false))
	s.publish(display.EventPaymentUpdated, s.payment("pay_scan2", "scan", "awaiting_code", "", "", time.Time{}))
	s.start() // same address
	must(t, displaytest.WaitConnected(ctx, true))
	must(t, displaytest.WaitScreen(ctx, display.KindScanPrompt))
	if id, _ := displaytest.Eval[string](ctx, `document.body.getAttribute("data-payment-id")`); id != "pay_scan2" {
		t.Errorf("after reconnect the page shows payment %q", id)
	}
	if got := text(t, ctx, "title1"); got != "Please show your payment code" {
		t.Errorf("scan prompt title %q", got)
	}
	if got := text(t, ctx, "title2"); got != "请出示付款码" {
		t.Errorf("scan prompt second line %q", got)
	}
	// And the next live event after the reconnect.
	s.publish(display.EventPaymentUpdated, s.payment("pay_scan2", "scan", "failed", "", "", time.Time{}))
	must(t, displaytest.WaitShown(ctx, display.KindFailed))
	assertNoReload("after reconnect")
	if n, _ := displaytest.Eval[float64](ctx, `POS.connects`); n <= connects {
		t.Errorf("connects %v, want more than %v", n, connects)
	}
}

// TestPageResyncAfterLostEvents: while the page is disconnected the
// payment is paid, but the restarted event stream cannot replay it (its
// history is gone). The page must not keep the stale QR: it resyncs from
// the controller's /display/screen.json.
func TestPageResyncAfterLostEvents(t *testing.T) {
	ctx := displaytest.StartBrowser(t)
	s := newStand(t, "zh", 30*time.Second)
	must(t, displaytest.Open(ctx, s.url()))
	must(t, displaytest.WaitConnected(ctx, true))
	codeURL := "https://frontapi.ottpay.com/qr/ON00004652-LANE1-0002"
	s.publish(display.EventPaymentUpdated, s.payment("pay_qr2", "qr", "processing", "alipay", codeURL, time.Now().Add(5*time.Minute)))
	must(t, displaytest.WaitScreen(ctx, display.KindQR))
	// Chinese first: the language is zh.
	if got := text(t, ctx, "title1"); got != "请使用支付宝扫码付款" {
		t.Errorf("zh qr title %q", got)
	}

	s.stop()
	must(t, displaytest.WaitConnected(ctx, false))
	// The controller learns the outcome directly (as the agent's would, at
	// seq 100), and the restarted stream has an empty history after it.
	paid, err := json.Marshal(map[string]any{"seq": 100, "kind": display.EventPaymentUpdated,
		"payment": s.payment("pay_qr2", "qr", "succeeded", "alipay", codeURL, time.Now().Add(5*time.Minute))})
	must(t, err)
	must(t, s.ctrl.Apply(display.EventPaymentUpdated, paid))
	s.hub = displaytest.NewHub(100)
	s.hub.OnEvent = s.ctrl.Apply
	s.start()
	must(t, displaytest.WaitConnected(ctx, true))
	must(t, displaytest.WaitScreen(ctx, display.KindPaid))
	if got := text(t, ctx, "title1"); got != "支付成功，谢谢" {
		t.Errorf("zh paid title %q", got)
	}
}

// TestPageReplayWithoutController: with no Controller wired (no
// screen.json), a page opened in the middle of a sale replays the event log
// (after=0) and starts on the right screen.
func TestPageReplayWithoutController(t *testing.T) {
	ctx := displaytest.StartBrowser(t)
	s := newStandWith(t, "en", 5*time.Second, false, nil)
	codeURL := "https://frontapi.ottpay.com/qr/ON00004652-LANE1-0003"
	s.publish(display.EventCartUpdated, map[string]any{"amount": 1250, "currency": "CAD"})
	s.publish(display.EventPaymentUpdated, s.payment("old", "scan", "succeeded", "", "", time.Time{}))
	s.publish(display.EventPaymentUpdated, s.payment("pay_qr3", "qr", "processing", "unionpay", codeURL, time.Now().Add(time.Minute)))
	must(t, displaytest.Open(ctx, s.url()))
	must(t, displaytest.WaitScreen(ctx, display.KindQR))
	must(t, displaytest.WaitQRLoaded(ctx))
	if id, _ := displaytest.Eval[string](ctx, `document.body.getAttribute("data-payment-id")`); id != "pay_qr3" {
		t.Errorf("replayed to payment %q", id)
	}
	if seq, _ := displaytest.Eval[float64](ctx, `POS.lastSeq`); seq != 3 {
		t.Errorf("POS.lastSeq = %v, want 3", seq)
	}
	got, err := displaytest.DecodeQRScreenshot(ctx)
	if err != nil || got != codeURL {
		t.Fatalf("screenshot QR %q, %v; want %q", got, err, codeURL)
	}
}

// TestPageWatchdog: the stream goes silent without closing (no TCP reset);
// the page notices that the controller is ahead, restarts the stream and
// catches up.
func TestPageWatchdog(t *testing.T) {
	ctx := displaytest.StartBrowser(t)
	s := newStandWith(t, "en", 5*time.Second, true, func(o *display.Options) { o.Watchdog = 200 * time.Millisecond })
	must(t, displaytest.Open(ctx, s.url()))
	must(t, displaytest.WaitConnected(ctx, true))
	s.publish(display.EventCartUpdated, map[string]any{"amount": 700, "currency": "CAD"})
	must(t, displaytest.WaitScreen(ctx, display.KindAmountDue))
	s.hub.StallOpen()
	s.publish(display.EventPaymentUpdated, s.payment("pay_w", "scan", "awaiting_code", "", "", time.Time{}))
	must(t, displaytest.WaitScreen(ctx, display.KindScanPrompt))
	if n, _ := displaytest.Eval[float64](ctx, `POS.watchdogRestarts || 0`); n < 1 {
		t.Errorf("the scan prompt arrived without a watchdog restart (%v): the stall did not stall", n)
	}
}

// TestPageLanguageFollowsWallet: with language auto, a WeChat Pay qr
// payment is shown Chinese first (larger, above the English) and a UnionPay
// one in the shop's English; idle and the cart are in the shop's language.
func TestPageLanguageFollowsWallet(t *testing.T) {
	ctx := displaytest.StartBrowser(t)
	s := newStand(t, "auto", 30*time.Second)
	must(t, displaytest.Open(ctx, s.url()))
	must(t, displaytest.WaitConnected(ctx, true))
	must(t, displaytest.WaitScreen(ctx, display.KindIdle))
	if got := text(t, ctx, "welcome1"); got != "Welcome" {
		t.Errorf("idle in the shop's language: welcome line %q", got)
	}

	codeURL := "https://frontapi.ottpay.com/qr/ON00004652-LANE1-0009"
	s.publish(display.EventPaymentUpdated, s.payment("pay_wx", "qr", "processing", "wechat", codeURL, time.Now().Add(5*time.Minute)))
	must(t, displaytest.WaitScreen(ctx, display.KindQR))
	must(t, displaytest.WaitQRLoaded(ctx))
	if got := text(t, ctx, "title1"); got != "请使用微信支付扫码付款" {
		t.Errorf("WeChat Pay primary title %q, want Chinese", got)
	}
	if got := text(t, ctx, "title2"); got != "Scan with WeChat Pay to pay" {
		t.Errorf("WeChat Pay second title %q, want English", got)
	}
	if got := text(t, ctx, "walletname"); got != "微信支付 WeChat Pay" {
		t.Errorf("wallet name %q", got)
	}
	lang, err := displaytest.Eval[string](ctx, `document.documentElement.lang + " " + document.body.getAttribute("data-lang")`)
	must(t, err)
	if lang != "zh-Hans zh" {
		t.Errorf("page language %q, want zh-Hans zh", lang)
	}
	// As the customer sees it: the Chinese line is above the English one and larger.
	layout, err := displaytest.Eval[[]float64](ctx, `(function () {
		var a = document.getElementById("title1"), b = document.getElementById("title2");
		return [a.getBoundingClientRect().top, b.getBoundingClientRect().top,
			parseFloat(getComputedStyle(a).fontSize), parseFloat(getComputedStyle(b).fontSize)];
	})()`)
	must(t, err)
	if len(layout) != 4 || !(layout[0] < layout[1]) || !(layout[2] > layout[3]) {
		t.Errorf("Chinese title not first and larger: top %v vs %v, size %v vs %v", layout[0], layout[1], layout[2], layout[3])
	}
	got, err := displaytest.DecodeQRScreenshot(ctx)
	if err != nil || got != codeURL {
		t.Fatalf("screenshot QR %q, %v; want %q", got, err, codeURL)
	}
	s.publish(display.EventPaymentUpdated, s.payment("pay_wx", "qr", "succeeded", "wechat", codeURL, time.Now().Add(5*time.Minute)))
	must(t, displaytest.WaitShown(ctx, display.KindPaid))
	if got := text(t, ctx, "title1"); got != "支付成功，谢谢" {
		t.Errorf("WeChat Pay paid title %q, want Chinese", got)
	}

	// A UnionPay payment: the shop's language (English) first.
	s.publish(display.EventPaymentUpdated, s.payment("pay_up", "qr", "processing", "unionpay", codeURL+"-up", time.Now().Add(5*time.Minute)))
	must(t, displaytest.WaitUntil(ctx, `document.body.getAttribute("data-payment-id") === "pay_up"`))
	if got := text(t, ctx, "title1"); got != "Scan with UnionPay to pay" {
		t.Errorf("UnionPay primary title %q, want English", got)
	}
	if got := text(t, ctx, "title2"); got != "请使用银联云闪付扫码付款" {
		t.Errorf("UnionPay second title %q", got)
	}
	if lang, _ := displaytest.Eval[string](ctx, `document.body.getAttribute("data-lang")`); lang != "en" {
		t.Errorf("UnionPay page language %q", lang)
	}
}

// TestPageIdleStaticQR: with the merchant's static QR configured
// (display.idle_qr), the idle page shows it with the shop's name and "scan
// to pay us" in English and Chinese; the QR decoded from a Chromium
// screenshot is the configured URL. A sale replaces it, and it comes back
// when the display returns to idle.
func TestPageIdleStaticQR(t *testing.T) {
	ctx := displaytest.StartBrowser(t)
	static := "https://pay.ottpay.com/static/ON00004652?store=maple"
	s := newStandWith(t, "en", time.Second, true, func(o *display.Options) { o.IdleQR = static })
	must(t, displaytest.Open(ctx, s.url()))
	must(t, displaytest.WaitConnected(ctx, true))
	must(t, displaytest.WaitScreen(ctx, display.KindIdle))
	waitIdleQR := func() {
		t.Helper()
		must(t, displaytest.WaitUntil(ctx, `(function(){var q=document.getElementById("idleqr");return document.body.classList.contains("has-idle-qr")&&q.complete&&q.naturalWidth>0;})()`))
	}
	waitIdleQR()
	if got := text(t, ctx, "merchant"); got != "Maple Tea House" {
		t.Errorf("idle merchant %q", got)
	}
	if a, b := text(t, ctx, "scanus1"), text(t, ctx, "scanus2"); a != "Scan to pay us" || b != "扫码向我们付款" {
		t.Errorf("scan to pay us lines %q / %q", a, b)
	}
	got, err := displaytest.DecodeQRScreenshot(ctx)
	if err != nil || got != static {
		t.Fatalf("idle screenshot QR %q, %v; want %q", got, err, static)
	}

	// A qr sale shows the payment's own QR instead, then idle again.
	codeURL := "https://frontapi.ottpay.com/qr/ON00004652-LANE1-0042"
	s.publish(display.EventPaymentUpdated, s.payment("pay_s1", "qr", "processing", "alipay", codeURL, time.Now().Add(5*time.Minute)))
	must(t, displaytest.WaitScreen(ctx, display.KindQR))
	must(t, displaytest.WaitQRLoaded(ctx))
	if got, err := displaytest.DecodeQRScreenshot(ctx); err != nil || got != codeURL {
		t.Fatalf("qr screen decodes to %q, %v; want the payment's %q", got, err, codeURL)
	}
	s.publish(display.EventPaymentUpdated, s.payment("pay_s1", "qr", "succeeded", "alipay", codeURL, time.Now().Add(5*time.Minute)))
	must(t, displaytest.WaitShown(ctx, display.KindPaid))
	must(t, displaytest.WaitScreen(ctx, display.KindIdle))
	waitIdleQR()
	if got, err := displaytest.DecodeQRScreenshot(ctx); err != nil || got != static {
		t.Fatalf("back to idle: screenshot QR %q, %v; want %q", got, err, static)
	}
}

// TestPageIdleNoStaticQR: without one, the idle page is as before and
// /display/idle-qr.svg is 404.
func TestPageIdleNoStaticQR(t *testing.T) {
	s := newStand(t, "en", time.Second)
	res, err := http.Get(s.url() + "/idle-qr.svg")
	must(t, err)
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("idle-qr.svg without a static QR: %d", res.StatusCode)
	}
	res, err = http.Get(s.url() + "/config.json")
	must(t, err)
	defer res.Body.Close()
	var c struct {
		IdleQR *bool `json:"idle_qr"`
	}
	must(t, json.NewDecoder(res.Body).Decode(&c))
	if c.IdleQR == nil || *c.IdleQR {
		t.Errorf("config.json idle_qr %v, want false", c.IdleQR)
	}
}

// TestPageWaitingForCustomer: while the wallet asks the customer to
// confirm a scan payment on the phone (reason waiting_for_customer), the
// page in real Chromium asks them to, in English and Chinese; when the
// cashier cancels, the page says the payment is cancelled.
func TestPageWaitingForCustomer(t *testing.T) {
	ctx := displaytest.StartBrowser(t)
	s := newStand(t, "en", 30*time.Second)
	must(t, displaytest.Open(ctx, s.url()))
	must(t, displaytest.WaitConnected(ctx, true))
	p := s.payment("pay_wait", "scan", "processing", "wechat", "", time.Time{})
	s.publish(display.EventPaymentUpdated, p)
	must(t, displaytest.WaitScreen(ctx, display.KindScanPrompt))
	p["reason"] = "waiting_for_customer"
	s.publish(display.EventPaymentUpdated, p)
	must(t, displaytest.WaitScreen(ctx, display.KindAmountDue))
	if got := text(t, ctx, "message1"); got != display.MsgConfirmOnPhone {
		t.Errorf("message while the customer confirms: %q, want %q", got, display.MsgConfirmOnPhone)
	}
	if got := text(t, ctx, "message2"); got != "请在手机上确认付款" {
		t.Errorf("second line %q, want 请在手机上确认付款", got)
	}
	if got := text(t, ctx, "amount"); got != "CAD 12.50" {
		t.Errorf("amount %q", got)
	}
	if sc := s.ctrl.Current(); sc.Kind != display.KindAmountDue || sc.Message != display.MsgConfirmOnPhone {
		t.Errorf("the controller (frames, pole) shows %+v, not what the page shows", sc)
	}
	p["state"], p["reason"] = "cancelled", nil
	s.publish(display.EventPaymentUpdated, p)
	must(t, displaytest.WaitShown(ctx, display.KindCancelled))
	if got := text(t, ctx, "message1"); got != "" {
		t.Errorf("the confirmation request stays on the cancelled screen: %q", got)
	}
}
