package stacktest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/devices"
	"github.com/posagent/posagent/internal/agenttest"
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
	body := client.PaymentRequest{Amount: 1500, Mode: "scan", AuthCode: wechatCode(7)}
	s1, p1, err1 := a.pos.pay(body, "k-1")
	s2, p2, err2 := a.pos.pay(body, "k-1")
	if s1 != 201 || s2 != 201 || err1 != nil || err2 != nil || p1.ID != p2.ID || p1.Replayed || !p2.Replayed {
		t.Fatalf("same key twice: %d %v %+v / %d %v %+v", s1, err1, p1, s2, err2, p2)
	}
	// Raw HTTP: the same key with another body, which a POS never sends on purpose.
	s3, m3 := a.call("POST", "/v1/payments", map[string]any{"amount": 1501, "mode": "scan", "auth_code": wechatCode(7)}, "Idempotency-Key", "k-1")
	if s3 != 409 || errCode(m3) != "idempotency_conflict" {
		t.Fatalf("same key, other body: %d %v", s3, m3)
	}
	id := p1.ID
	a.waitFinal(id)
	// Concurrent retries of one refund with one key: one refund.
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.pos.refund(id, 100, "r-1") // what each answered is not the point: one refund is
		}()
	}
	wg.Wait()
	// Restart on the same journal: the keys survive.
	a.stop()
	a = startAgent(t, path, gw, testOptions())
	s4, p4, err := a.pos.pay(body, "k-1")
	if s4 != 201 || err != nil || p4.ID != id || !p4.Replayed {
		t.Fatalf("after restart: %d %v %+v", s4, err, p4)
	}
	s5, _, err := a.pos.refund(id, 100, "r-1")
	if s5 != 201 || err != nil {
		t.Fatalf("refund replay after restart: %d %v", s5, err)
	}
	p := a.waitFinal(id)
	if len(p.Refunds) != 1 || p.Refunded != 100 {
		t.Fatalf("refunds after 6 retries of one key: %+v", p.Refunds)
	}
	// Raw HTTP: the same key with another body, as above.
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
	p := a.waitFinal(a.pos.create(context.Background(), client.PaymentRequest{Amount: 800, Mode: "scan", AuthCode: alipayCode(8), Reference: "INV-8"}).ID)
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
	a.pos.sync()
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
	ctx, status := agenttest.Status(context.Background())
	if err := a.pos.PrintReceipt(ctx, p.ID); err != nil || status() != 202 {
		t.Fatalf("reprint: %d %v", status(), err)
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
	ctx, status = agenttest.Status(context.Background())
	png, err := a.pos.ReceiptPNG(ctx, p.ID)
	if err != nil || status() != 200 || string(png) != "\x89PNG "+p.OrderID {
		t.Errorf("receipt.png: %d %v %q", status(), err, png)
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
	first := a.pos.create(ctx, client.PaymentRequest{Amount: 1000, Mode: "scan"})
	status, _, err := a.pos.pay(client.PaymentRequest{Amount: 1100, Mode: "scan"})
	if status != 409 || apiCode(err) != "payment_waiting" || !strings.Contains(apiMessage(err), first.ID) {
		t.Fatalf("second waiting payment: %d %v", status, err)
	}
	second := a.pos.create(ctx, client.PaymentRequest{Amount: 1100, Mode: "scan", Replace: true})
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
	cctx, cstatus := agenttest.Status(ctx)
	if c, err := a.pos.SetCart(cctx, client.CartRequest{Amount: 1250, Reference: "T-9"}); cstatus() != 200 || err != nil || c.Amount != 1250 {
		t.Fatalf("cart: %d %v %+v", cstatus(), err, c)
	}
	if status, err := a.pos.scan(wechatCode(13), ""); status != 202 {
		t.Fatalf("scan: %d %v", status, err)
	}
	page, err := a.pos.Payments(ctx, client.ListQuery{Limit: 1})
	if err != nil || len(page.Payments) != 1 {
		t.Fatalf("the newest payment: %v %+v", err, page)
	}
	latest := a.waitFinal(page.Payments[0].ID)
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
	p := a.pos.create(context.Background(), client.PaymentRequest{Amount: 1000, Mode: "scan", Reference: "R1"})
	if p.State != client.AwaitingCode || p.Wallet != "" || p.Error != nil {
		t.Fatalf("created %+v", p)
	}
	status, cancelled, err := a.pos.cancel(p.ID)
	if status != 200 || err != nil || cancelled.State != client.Cancelled {
		t.Fatalf("cancel: %d %v %+v", status, err, cancelled)
	}
	if status, _, err := a.pos.giveCode(p.ID, wechatCode(3)); status != 422 {
		t.Fatalf("code after cancel: %d %v", status, err)
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
		a.waitFinal(a.pos.create(context.Background(), client.PaymentRequest{Amount: cents, Mode: "scan", AuthCode: code}).ID)
	}
	ignored := alipayCode(399)
	codes = append(codes, ignored)
	a.e.Intake().HandleScan(context.Background(), agent.Scan{Code: ignored, Device: "counter"})
	a.e.Intake().HandleScan(context.Background(), agent.Scan{Code: ignored, Device: "counter"}) // duplicate (debug log)
	events := export(t, a.pos, client.FormatJSON)
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

// export reads the bookkeeping export of every payment in format.
func export(t testing.TB, p pos, format string) []byte {
	t.Helper()
	rc, err := p.Export(context.Background(), time.Time{}, format)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return b
}
