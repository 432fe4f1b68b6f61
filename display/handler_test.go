package display

import (
	"bytes"
	"encoding/json"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func get(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, r *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandlerRoutes(t *testing.T) {
	url := "https://frontapi.ottpay.com/qr/1"
	clk := &fakeClock{t: t0}
	ctrl := NewController(ControllerOptions{Now: clk.Now, Hold: 3 * time.Second})
	logo := filepath.Join(t.TempDir(), "logo.png")
	if err := os.WriteFile(logo, []byte("\x89PNG fake"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := Handler(Options{
		MerchantName: "Maple Tea House", Language: "zh", LogoPath: logo, Controller: ctrl,
		CodeURL: func(id string) (string, bool) { return url, id == "pay_1" },
	})
	k, d := ev(4, EventPaymentUpdated, pay("pay_1", "qr", "processing", `,"code_url":"`+url+`"`))
	if err := ctrl.Apply(k, d); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		method, path string
		status       int
		ctype        string
		contains     string
	}{
		{"GET", "/display", 200, "text/html", `data-screen="idle"`},
		{"GET", "/display/", 200, "text/html", "EventSource"},
		{"GET", "/", 200, "text/html", "EventSource"}, // behind http.StripPrefix
		{"HEAD", "/display", 200, "text/html", ""},
		{"GET", "/display/config.json", 200, "application/json", `"merchant_name":"Maple Tea House","language":"zh","logo_url":"logo","hold_seconds":3,"events_url":"/v1/events","reconnect_min_ms":500,"reconnect_max_ms":10000,"watchdog_ms":20000,"server_time":"2026-11-25T18:30:00Z"`},
		{"GET", "/display/screen.json", 200, "application/json", `{"seq":4,"screen":{"kind":"qr","amount":1250,"currency":"CAD","wallet":"wechat","code_url":"` + url + `","payment_id":"pay_1"}`},
		{"GET", "/display/qr.svg?id=pay_1", 200, "image/svg+xml", "<svg"},
		{"GET", "/display/qr.png?id=pay_1", 200, "image/png", "PNG"},
		{"GET", "/display/qr.svg?id=nope", 404, "application/json", `"code":"not_found"`},
		{"GET", "/display/qr.svg", 400, "application/json", `"code":"missing_id"`},
		{"GET", "/display/qr.png?id=pay_1&module=0", 400, "application/json", `"code":"bad_module"`},
		{"GET", "/display/qr.png?id=pay_1&module=big", 400, "application/json", `module \"big\" is not a number`},
		{"GET", "/display/frame.png", 200, "image/png", "PNG"},
		{"GET", "/display/logo", 200, "image/png", "fake"},
		{"GET", "/display/nothing", 404, "application/json", `"code":"not_found"`},
		{"POST", "/display/config.json", 405, "application/json", `"code":"method_not_allowed"`},
	}
	for _, tt := range tests {
		r := get(t, h, tt.method, tt.path)
		b := body(t, r)
		if r.StatusCode != tt.status || !strings.HasPrefix(r.Header.Get("Content-Type"), tt.ctype) || !bytes.Contains(b, []byte(tt.contains)) {
			t.Errorf("%s %s = %d %s %.200q; want %d %s containing %q", tt.method, tt.path, r.StatusCode,
				r.Header.Get("Content-Type"), b, tt.status, tt.ctype, tt.contains)
		}
	}

	// The PNGs are the payment's QR and the controller's screen.
	for _, path := range []string{"/display/qr.png?id=pay_1&module=3", "/display/frame.png"} {
		img, err := png.Decode(bytes.NewReader(body(t, get(t, h, "GET", path))))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if got, err := DecodeQR(img); err != nil || got != url {
			t.Errorf("%s decodes to %q, %v", path, got, err)
		}
	}
	// After the hold the frame is idle: no QR any more.
	k, d = ev(5, EventPaymentUpdated, pay("pay_1", "qr", "succeeded", ""))
	ctrl.Apply(k, d)
	clk.Add(3 * time.Second)
	var snap snapshot
	if err := json.Unmarshal(body(t, get(t, h, "GET", "/display/screen.json")), &snap); err != nil {
		t.Fatal(err)
	}
	if snap.Screen.Kind != KindIdle || snap.Seq != 5 {
		t.Errorf("screen.json after the hold: %+v", snap)
	}
	img, _ := png.Decode(bytes.NewReader(body(t, get(t, h, "GET", "/display/frame.png"))))
	if _, err := DecodeQR(img); err == nil {
		t.Error("idle frame still has a QR")
	}
}

func TestHandlerWithoutController(t *testing.T) {
	h := Handler(Options{FrameWidth: 10, FrameHeight: 10})
	for _, p := range []string{"/display/frame.png", "/display/screen.json", "/display/logo", "/display/qr.svg?id=x"} {
		if r := get(t, h, "GET", p); r.StatusCode != 404 {
			t.Errorf("%s = %d, want 404", p, r.StatusCode)
		}
	}
	var c config
	if err := json.Unmarshal(body(t, get(t, h, "GET", "/display/config.json")), &c); err != nil {
		t.Fatal(err)
	}
	if c.Language != "en" || c.HoldSeconds != 8 || c.EventsURL != "/v1/events" || c.LogoURL != "" {
		t.Errorf("defaults: %+v", c)
	}
	bad := Handler(Options{Controller: NewController(ControllerOptions{}), FrameWidth: 10, FrameHeight: 10})
	r := get(t, bad, "GET", "/display/frame.png")
	if b := body(t, r); r.StatusCode != 500 || !bytes.Contains(b, []byte("frame size 10x10")) {
		t.Errorf("bad frame size: %d %s", r.StatusCode, b)
	}
	missing := Handler(Options{LogoPath: filepath.Join(t.TempDir(), "gone.png")})
	if r := get(t, missing, "GET", "/display/logo"); r.StatusCode != 404 {
		t.Errorf("missing logo: %d", r.StatusCode)
	}
}

// TestPageSelfContained checks the page needs nothing from the network and
// sticks to JavaScript an old Android WebView runs.
func TestPageSelfContained(t *testing.T) {
	page := string(pageHTML)
	for _, re := range []string{
		`(?i)(src|href)\s*=\s*["']?(https?:)?//`, `(?i)@import`, `(?i)url\(\s*["']?(https?:)?//`, // no external assets
		"=>", "`", `\blet\s`, `\bconst\s`, `\bclass\s+\w+\s*\{`, `\basync\s+function`, `\bawait\s`, // ES5 only
		`\bfetch\(`,
	} {
		if m := regexp.MustCompile(re).FindString(page); m != "" {
			t.Errorf("page contains %q (pattern %s)", m, re)
		}
	}
	for _, want := range []string{`id="amount"`, `id="qr"`, `data-screen=`, "EventSource", "screen.json", "after="} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
}

func TestHandlerQRFromController(t *testing.T) {
	url := "https://frontapi.ottpay.com/qr/2"
	ctrl := NewController(ControllerOptions{Now: func() time.Time { return t0 }})
	h := Handler(Options{Controller: ctrl})
	if r := get(t, h, "GET", "/display/qr.svg?id=pay_2"); r.StatusCode != 404 {
		t.Fatalf("before the payment: %d", r.StatusCode)
	}
	k, d := ev(1, EventPaymentUpdated, pay("pay_2", "qr", "processing", `,"code_url":"`+url+`"`))
	if err := ctrl.Apply(k, d); err != nil {
		t.Fatal(err)
	}
	r := get(t, h, "GET", "/display/qr.png?id=pay_2&module=2")
	img, err := png.Decode(bytes.NewReader(body(t, r)))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeQR(img); err != nil || got != url {
		t.Errorf("qr.png of the payment on screen decodes to %q, %v", got, err)
	}
	if r := get(t, h, "GET", "/display/qr.svg?id=other"); r.StatusCode != 404 {
		t.Errorf("another payment: %d, want 404", r.StatusCode)
	}
}
