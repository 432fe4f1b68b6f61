package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/posagent/posagent/internal/displaytest"
)

// apiJSON does one request against the daemon and decodes the answer.
func apiJSON(t *testing.T, method, url string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if method == "POST" {
		req.Header.Set("Idempotency-Key", newIdempotencyKey())
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, url, err, data)
		}
	}
	return resp.StatusCode
}

// waitFor polls cond every 20 ms for up to 15 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type simOrder struct {
	OrderID  string `json:"order_id"`
	Amount   int64  `json:"amount"`
	Charged  int64  `json:"charged"`
	Refunded int64  `json:"refunded"`
	Status   string `json:"status"`
}

func simLedger(t *testing.T, simURL string) []simOrder {
	t.Helper()
	var l struct {
		Orders []simOrder `json:"orders"`
	}
	apiJSON(t, "GET", simURL+"/_sim/ledger", nil, &l)
	return l.Orders
}

func scannerState(t *testing.T, api, name string) string {
	var st struct {
		Devices []struct {
			Kind, Name, State string
		} `json:"devices"`
	}
	apiJSON(t, "GET", "http://"+api+"/v1/status", nil, &st)
	for _, d := range st.Devices {
		if d.Kind == "scanner" && d.Name == name {
			return d.State
		}
	}
	return ""
}

// newPty makes a pseudo-terminal pair and points link at its device end, as
// a USB-serial scanner's /dev/serial/by-id link points at its tty.
func newPty(t *testing.T, link string) (master, slave *os.File) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(link)
	if err := os.Symlink(s.Name(), link); err != nil {
		t.Fatal(err)
	}
	return m, s
}

// TestSerialScannerPays drives the daemon through a serial scanner on a real
// pseudo-terminal: bytes written to one end become a succeeded payment
// (checked in the simulator's ledger); the same code again inside the dedup
// window is not charged twice; a product barcode is reported to the POS and
// never reaches the gateway; the scanner unplugged and plugged back in is
// reconnected without restarting the agent.
func TestSerialScannerPays(t *testing.T) {
	link := filepath.Join(t.TempDir(), "scanner")
	m, s := newPty(t, link)
	d := newDaemon(t, fmt.Sprintf("scanners:\n  - name: counter\n    kind: serial\n    device: %s\n    baud: 9600\n    dedup_window: 10s\n", link))
	r := d.start()
	api := "http://" + r.API
	waitFor(t, "the scanner to connect", func() bool { return scannerState(t, r.API, "counter") == "connected" })

	// The event stream, to see what the POS sees.
	events := make(chan string, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", api+"/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "event: ") {
				events <- strings.TrimPrefix(sc.Text(), "event: ")
			}
		}
	}()
	waitEvent := func(kind string) {
		t.Helper()
		timeout := time.After(15 * time.Second)
		for {
			select {
			case k := <-events:
				if k == kind {
					return
				}
			case <-timeout:
				t.Fatalf("no %s event", kind)
			}
		}
	}

	newPayment := func(amount int64) string {
		var p payment
		if code := apiJSON(t, "POST", api+"/v1/payments", map[string]any{"amount": amount, "mode": "scan"}, &p); code != 201 || p.State != "awaiting_code" {
			t.Fatalf("create: HTTP %d, state %q", code, p.State)
		}
		return p.ID
	}
	state := func(id string) string {
		var p payment
		apiJSON(t, "GET", api+"/v1/payments/"+id, nil, &p)
		return string(p.State)
	}

	// 1. A WeChat code, in odd chunks as a 9600-baud line delivers it.
	p1 := newPayment(1250)
	for _, chunk := range []string{"1345", "67890123", "456789\r", "\n"} {
		if _, err := m.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitFor(t, "payment 1 to succeed", func() bool { return state(p1) == "succeeded" })

	// 2. The same code again at once: one scan, not a second charge.
	p2 := newPayment(700)
	if _, err := m.Write([]byte("134567890123456789\r\n")); err != nil {
		t.Fatal(err)
	}
	// 3. A product barcode: an event for the POS, nothing for the gateway.
	if _, err := m.Write([]byte("4006381333931\r\n")); err != nil {
		t.Fatal(err)
	}
	waitEvent("scan.barcode")
	if st := state(p2); st != "awaiting_code" {
		t.Fatalf("payment 2 is %s after a duplicate scan and a product barcode; want awaiting_code", st)
	}
	orders := simLedger(t, r.SimURL)
	if len(orders) != 1 || orders[0].Charged != 1250 {
		t.Fatalf("ledger after one payment, a duplicate and a barcode: %+v; want one order charged 1250", orders)
	}

	// 4. Unplug: the pty goes away and the link dangles; the agent notices.
	m.Close()
	s.Close()
	_ = os.Remove(link)
	waitFor(t, "the scanner to be reported gone", func() bool { st := scannerState(t, r.API, "counter"); return st != "connected" && st != "" })

	// 5. Plug back in (a new tty behind the same link): reconnected, and a
	// new code pays payment 2.
	m2, s2 := newPty(t, link)
	defer m2.Close()
	defer s2.Close()
	waitFor(t, "the scanner to reconnect", func() bool { return scannerState(t, r.API, "counter") == "connected" })
	if _, err := m2.Write([]byte("284567890123456789\r")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "payment 2 to succeed", func() bool { return state(p2) == "succeeded" })
	orders = simLedger(t, r.SimURL)
	var total int64
	for _, o := range orders {
		total += o.Charged
		if o.Charged != o.Amount {
			t.Errorf("order %s charged %d of %d", o.OrderID, o.Charged, o.Amount)
		}
	}
	if len(orders) != 2 || total != 1950 {
		t.Fatalf("ledger: %+v; want two orders, 19.50 in all", orders)
	}
}

// TestDisplayFollowsPayments opens the customer display of the real daemon in
// headless Chromium: a qr payment shows its QR (the screenshot decodes to
// exactly the payment's code_url) and amount; the simulated customer pays
// and the page turns to "paid" without a reload; the agent restarts and the
// page reconnects on its own.
func TestDisplayFollowsPayments(t *testing.T) {
	bctx := displaytest.StartBrowser(t)
	// The QR stays up for 3 minutes of compressed time (about 18 s): a
	// busy CI machine can be slow to screenshot and decode it.
	d := newDaemon(t, "merchant:\n  name: Maple Tea House\nagent:\n  time_scale: 0.1\n")
	r := d.start()
	api := "http://" + r.API
	if err := displaytest.Open(bctx, api+"/display"); err != nil {
		t.Fatal(err)
	}
	if err := displaytest.WaitConnected(bctx, true); err != nil {
		t.Fatal(err)
	}
	loadedAt, err := displaytest.Eval[float64](bctx, "window.POS.loadedAt")
	if err != nil {
		t.Fatal(err)
	}

	var p payment
	if code := apiJSON(t, "POST", api+"/v1/payments", map[string]any{"amount": 1234, "mode": "qr", "wallet": "wechat"}, &p); code != 201 {
		t.Fatalf("create qr payment: HTTP %d", code)
	}
	waitFor(t, "code_url", func() bool { apiJSON(t, "GET", api+"/v1/payments/"+p.ID, nil, &p); return p.CodeURL != "" })
	if err := displaytest.WaitScreen(bctx, "qr"); err != nil {
		t.Fatal(err)
	}
	if err := displaytest.WaitQRLoaded(bctx); err != nil {
		t.Fatal(err)
	}
	amount, err := displaytest.Text(bctx, "amount")
	if err != nil || !strings.Contains(amount, "12.34") {
		t.Fatalf("amount on screen = %q, %v; want 12.34", amount, err)
	}
	got, err := displaytest.DecodeQRScreenshot(bctx)
	if err != nil {
		t.Fatal(err)
	}
	if got != p.CodeURL {
		t.Fatalf("QR on screen decodes to %q; want the payment's code_url %q", got, p.CodeURL)
	}

	// The customer pays.
	resp, err := http.Get(p.CodeURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := displaytest.WaitScreen(bctx, "paid"); err != nil {
		t.Fatal(err)
	}
	if again, _ := displaytest.Eval[float64](bctx, "window.POS.loadedAt"); again != loadedAt {
		t.Fatalf("the page reloaded (loadedAt %v -> %v); it must update live", loadedAt, again)
	}

	// The agent restarts on the same address and journal.
	d.stop()
	if err := displaytest.WaitConnected(bctx, false); err != nil {
		t.Fatal(err)
	}
	r = d.start()
	if err := displaytest.WaitConnected(bctx, true); err != nil {
		t.Fatal(err)
	}
	var p2 payment
	if code := apiJSON(t, "POST", "http://"+r.API+"/v1/payments", map[string]any{"amount": 500, "mode": "scan"}, &p2); code != 201 {
		t.Fatalf("create scan payment: HTTP %d", code)
	}
	if err := displaytest.WaitScreen(bctx, "scan_prompt"); err != nil {
		t.Fatal(err)
	}
	if again, _ := displaytest.Eval[float64](bctx, "window.POS.loadedAt"); again != loadedAt {
		t.Fatalf("the page reloaded across the restart; it must reconnect by itself")
	}
}

// TestDisplayTipSuggestions: the POS sets an amount due with a tip prompt;
// the customer display (real headless Chromium) shows a button per
// suggestion with its amount and "No tip"; the customer's touch sets the
// cart's tip; the POS starts the qr payment with it and the simulator
// charges amount + tip.
func TestDisplayTipSuggestions(t *testing.T) {
	bctx := displaytest.StartBrowser(t)
	d := newDaemon(t, "merchant:\n  name: Maple Tea House\ndisplay:\n  tip_choices: [10, 15, 18]\nagent:\n  time_scale: 0.1\n")
	r := d.start()
	api := "http://" + r.API
	if err := displaytest.Open(bctx, api+"/display"); err != nil {
		t.Fatal(err)
	}
	if err := displaytest.WaitConnected(bctx, true); err != nil {
		t.Fatal(err)
	}
	var cart struct {
		Amount     int64 `json:"amount"`
		Tip        int64 `json:"tip"`
		TipChoices []int `json:"tip_choices"`
		TipChosen  bool  `json:"tip_chosen"`
	}
	if code := apiJSON(t, "PUT", api+"/v1/cart", map[string]any{"amount": 1250, "tip_prompt": true}, &cart); code != 200 || len(cart.TipChoices) != 3 {
		t.Fatalf("cart with a tip prompt: HTTP %d %+v", code, cart)
	}
	// Up to 45 s: seen once in a full -race run, the buttons did not come
	// within 15 s; the page's watchdog (20 s) resyncs a screen whose stream
	// missed an event, so a lost event heals, and the log says if it did.
	deadline := time.Now().Add(45 * time.Second)
	for {
		n, _ := displaytest.Eval[float64](bctx, `document.querySelectorAll("#tips button").length`)
		if n == 4 {
			break
		}
		if time.Now().After(deadline) {
			state, _ := displaytest.Eval[string](bctx, `JSON.stringify({seq: window.POS.lastSeq, events: window.POS.events, connects: window.POS.connects, restarts: window.POS.watchdogRestarts || 0})`)
			t.Fatalf("timed out waiting for the tip buttons; page %s", state)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if state, _ := displaytest.Eval[string](bctx, `JSON.stringify({connects: window.POS.connects, restarts: window.POS.watchdogRestarts || 0})`); !strings.Contains(state, `"connects":1,"restarts":0`) {
		t.Logf("the tip buttons came after a reconnect or a watchdog resync: %s", state)
	}
	labels, err := displaytest.Eval[string](bctx, `Array.prototype.map.call(document.querySelectorAll("#tips button"), function (b) { return b.textContent; }).join("|")`)
	if err != nil || !strings.Contains(labels, "15% · CAD 1.88") || !strings.Contains(labels, "No tip") {
		t.Fatalf("buttons %q, %v", labels, err)
	}
	// The customer touches 15 %.
	if _, err := displaytest.Eval[bool](bctx, `(function () { var bs = document.querySelectorAll("#tips button"); bs[1].click(); return true; })()`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the chosen tip on the cart", func() bool {
		apiJSON(t, "GET", api+"/v1/cart", nil, &cart)
		return cart.TipChosen
	})
	if cart.Tip != 188 {
		t.Fatalf("tip %d, want 188 (15 %% of 12.50, rounded)", cart.Tip)
	}
	waitFor(t, "the buttons to go", func() bool {
		n, _ := displaytest.Eval[float64](bctx, `document.querySelectorAll("#tips button").length`)
		return n == 0
	})
	if tl, _ := displaytest.Text(bctx, "tipline"); !strings.Contains(tl, "1.88") {
		t.Fatalf("tip line %q", tl)
	}
	var p payment
	if code := apiJSON(t, "POST", api+"/v1/payments", map[string]any{"amount": cart.Amount, "tip": cart.Tip, "mode": "qr", "wallet": "alipay"}, &p); code != 201 {
		t.Fatalf("create qr payment: HTTP %d", code)
	}
	waitFor(t, "code_url", func() bool { apiJSON(t, "GET", api+"/v1/payments/"+p.ID, nil, &p); return p.CodeURL != "" })
	resp, err := http.Get(p.CodeURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	waitFor(t, "paid", func() bool { apiJSON(t, "GET", api+"/v1/payments/"+p.ID, nil, &p); return p.State == "succeeded" })
	if p.Total != 1438 {
		t.Fatalf("total %d, want 1438", p.Total)
	}
}
