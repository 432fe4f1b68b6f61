package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
)

func errMsg(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["message"].(string)
	return c
}

func TestAPIErrors(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, testOptions())
	_, m := a.call("POST", "/v1/payments", map[string]any{"amount": 100, "mode": "scan"})
	waiting := decodePayment(t, m)
	_, m = a.call("POST", "/v1/payments", map[string]any{"amount": 100, "mode": "scan", "auth_code": wechatCode(1)})
	done := a.waitFinal(decodePayment(t, m).ID)

	cases := []struct {
		name, method, path string
		body               any
		status             int
		code               string
		msgHas             string
	}{
		{"malformed JSON", "POST", "/v1/payments", `{"amount":`, 400, "invalid_json", "truncated"},
		{"not JSON", "POST", "/v1/payments", `amount=5`, 400, "invalid_json", "not valid JSON"},
		{"empty body", "POST", "/v1/payments", ``, 400, "invalid_json", "empty"},
		{"trailing data", "POST", "/v1/payments", `{"amount":1,"mode":"scan"} {}`, 400, "invalid_json", "after the JSON"},
		{"float amount", "POST", "/v1/payments", `{"amount":12.5,"mode":"scan"}`, 400, "invalid_amount", "amount must be an integer"},
		{"string amount", "POST", "/v1/payments", `{"amount":"1250","mode":"scan"}`, 400, "invalid_amount", "amount"},
		{"zero amount", "POST", "/v1/payments", `{"amount":0,"mode":"scan"}`, 400, "invalid_amount", "positive"},
		{"negative amount", "POST", "/v1/payments", `{"amount":-5,"mode":"scan"}`, 400, "invalid_amount", "positive"},
		{"huge amount", "POST", "/v1/payments", `{"amount":10000000000,"mode":"scan"}`, 400, "invalid_amount", "more than"},
		{"missing amount", "POST", "/v1/payments", `{"mode":"scan"}`, 400, "invalid_amount", "positive"},
		{"unknown field", "POST", "/v1/payments", `{"amount":100,"mode":"scan","gratuity":5}`, 400, "unknown_field", `"gratuity"`},
		{"wrong currency", "POST", "/v1/payments", `{"amount":100,"mode":"scan","currency":"USD"}`, 400, "currency_mismatch", "CAD"},
		{"no mode", "POST", "/v1/payments", `{"amount":100}`, 400, "invalid_mode", "scan or qr"},
		{"bad mode", "POST", "/v1/payments", `{"amount":100,"mode":"nfc"}`, 400, "invalid_mode", "nfc"},
		{"qr without wallet", "POST", "/v1/payments", `{"amount":100,"mode":"qr"}`, 400, "invalid_wallet", "wechat, alipay or unionpay"},
		{"qr unknown wallet", "POST", "/v1/payments", `{"amount":100,"mode":"qr","wallet":"paypal"}`, 400, "invalid_wallet", "wechat, alipay or unionpay"},
		{"not a payment code", "POST", "/v1/payments", `{"amount":100,"mode":"scan","auth_code":"4006381333931"}`, 400, "invalid_code", "not a WeChat"},
		{"oversized body", "POST", "/v1/payments", `{"reference":"` + strings.Repeat("x", MaxBody) + `"}`, 413, "body_too_large", "64"},
		{"unknown payment", "GET", "/v1/payments/pay_nope", nil, 404, "not_found", "pay_nope"},
		{"unknown route", "GET", "/v1/nothing", nil, 404, "not_found", "/v1/nothing"},
		{"code for a final payment", "POST", "/v1/payments/" + done.ID + "/code", `{"code":"` + wechatCode(2) + `"}`, 422, "invalid_state", "not awaiting_code"},
		{"code missing", "POST", "/v1/payments/" + waiting.ID + "/code", `{}`, 400, "invalid_code", "required"},
		{"barcode as code", "POST", "/v1/payments/" + waiting.ID + "/code", `{"code":"4006381333931"}`, 400, "invalid_code", "not a WeChat"},
		{"cancel a final payment", "POST", "/v1/payments/" + done.ID + "/cancel", nil, 422, "invalid_state", "already"},
		{"refund a waiting payment", "POST", "/v1/payments/" + waiting.ID + "/refunds", `{"amount":1}`, 422, "invalid_state", "only a succeeded"},
		{"refund zero", "POST", "/v1/payments/" + done.ID + "/refunds", `{"amount":0}`, 400, "invalid_amount", "positive"},
		{"refund float", "POST", "/v1/payments/" + done.ID + "/refunds", `{"amount":1.5}`, 400, "invalid_amount", "amount"},
		{"refund unknown payment", "POST", "/v1/payments/pay_nope/refunds", `{"amount":1}`, 404, "not_found", "pay_nope"},
		{"bad list limit", "GET", "/v1/payments?limit=0", nil, 400, "invalid_limit", "1 to 500"},
		{"bad list state", "GET", "/v1/payments?state=paid", nil, 400, "invalid_state_filter", "paid"},
		{"bad export format", "GET", "/v1/export?format=xml", nil, 400, "invalid_format", "csv or json"},
		{"bad export since", "GET", "/v1/export?since=yesterday", nil, 400, "invalid_since", "RFC 3339"},
		{"bad cart", "PUT", "/v1/cart", `{"amount":-1}`, 400, "invalid_amount", "positive"},
		{"bad events cursor", "GET", "/v1/events?after=x", nil, 400, "invalid_cursor", "sequence"},
		{"reprint without printer", "POST", "/v1/payments/" + done.ID + "/receipt", nil, 422, "no_printer", "printer"},
		{"empty scan", "POST", "/v1/scans", `{"code":" "}`, 400, "invalid_code", "required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, m := a.call(c.method, c.path, c.body)
			if status != c.status || errCode(m) != c.code || !strings.Contains(errMsg(m), c.msgHas) {
				t.Errorf("%s %s: %d %q %q, want %d %s (message with %q)", c.method, c.path, status, errCode(m), errMsg(m), c.status, c.code, c.msgHas)
			}
		})
	}
	// None of the refused requests created a payment or reached the gateway.
	status, m := a.call("GET", "/v1/payments", nil)
	if n := len(m["payments"].([]any)); status != 200 || n != 2 {
		t.Errorf("payments after refused requests: %d", n)
	}
	if n := len(sim.sim.Ledger()); n != 1 {
		t.Errorf("the simulator saw %d orders, want 1", n)
	}
}

func TestAPIToken(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	o := testOptions()
	o.APIToken = "s3cret-token-for-tests"
	a := startAgent(t, "", gw, o)
	for _, hdr := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "s3cret-token-for-tests"}, {"Authorization", "Bearer s3cret-token-for-test"}} {
		a.Token = ""
		status, m := a.call("GET", "/v1/status", nil, hdr...)
		if status != 401 || errCode(m) != "unauthorized" {
			t.Errorf("header %v: %d %v", hdr, status, m)
		}
		if strings.Contains(fmt.Sprint(m), "s3cret") {
			t.Error("the token leaks into the error")
		}
	}
	a.Token = o.APIToken
	if status, _ := a.call("GET", "/v1/status", nil); status != 200 {
		t.Errorf("with the token: %d", status)
	}
	// ?token= opens only the display's GETs and the event stream (a kiosk
	// browser cannot set headers), never the rest of the API.
	a.Token = ""
	for _, c := range []struct {
		path string
		want int
	}{
		{"/v1/status?token=s3cret-token-for-tests", 401},
		{"/v1/payments?token=s3cret-token-for-tests", 401},
		{"/v1/events?token=wrong", 401},
		// The master token never opens anything from a URL: a kiosk's
		// address could then refund. Only a display token may (below).
		{"/display?token=s3cret-token-for-tests", 401},
	} {
		if status, _ := a.raw("GET", c.path, nil); status != c.want {
			t.Errorf("GET %s: %d, want %d", c.path, status, c.want)
		}
	}
	if status, _ := a.raw("POST", "/v1/payments?token=s3cret-token-for-tests", `{"amount":100,"mode":"scan"}`); status != 401 {
		t.Errorf("POST with ?token=: %d, want 401", status)
	}
}

// TestDisplayTokenInURL: the display token opens the display's GETs from a
// URL (a kiosk cannot set headers), and nothing else.
func TestDisplayTokenInURL(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	o := testOptions()
	o.Access.Tokens = map[Role]string{RoleDisplay: "display-token-0123456789", RolePOS: "pos-token-0123456789"}
	a := startAgent(t, "", gw, o)
	for _, c := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/display?token=display-token-0123456789", 404}, // authorised; nothing mounted here
		{"GET", "/v1/cart?token=display-token-0123456789", 200},
		{"GET", "/v1/events?token=display-token-0123456789&after=999999", 400},
		{"GET", "/v1/payments?token=display-token-0123456789", 401},
		{"GET", "/display?token=pos-token-0123456789", 401}, // only the display's token goes in a URL
		{"POST", "/v1/payments?token=display-token-0123456789", 401},
	} {
		if status, body := a.raw(c.method, c.path, `{"amount":100,"mode":"scan"}`); status != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, status, body, c.want)
		}
	}
}

func TestCheckListen(t *testing.T) {
	cases := []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:7420", "", true},
		{"localhost:7420", "", true},
		{"[::1]:7420", "", true},
		{"0.0.0.0:7420", "", false},
		{":7420", "", false},
		{"192.168.1.20:7420", "", false},
		{"192.168.1.20:7420", "tok", true},
		{"pos.local:7420", "", false},
		{"7420", "", false},
	}
	for _, c := range cases {
		err := CheckListen(c.addr, c.token)
		if (err == nil) != c.ok {
			t.Errorf("CheckListen(%q, %q) = %v", c.addr, c.token, err)
		}
		if err != nil && !strings.Contains(err.Error(), c.addr) {
			t.Errorf("error %q does not name the address", err)
		}
	}
}

// readSSE reads n events from an SSE stream.
func readSSE(t *testing.T, a *agentEnv, query string, hdr []string, n int) []agent.Event {
	t.Helper()
	req, _ := http.NewRequest("GET", a.srv.URL+"/v1/events"+query, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := a.HC.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var out []agent.Event
	sc := bufio.NewScanner(resp.Body)
	var id uint64
	var kind string
	for len(out) < n && sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			id, _ = strconv.ParseUint(line[4:], 10, 64)
		case strings.HasPrefix(line, "event: "):
			kind = line[7:]
		case strings.HasPrefix(line, "data: "):
			var ev agent.Event
			err := json.Unmarshal([]byte(line[6:]), &ev)
			if err != nil || ev.Seq != id || ev.Kind != kind {
				t.Fatalf("bad frame id=%d event=%s data=%s", id, kind, line[6:])
			}
			out = append(out, ev)
		}
	}
	return out
}

func TestEventsSSEReplayAndLive(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, testOptions())
	_, m := a.call("POST", "/v1/payments", map[string]any{"amount": 900, "mode": "scan", "auth_code": wechatCode(9)})
	p := a.waitFinal(decodePayment(t, m).ID)
	evs := readSSE(t, a, "?after=0", nil, 2)
	if evs[0].Seq != 1 || evs[0].Kind != agent.KindPaymentUpdated || evs[0].Payment.State != agent.Processing ||
		evs[1].Payment.State != agent.Succeeded || evs[1].Payment.ID != p.ID {
		t.Fatalf("replay: %+v", evs[:2])
	}
	_ = evs
	// Last-Event-ID resumes after the given seq; live events follow the replay.
	go func() {
		time.Sleep(50 * time.Millisecond)
		a.e.Intake().HandleScan(context.Background(), agent.Scan{Code: "4006381333931", Device: "counter"})
	}()
	evs = readSSE(t, a, "", []string{"Last-Event-ID", "1"}, 2)
	// Seq 3 is the audit entry of the POST: journaled, but not streamed.
	if evs[0].Seq != 2 || evs[1].Kind != agent.KindScanBarcode || evs[1].Scan.Code != "4006381333931" || evs[1].Seq != 4 {
		t.Fatalf("resume: %+v", evs)
	}
}

func TestStatusMetricsListExport(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	o := testOptions()
	o.Version = "v1.2.3-test"
	a := startAgent(t, "", gw, o)
	var ids []string
	for i, cents := range []int64{1000, 1001, 1000} {
		_, m := a.call("POST", "/v1/payments", map[string]any{"amount": cents, "mode": "scan", "auth_code": wechatCode(20 + i), "reference": fmt.Sprintf("INV-%d", i)})
		ids = append(ids, a.waitFinal(decodePayment(t, m).ID).ID)
	}
	status, m := a.call("GET", "/v1/status", nil)
	if status != 200 || m["version"] != "v1.2.3-test" || m["gateway"].(map[string]any)["reachable"] != true ||
		m["journal"].(map[string]any)["path"] != a.path || m["journal"].(map[string]any)["size_bytes"].(float64) <= 0 {
		t.Errorf("status %v", m)
	}
	// List: newest first, cursor, state filter.
	_, m = a.call("GET", "/v1/payments?limit=2", nil)
	page := m["payments"].([]any)
	if len(page) != 2 || page[0].(map[string]any)["id"] != ids[2] || page[1].(map[string]any)["id"] != ids[1] || m["next_after"] != ids[1] {
		t.Fatalf("page 1: %v next %v", page, m["next_after"])
	}
	_, m = a.call("GET", "/v1/payments?limit=2&after="+ids[1], nil)
	if page = m["payments"].([]any); len(page) != 1 || page[0].(map[string]any)["id"] != ids[0] || m["next_after"] != nil {
		t.Fatalf("page 2: %v", m)
	}
	_, m = a.call("GET", "/v1/payments?state=failed", nil)
	if page = m["payments"].([]any); len(page) != 1 || page[0].(map[string]any)["id"] != ids[1] {
		t.Fatalf("state filter: %v", m)
	}
	// Metrics.
	_, raw := a.raw("GET", "/metrics", nil)
	for _, want := range []string{
		`posagent_payments{state="succeeded"} 2`,
		`posagent_payments{state="failed"} 1`,
		`posagent_gateway_request_duration_seconds_count{action="scan"} 3`,
		`posagent_gateway_errors_total{action="scan",outcome="failed"} 1`,
		`posagent_outbox_depth 0`,
		`posagent_gateway_reachable 1`,
		"# TYPE posagent_gateway_request_duration_seconds histogram",
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("metrics lack %q:\n%s", want, raw)
		}
	}
	// Export.
	status, raw = a.raw("GET", "/v1/export?format=csv&since=2000-01-01", nil)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if status != 200 || len(lines) != 4 || !strings.HasPrefix(lines[0], "id,order_id,reference") || !strings.Contains(lines[1], `,INV-0,`) {
		t.Errorf("csv export: %d\n%s", status, raw)
	}
	_, m = a.call("GET", "/v1/export?since="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339), nil)
	if len(m["payments"].([]any)) != 0 {
		t.Errorf("export since the future: %v", m)
	}
	if status, m := a.call("GET", "/healthz", nil); status != 200 || m["ok"] != true {
		t.Errorf("healthz %d %v", status, m)
	}
}

func TestMountBehindAuth(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	o := testOptions()
	o.APIToken = "tok-123456789"
	o.Mount = map[string]http.Handler{"/display/": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("display")) })}
	a := startAgent(t, "", gw, o)
	if status, body := a.raw("GET", "/display/", nil); status != 200 || string(body) != "display" {
		t.Errorf("mounted: %d %q", status, body)
	}
	a.Token = ""
	if status, _ := a.raw("GET", "/display/", nil); status != 401 {
		t.Errorf("mounted without token: %d", status)
	}
}

func TestSSEPing(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, testOptions()) // ping every 15 s, scaled
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", a.srv.URL+"/v1/events", nil)
	resp, err := a.HC.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if sc.Text() == ": ping" {
			return
		}
	}
	t.Fatal("no ping comment on an idle stream")
}

// When Run ends, open event streams end, so the HTTP server can shut down.
func TestSSEEndsWhenEngineStops(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, testOptions())
	resp, err := a.HC.Get(a.srv.URL + "/v1/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a.cancel()
	done := make(chan struct{})
	go func() { io.Copy(io.Discard, resp.Body); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second): // hang guard
		t.Fatal("the event stream outlived the engine")
	}
}

func TestCSVSafe(t *testing.T) {
	cases := map[string]string{"INV-1": "INV-1", "=HYPERLINK(1)": "'=HYPERLINK(1)", "+1": "'+1", "-5": "'-5", "@x": "'@x", "": ""}
	for in, want := range cases {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}
