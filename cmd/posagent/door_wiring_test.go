package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/displaytest"
)

// Every route of the daemon is behind the API's front door: an unclean
// path is not redirected before the token is checked, and OTTPay's
// call-back route refuses a foreign Host and a slow body like every other.
// Before, an outer mux answered 301 to "//v1/payments" without a token and
// held a call-back's slow body without a limit.
func TestDaemonRoutesBehindTheDoor(t *testing.T) {
	d := newDaemon(t, "")
	d.cfg.API.Tokens.POS = "pos-token-0123456789abcdef"
	r := d.start()
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 30 * time.Second}
	resp, err := hc.Get("http://" + r.API + "//v1/payments")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("GET //v1/payments without a token: %d, want 401 (the door first)", resp.StatusCode)
	}
	req, _ := http.NewRequest("POST", "http://"+r.API+"/v1/ottpay/callback", strings.NewReader(`{}`))
	req.Host = "evil.example"
	req.Header.Set("Content-Type", "application/json")
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 421 {
		t.Errorf("call-back with a foreign Host: %d, want 421", resp.StatusCode)
	}
}

// The customer display (real headless Chromium) opened with the display
// token alone follows a payment from the QR to paid: the display's event
// stream, which starts at the present and carries a screen's fields only,
// is all the page needs.
func TestDisplayWithItsTokenFollowsPayments(t *testing.T) {
	bctx := displaytest.StartBrowser(t)
	d := newDaemon(t, "merchant:\n  name: Maple Tea House\nagent:\n  time_scale: 0.1\n")
	const posTok, dispTok = "pos-token-0123456789abcdef", "display-token-0123456789ab"
	d.cfg.API.Tokens.POS, d.cfg.API.Tokens.Display = posTok, dispTok
	r := d.start()
	base := "http://" + r.API
	if err := displaytest.Open(bctx, base+"/display?token="+dispTok); err != nil {
		t.Fatal(err)
	}
	if err := displaytest.WaitConnected(bctx, true); err != nil {
		t.Fatal(err)
	}
	call := func(method, path, body string, out any) int {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+posTok)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Idempotency-Key", newIdempotencyKey())
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if out != nil {
			json.NewDecoder(resp.Body).Decode(out)
		}
		return resp.StatusCode
	}
	var p payment
	if code := call("POST", "/v1/payments", `{"amount":1234,"mode":"qr","wallet":"wechat","reference":"INV-77"}`, &p); code != 201 {
		t.Fatalf("create qr payment: HTTP %d", code)
	}
	waitFor(t, "code_url", func() bool { call("GET", "/v1/payments/"+p.ID, "", &p); return p.CodeURL != "" })
	if err := displaytest.WaitScreen(bctx, "qr"); err != nil {
		t.Fatal(err)
	}
	amount, err := displaytest.Text(bctx, "amount")
	if err != nil || !strings.Contains(amount, "12.34") {
		t.Fatalf("amount on screen = %q, %v; want 12.34", amount, err)
	}
	resp, err := http.Get(p.CodeURL) // the customer pays
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := displaytest.WaitScreen(bctx, "paid"); err != nil {
		t.Fatal(err)
	}
}

// The start banner names the scheme the API really speaks: https with
// api.tls (it said http:// for a TLS listener).
func TestRunningSchemeFollowsTLS(t *testing.T) {
	d := newDaemon(t, "")
	d.cfg.API.TLS.Cert = "auto"
	if r := d.start(); r.Scheme != "https" {
		t.Errorf("scheme with api.tls.cert auto: %q, want https", r.Scheme)
	}
	d2 := newDaemon(t, "")
	if r := d2.start(); r.Scheme != "http" {
		t.Errorf("scheme without TLS: %q, want http", r.Scheme)
	}
}
