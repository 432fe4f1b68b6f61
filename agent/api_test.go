package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/paycode"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/scanner"
	"github.com/posagent/posagent/store"
)

func errCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

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
		a.token = ""
		status, m := a.call("GET", "/v1/status", nil, hdr...)
		if status != 401 || errCode(m) != "unauthorized" {
			t.Errorf("header %v: %d %v", hdr, status, m)
		}
		if strings.Contains(fmt.Sprint(m), "s3cret") {
			t.Error("the token leaks into the error")
		}
	}
	a.token = o.APIToken
	if status, _ := a.call("GET", "/v1/status", nil); status != 200 {
		t.Errorf("with the token: %d", status)
	}
	// ?token= opens only the display's GETs and the event stream (a kiosk
	// browser cannot set headers), never the rest of the API.
	a.token = ""
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

func TestIdempotency(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	path := filepath.Join(t.TempDir(), "posagent.db")
	a := startAgent(t, path, gw, testOptions())
	body := map[string]any{"amount": 1500, "mode": "scan", "auth_code": wechatCode(7)}
	s1, m1 := a.call("POST", "/v1/payments", body, "Idempotency-Key", "k-1")
	s2, m2 := a.call("POST", "/v1/payments", body, "Idempotency-Key", "k-1")
	if s1 != 201 || s2 != 201 || m1["id"] != m2["id"] {
		t.Fatalf("same key twice: %d %v / %d %v", s1, m1["id"], s2, m2["id"])
	}
	s3, m3 := a.call("POST", "/v1/payments", map[string]any{"amount": 1501, "mode": "scan", "auth_code": wechatCode(7)}, "Idempotency-Key", "k-1")
	if s3 != 409 || errCode(m3) != "idempotency_conflict" {
		t.Fatalf("same key, other body: %d %v", s3, m3)
	}
	id := m1["id"].(string)
	p := a.waitFinal(id)
	// Concurrent retries of one refund with one key: one refund.
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.call("POST", "/v1/payments/"+id+"/refunds", map[string]any{"amount": 100}, "Idempotency-Key", "r-1")
		}()
	}
	wg.Wait()
	// Restart on the same journal: the keys survive.
	a.stop()
	a = startAgent(t, path, gw, testOptions())
	s4, m4 := a.call("POST", "/v1/payments", body, "Idempotency-Key", "k-1")
	if s4 != 201 || m4["id"] != id {
		t.Fatalf("after restart: %d %v", s4, m4)
	}
	s5, m5 := a.call("POST", "/v1/payments/"+id+"/refunds", map[string]any{"amount": 100}, "Idempotency-Key", "r-1")
	if s5 != 201 {
		t.Fatalf("refund replay after restart: %d %v", s5, m5)
	}
	p = a.waitFinal(id)
	if len(p.Refunds) != 1 || p.Refunded != 100 {
		t.Fatalf("refunds after 6 retries of one key: %+v", p.Refunds)
	}
	s6, m6 := a.call("POST", "/v1/payments/"+id+"/refunds", map[string]any{"amount": 200}, "Idempotency-Key", "r-1")
	if s6 != 409 {
		t.Fatalf("refund key with another amount: %d %v", s6, m6)
	}
	var orders int
	for _, o := range sim.sim.Ledger() {
		if o.Amount == 1500 {
			orders++
			if o.Charged != 1500 || o.Refunded != 100 {
				t.Errorf("ledger %+v", o)
			}
		}
	}
	if orders != 1 {
		t.Errorf("%d orders of 1500 at the simulator, want exactly 1", orders)
	}
}

// recordingPrinter is a ReceiptPrinter that fails while broken is set.
type recordingPrinter struct {
	mu       sync.Mutex
	broken   bool
	attempts int
	printed  []printer.Receipt
}

func (p *recordingPrinter) PrintReceipt(ctx context.Context, r printer.Receipt) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.attempts++
	if p.broken {
		return errors.New("printer: out of paper")
	}
	p.printed = append(p.printed, r)
	return nil
}

func (p *recordingPrinter) snapshot() (int, []printer.Receipt, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.attempts, append([]printer.Receipt(nil), p.printed...), p.broken
}

func TestReceiptsNeverBlockPayments(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	pr := &recordingPrinter{broken: true}
	o := testOptions()
	o.Printer, o.AutoPrint = pr, true
	o.RenderReceipt = func(r printer.Receipt) ([]byte, error) { return []byte("\x89PNG " + r.OrderID), nil }
	a := startAgent(t, "", gw, o)
	_, m := a.call("POST", "/v1/payments", map[string]any{"amount": 800, "mode": "scan", "auth_code": alipayCode(8), "reference": "INV-8"})
	p := a.waitFinal(decodePayment(t, m).ID)
	if p.State != Succeeded {
		t.Fatalf("with a broken printer the payment is %s", p.State)
	}
	// The printer keeps failing: the job is retried.
	for {
		n, _, _ := pr.snapshot()
		if n >= 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := a.e.Status(); st.Outbox.ByKind["receipt"] != 1 || !strings.Contains(st.Outbox.LastError, "out of paper") {
		t.Errorf("status while the printer is broken: %+v", st.Outbox)
	}
	pr.mu.Lock()
	pr.broken = false
	pr.mu.Unlock()
	a.call("POST", "/v1/sync", nil)
	for {
		if _, printed, _ := pr.snapshot(); len(printed) == 1 {
			r := printed[0]
			if r.OrderID != p.OrderID || r.Amount != 800 || r.State != "succeeded" || r.Merchant != "Maple Tea House" || r.CodeMasked != p.AuthCodeMasked || r.Reprint {
				t.Errorf("receipt %+v", r)
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if status, _ := a.call("POST", "/v1/payments/"+p.ID+"/receipt", nil); status != 202 {
		t.Fatalf("reprint: %d", status)
	}
	for {
		if _, printed, _ := pr.snapshot(); len(printed) == 2 {
			if !printed[1].Reprint {
				t.Error("reprint not marked")
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	status, png := a.raw("GET", "/v1/payments/"+p.ID+"/receipt.png", nil)
	if status != 200 || string(png) != "\x89PNG "+p.OrderID {
		t.Errorf("receipt.png: %d %q", status, png)
	}
}

// readSSE reads n events from an SSE stream.
func readSSE(t *testing.T, a *agentEnv, query string, hdr []string, n int) []Event {
	t.Helper()
	req, _ := http.NewRequest("GET", a.srv.URL+"/v1/events"+query, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := a.hc.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var out []Event
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
			ev, ok := decodeEvent(storeEvent(id, []byte(line[6:])))
			if !ok || ev.Seq != id || ev.Kind != kind {
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
	if evs[0].Seq != 1 || evs[0].Kind != KindPaymentUpdated || evs[0].Payment.State != Processing ||
		evs[1].Payment.State != Succeeded || evs[1].Payment.ID != p.ID {
		t.Fatalf("replay: %+v", evs[:2])
	}
	_ = evs
	// Last-Event-ID resumes after the given seq; live events follow the replay.
	go func() {
		time.Sleep(50 * time.Millisecond)
		a.e.HandleScan(context.Background(), scanner.Scan{Code: "4006381333931", Device: "counter"})
	}()
	evs = readSSE(t, a, "", []string{"Last-Event-ID", "1"}, 2)
	// Seq 3 is the audit entry of the POST: journaled, but not streamed.
	if evs[0].Seq != 2 || evs[1].Kind != KindScanBarcode || evs[1].Scan.Code != "4006381333931" || evs[1].Seq != 4 {
		t.Fatalf("resume: %+v", evs)
	}
}

func TestSubscribeNoGapNoDuplicate(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, testOptions())
	const total = 300
	var wg sync.WaitGroup
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < total/3; i++ {
				a.e.SetDevice(DeviceStatus{Kind: "scanner", Name: fmt.Sprintf("s%d", w), State: fmt.Sprintf("n%d", i)})
			}
		}()
	}
	// Subscribers join while events are being written.
	var subs sync.WaitGroup
	for s := 0; s < 4; s++ {
		subs.Add(1)
		go func() {
			defer subs.Done()
			time.Sleep(time.Duration(s) * 5 * time.Millisecond)
			ch, stop := a.e.Subscribe(0)
			defer stop()
			next := uint64(1)
			for ev := range ch {
				if ev.Seq != next {
					t.Errorf("subscriber %d: got seq %d, want %d", s, ev.Seq, next)
					return
				}
				if next == total {
					return
				}
				next++
			}
		}()
	}
	wg.Wait()
	subs.Wait()
}

func TestScanRouting(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	o := testOptions()
	o.ScanAutoStart = true
	a := startAgent(t, "", gw, o)
	ctx := context.Background()
	a.e.SetDevice(DeviceStatus{Kind: "scanner", Name: "counter", State: "connected"})
	a.e.SetDevice(DeviceStatus{Kind: "scanner", Name: "counter", State: "connected"}) // no change: no event
	ch, stop := a.e.Subscribe(0)
	defer stop()
	next := func() Event {
		t.Helper()
		select {
		case ev := <-ch:
			return ev
		case <-time.After(30 * time.Second):
			t.Fatal("no event")
		}
		return Event{}
	}
	if ev := next(); ev.Kind != KindDeviceChanged || ev.Device.Name != "counter" {
		t.Fatalf("device event %+v", ev)
	}

	// A payment code with nothing waiting and no cart: ignored, masked, not charged.
	code := wechatCode(11)
	if err := a.e.HandleScan(ctx, scanner.Scan{Code: code, Device: "counter"}); err != nil {
		t.Fatal(err)
	}
	if ev := next(); ev.Kind != KindScanIgnored || ev.Scan.Code != paycode.Mask(code) || strings.Contains(string(ev.Data), code) {
		t.Fatalf("ignored event %+v %s", ev, ev.Data)
	}
	// A barcode goes to the POS.
	a.e.HandleScan(ctx, scanner.Scan{Code: "4006381333931", Symbology: "]E0", Device: "counter"})
	if ev := next(); ev.Kind != KindScanBarcode || ev.Scan.Symbology != "]E0" {
		t.Fatalf("barcode event %+v", ev)
	}
	// One payment waits for a code at a time: a second is refused (409,
	// naming the first) unless it replaces it; the code goes to the one that
	// waits (the one the display shows); a duplicate read within the window
	// is one scan.
	_, m := a.call("POST", "/v1/payments", map[string]any{"amount": 1000, "mode": "scan"})
	first := decodePayment(t, m)
	status, m := a.call("POST", "/v1/payments", map[string]any{"amount": 1100, "mode": "scan"})
	if status != 409 || errCode(m) != "payment_waiting" || !strings.Contains(m["error"].(map[string]any)["message"].(string), first.ID) {
		t.Fatalf("second waiting payment: %d %v", status, m)
	}
	_, m = a.call("POST", "/v1/payments", map[string]any{"amount": 1100, "mode": "scan", "replace": true})
	second := decodePayment(t, m)
	if p := a.payment(first.ID); p.State != Cancelled || p.Error == nil || p.Error.Code != "replaced" {
		t.Fatalf("replaced payment: %s %+v", p.State, p.Error)
	}
	code2 := alipayCode(12)
	a.e.HandleScan(ctx, scanner.Scan{Code: code2, Device: "counter"})
	a.e.HandleScan(ctx, scanner.Scan{Code: code2, Device: "counter"})
	p2 := a.waitFinal(second.ID)
	if p2.State != Succeeded || p2.Wallet != "alipay" || p2.Amount != 1100 {
		t.Fatalf("waiting payment: %s %s %d", p2.State, p2.Wallet, p2.Amount)
	}
	// Cart + auto start: a code starts a payment for the amount due.
	if status, m := a.call("PUT", "/v1/cart", map[string]any{"amount": 1250, "reference": "T-9"}); status != 200 || m["amount"] != float64(1250) {
		t.Fatalf("cart: %d %v", status, m)
	}
	if status, _ := a.call("POST", "/v1/scans", map[string]any{"code": wechatCode(13)}); status != 202 {
		t.Fatal("scan")
	}
	_, m = a.call("GET", "/v1/payments?limit=1", nil)
	latest := decodePayment(t, m["payments"].([]any)[0].(map[string]any))
	latest = a.waitFinal(latest.ID)
	if latest.Amount != 1250 || latest.Reference != "T-9" || latest.State != Succeeded {
		t.Fatalf("auto-started payment %+v", latest)
	}
	if a.e.CurrentCart() != nil {
		t.Error("the cart was not cleared by the payment it started")
	}
	charged := 0
	for _, o := range sim.sim.Ledger() {
		if o.Charged > 0 {
			charged++
		}
	}
	if charged != 2 {
		t.Errorf("%d charged orders, want 2", charged)
	}
	if st := a.e.Status(); len(st.Devices) != 1 || st.Devices[0].LastScanAt.IsZero() {
		t.Errorf("devices %+v", st.Devices)
	}
}

func TestCancelAwaitingCode(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, testOptions())
	_, m := a.call("POST", "/v1/payments", map[string]any{"amount": 1000, "mode": "scan", "reference": "R1"})
	p := decodePayment(t, m)
	if p.State != AwaitingCode || p.Wallet != "" || p.Error != nil {
		t.Fatalf("created %+v", p)
	}
	status, m := a.call("POST", "/v1/payments/"+p.ID+"/cancel", nil)
	if status != 200 || decodePayment(t, m).State != Cancelled {
		t.Fatalf("cancel: %d %v", status, m)
	}
	if status, m := a.call("POST", "/v1/payments/"+p.ID+"/code", map[string]any{"code": wechatCode(3)}); status != 422 {
		t.Fatalf("code after cancel: %d %v", status, m)
	}
	if len(sim.sim.Ledger()) != 0 {
		t.Error("a cancelled payment reached the gateway")
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
	a.token = ""
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
	resp, err := a.hc.Do(req)
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
	resp, err := a.hc.Get(a.srv.URL + "/v1/events")
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

type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Payment codes appear only masked in logs, events and API answers.
func TestCodesMaskedInLogsAndEvents(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	var logs syncBuf
	o := testOptions()
	o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a := startAgent(t, "", gw, o)
	var codes []string
	for i, cents := range []int64{1000, 1001, 1004, 1003} {
		code := wechatCode(300 + i)
		codes = append(codes, code)
		_, m := a.call("POST", "/v1/payments", map[string]any{"amount": cents, "mode": "scan", "auth_code": code})
		a.waitFinal(decodePayment(t, m).ID)
	}
	ignored := alipayCode(399)
	codes = append(codes, ignored)
	a.e.HandleScan(context.Background(), scanner.Scan{Code: ignored, Device: "counter"})
	a.e.HandleScan(context.Background(), scanner.Scan{Code: ignored, Device: "counter"}) // duplicate (debug log)
	_, events := a.raw("GET", "/v1/export?format=json", nil)
	var all strings.Builder
	all.WriteString(logs.String())
	all.Write(events)
	a.st.View(func(tx *store.Tx) error {
		evs, _ := tx.Events(0, 0, 0)
		for _, e := range evs {
			all.Write(e.Data)
		}
		return nil
	})
	if !strings.Contains(logs.String(), paycode.Mask(codes[0])) {
		t.Error("the logs do not mention the masked code at all (is logging wired?)")
	}
	for _, c := range codes {
		if strings.Contains(all.String(), c) {
			t.Errorf("payment code %s appears unmasked", paycode.Mask(c))
		}
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
