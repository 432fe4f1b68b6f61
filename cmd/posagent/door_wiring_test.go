package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
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
