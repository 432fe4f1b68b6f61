package stacktest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/devices"
	"github.com/posagent/posagent/paycode"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/store"
)

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
	a.waitFinal(id)
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
	p := a.waitFinal(id)
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
	render := func(r printer.Receipt) ([]byte, error) { return []byte("\x89PNG " + r.OrderID), nil }
	a := startAgent(t, "", gw, o, APIConf{RenderReceipt: render})
	_, m := a.call("POST", "/v1/payments", map[string]any{"amount": 800, "mode": "scan", "auth_code": alipayCode(8), "reference": "INV-8"})
	p := a.waitFinal(decodePayment(t, m).ID)
	if p.State != agent.Succeeded {
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
				a.e.RecordDevice(agent.DeviceStatus{Kind: "scanner", Name: fmt.Sprintf("s%d", w), State: fmt.Sprintf("n%d", i)})
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
	reg := devices.New() // as the daemon wires it
	o.Devices = reg
	a := startAgent(t, "", gw, o)
	reg.Watch(a.e.RecordDevice)
	ctx := context.Background()
	reg.Set(agent.DeviceStatus{Kind: "scanner", Name: "counter", State: "connected"})
	reg.Set(agent.DeviceStatus{Kind: "scanner", Name: "counter", State: "connected"}) // no change: no event
	ch, stop := a.e.Subscribe(0)
	defer stop()
	next := func() agent.Event {
		t.Helper()
		select {
		case ev := <-ch:
			return ev
		case <-time.After(30 * time.Second):
			t.Fatal("no event")
		}
		return agent.Event{}
	}
	if ev := next(); ev.Kind != agent.KindDeviceChanged || ev.Device.Name != "counter" {
		t.Fatalf("device event %+v", ev)
	}

	// A payment code with nothing waiting and no cart: ignored, masked, not charged.
	code := wechatCode(11)
	if err := a.e.Intake().HandleScan(ctx, agent.Scan{Code: code, Device: "counter"}); err != nil {
		t.Fatal(err)
	}
	if ev := next(); ev.Kind != agent.KindScanIgnored || ev.Scan.Code != paycode.Mask(code) || strings.Contains(string(ev.Data), code) {
		t.Fatalf("ignored event %+v %s", ev, ev.Data)
	}
	// A barcode goes to the POS.
	a.e.Intake().HandleScan(ctx, agent.Scan{Code: "4006381333931", Symbology: "]E0", Device: "counter"})
	if ev := next(); ev.Kind != agent.KindScanBarcode || ev.Scan.Symbology != "]E0" {
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
	if p := a.payment(first.ID); p.State != agent.Cancelled || p.Error == nil || p.Error.Code != "replaced" {
		t.Fatalf("replaced payment: %s %+v", p.State, p.Error)
	}
	code2 := alipayCode(12)
	a.e.Intake().HandleScan(ctx, agent.Scan{Code: code2, Device: "counter"})
	a.e.Intake().HandleScan(ctx, agent.Scan{Code: code2, Device: "counter"})
	p2 := a.waitFinal(second.ID)
	if p2.State != agent.Succeeded || p2.Wallet != "alipay" || p2.Amount != 1100 {
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
	if latest.Amount != 1250 || latest.Reference != "T-9" || latest.State != agent.Succeeded {
		t.Fatalf("auto-started payment %+v", latest)
	}
	if a.e.Intake().CurrentCart() != nil {
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
	if p.State != agent.AwaitingCode || p.Wallet != "" || p.Error != nil {
		t.Fatalf("created %+v", p)
	}
	status, m := a.call("POST", "/v1/payments/"+p.ID+"/cancel", nil)
	if status != 200 || decodePayment(t, m).State != agent.Cancelled {
		t.Fatalf("cancel: %d %v", status, m)
	}
	if status, m := a.call("POST", "/v1/payments/"+p.ID+"/code", map[string]any{"code": wechatCode(3)}); status != 422 {
		t.Fatalf("code after cancel: %d %v", status, m)
	}
	if len(sim.sim.Ledger()) != 0 {
		t.Error("a cancelled payment reached the gateway")
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
	a.e.Intake().HandleScan(context.Background(), agent.Scan{Code: ignored, Device: "counter"})
	a.e.Intake().HandleScan(context.Background(), agent.Scan{Code: ignored, Device: "counter"}) // duplicate (debug log)
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
