package stacktest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/internal/agenttest"
	"github.com/posagent/posagent/store"
)

type outcome struct {
	cents    int64
	state    agent.State
	errCode  string
	charged  bool // the simulator took the money
	customer bool // qr: the test opens code_url (the customer pays)
}

// checkLedger asserts what the simulator charged and refunded for p.
func checkLedger(t *testing.T, sim *simEnv, p *agent.Payment, charged, refunded int64) {
	t.Helper()
	checkOrder(t, sim, p.ID, p.OrderID, string(p.State), p.Amount, charged, refunded)
}

// checkPOSLedger is checkLedger of a payment the typed client read.
func checkPOSLedger(t *testing.T, sim *simEnv, p *client.Payment, charged, refunded int64) {
	t.Helper()
	checkOrder(t, sim, p.ID, p.OrderID, p.State, p.Amount, charged, refunded)
}

// checkOrder asserts what the simulator charged and refunded for the
// payment id of amount, whose order is orderID.
func checkOrder(t *testing.T, sim *simEnv, id, orderID, state string, amount, charged, refunded int64) {
	t.Helper()
	o, ok := sim.ledger()[orderID]
	if !ok {
		if charged != 0 {
			t.Errorf("%s (%d): no order %s at the simulator, want %d charged", id, amount, orderID, charged)
		}
		return
	}
	if o.Charged != charged || o.Refunded != refunded {
		t.Errorf("%s (%d, %s): simulator charged %d refunded %d (status %s), want charged %d refunded %d",
			id, amount, state, o.Charged, o.Refunded, o.Status, charged, refunded)
	}
}

// Every scan outcome the simulator offers, each in a bubble of its own at
// the real poll schedule: the state, the error code, the history and what
// the simulator charged.
func TestScanOutcomesEndToEnd(t *testing.T) {
	cases := []outcome{
		{cents: 1200, state: agent.Succeeded, charged: true},
		{cents: 1201, state: agent.Failed, errCode: "declined"},
		{cents: 1202, state: agent.Succeeded, charged: true},
		{cents: 1203, state: agent.Failed, errCode: "order_closed"},
		{cents: 1204, state: agent.Succeeded, charged: true},
		{cents: 1205, state: agent.Succeeded, charged: true},
		{cents: 1206, state: agent.Succeeded, charged: true},
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("cents_%02d", c.cents%100), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := startBubble(t, agent.Options{}, ottsim.Options{})
				defer b.stop()
				code, err := b.sim.IssueCode([]string{"wechat", "alipay"}[i%2])
				if err != nil {
					t.Fatal(err)
				}
				ctx, status := agenttest.Status(context.Background())
				created := b.pos.create(ctx, client.PaymentRequest{Amount: c.cents, Currency: "CAD", Mode: "scan", AuthCode: code, Reference: "INV-1"})
				if status() != 201 {
					t.Fatalf("create: %d %+v", status(), created)
				}
				if created.AuthCodeMasked != code[:4]+"**********"+code[14:] {
					t.Errorf("auth_code_masked = %q", created.AuthCodeMasked)
				}
				p := b.waitFinal(created.ID)
				if p.State != c.state {
					t.Fatalf("state %s, want %s (error %v, history %v)", p.State, c.state, p.Error, p.History)
				}
				if c.errCode != "" && (p.Error == nil || p.Error.Code != c.errCode) {
					t.Errorf("error %v, want code %s", p.Error, c.errCode)
				}
				if p.History[0].State != "processing" || p.History[len(p.History)-1].State != string(c.state) {
					t.Errorf("history %v", p.History)
				}
				var charged int64
				if c.charged {
					charged = c.cents
				}
				checkLedger(t, b.env, p, charged, 0)
			})
		})
	}
}

// Every qr outcome, each in a bubble at the real QR window and poll
// schedule; the customer's phone opens the code_url in memory.
func TestQROutcomesEndToEnd(t *testing.T) {
	cases := []outcome{
		{cents: 2500, state: agent.Succeeded, charged: true, customer: true},
		{cents: 2501, state: agent.Failed, errCode: "declined"},
		{cents: 2502, state: agent.Succeeded, charged: true, customer: true},
		{cents: 2503, state: agent.Cancelled, customer: true}, // the wallet never pays it; the gateway closes it
		{cents: 2504, state: agent.Cancelled},                 // response lost: no QR shown; the order closes unpaid
		{cents: 2505, state: agent.Cancelled},                 // SYSTEM_ERROR: no QR; closes unpaid
		{cents: 2506, state: agent.Cancelled},                 // reply too late: no QR; closes unpaid
	}
	for i, c := range cases {
		t.Run(fmt.Sprintf("cents_%02d", c.cents%100), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := startBubble(t, agent.Options{}, ottsim.Options{})
				defer b.stop()
				wallet := []string{"wechat", "alipay"}[i%2]
				ctx, status := agenttest.Status(context.Background())
				created := b.pos.create(ctx, client.PaymentRequest{Amount: c.cents, Mode: "qr", Wallet: wallet})
				if status() != 201 {
					t.Fatalf("create: %d %+v", status(), created)
				}
				if c.customer {
					if created.CodeURL == "" {
						t.Fatalf("no code_url in %+v", created)
					}
					if created.QRExpiresAt == nil || !created.QRExpiresAt.After(created.CreatedAt) {
						t.Errorf("qr_expires_at %v", created.QRExpiresAt)
					}
					resp, err := b.customer().Get(created.CodeURL) // the customer's wallet opens the QR
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
				}
				p := b.waitFinal(created.ID)
				if p.State != c.state {
					t.Fatalf("state %s, want %s (error %v, history %v)", p.State, c.state, p.Error, p.History)
				}
				if c.errCode != "" && (p.Error == nil || p.Error.Code != c.errCode) {
					t.Errorf("error %v, want code %s", p.Error, c.errCode)
				}
				var charged int64
				if c.charged {
					charged = c.cents
				}
				checkLedger(t, b.env, p, charged, 0)
			})
		})
	}
}

// A qr payment the cashier cancels while the customer has the QR open:
// in_doubt, and the late payment is refunded automatically (reversed).
func TestQRCancelThenLatePaymentIsReversed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, agent.Options{}, ottsim.Options{})
		defer b.stop()
		ctx, status := agenttest.Status(context.Background())
		created := b.pos.create(ctx, client.PaymentRequest{Amount: 3300, Mode: "qr", Wallet: "alipay"})
		if status() != 201 {
			t.Fatalf("create: %d %+v", status(), created)
		}
		ctx, status = agenttest.Status(context.Background())
		got, err := b.pos.Cancel(ctx, created.ID)
		if err != nil || status() != 200 {
			t.Fatalf("cancel: %d %v", status(), err)
		}
		if got.State != client.InDoubt {
			t.Fatalf("after cancel: %s, want in_doubt (the customer may still pay a scanned QR)", got.State)
		}
		if err := b.sim.Pay(created.OrderID); err != nil { // the customer pays anyway
			t.Fatal(err)
		}
		p := b.waitFinal(created.ID)
		if p.State != agent.Reversed || len(p.Refunds) != 1 || !p.Refunds[0].Automatic || p.Refunded != 3300 {
			t.Fatalf("late payment: %s refunds %+v refunded %d", p.State, p.Refunds, p.Refunded)
		}
		checkLedger(t, b.env, p, 3300, 3300)
	})
}

// Scan payments whose customer confirms only after the 60 s polling window
// (the wallet takes 100 s): in_doubt, then paid -> refunded -> reversed.
// One of them is cancelled by the cashier.
func TestScanLatePaymentIsReversed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, agent.Options{}, ottsim.Options{PaidAfter: 100 * time.Second})
		defer b.stop()
		var ids []string
		for _, cancelIt := range []bool{false, true} {
			code, err := b.sim.IssueCode("wechat")
			if err != nil {
				t.Fatal(err)
			}
			ctx, status := agenttest.Status(context.Background())
			p := b.pos.create(ctx, client.PaymentRequest{Amount: 4402, Mode: "scan", AuthCode: code})
			if status() != 201 {
				t.Fatalf("create: %d %+v", status(), p)
			}
			if cancelIt {
				ctx, status = agenttest.Status(context.Background())
				got, err := b.pos.Cancel(ctx, p.ID)
				if err != nil || status() != 200 || got.State != client.InDoubt {
					t.Fatalf("cancel: %d %v %+v", status(), err, got)
				}
			}
			ids = append(ids, p.ID)
		}
		for _, id := range ids {
			p := b.waitFinal(id)
			if p.State != agent.Reversed || p.Refunded != 4402 {
				t.Errorf("%s: %s refunded %d, history %v", id, p.State, p.Refunded, p.History)
			}
			checkLedger(t, b.env, p, 4402, 4402)
		}
	})
}

// Partial and full refunds at the real retry schedule, in a bubble: never
// more than what is left, each with its own order id, the ledger agrees.
func TestRefundsEndToEnd(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { testRefunds(t) })
}

func testRefunds(t *testing.T) {
	a := startBubble(t, agent.Options{}, ottsim.Options{})
	defer a.stop()
	code := func() string {
		c, err := a.sim.IssueCode("wechat")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	sim := a.env
	bg := context.Background()
	p := a.waitFinal(a.pos.create(bg, client.PaymentRequest{Amount: 5000, Mode: "scan", AuthCode: code()}).ID)
	if p.State != agent.Succeeded {
		t.Fatalf("payment %s", p.State)
	}
	// refund asks for amount of p (0: all that is left) and returns the
	// HTTP status of the answer and the error.
	refund := func(p *agent.Payment, amount int64) (int, error) {
		ctx, status := agenttest.Status(bg)
		_, err := a.pos.Refund(ctx, p.ID, client.RefundRequest{Amount: amount})
		return status(), err
	}
	if status, err := refund(p, 1500); err != nil || status != 201 {
		t.Fatalf("refund: %d %v", status, err)
	}
	if status, err := refund(p, 3501); status != 422 || !client.IsCode(err, "amount_too_large") {
		t.Fatalf("over-refund: %d %v", status, err)
	}
	if status, err := refund(p, 0); err != nil || status != 201 { // all that is left
		t.Fatalf("refund rest: %d %v", status, err)
	}
	p = a.waitFinal(p.ID)
	if len(p.Refunds) != 2 || p.Refunds[1].Amount != 3500 || p.Refunded != 5000 || p.State != agent.Succeeded {
		t.Fatalf("refunds %+v refunded %d state %s", p.Refunds, p.Refunded, p.State)
	}
	if p.Refunds[0].OrderID == p.Refunds[1].OrderID || p.Refunds[0].OrderID == p.OrderID {
		t.Errorf("refund order ids not distinct: %s %s %s", p.OrderID, p.Refunds[0].OrderID, p.Refunds[1].OrderID)
	}
	if status, err := refund(p, 1); status != 422 || !client.IsCode(err, "nothing_to_refund") {
		t.Fatalf("refund of a fully refunded payment: %d %v", status, err)
	}
	checkLedger(t, sim, p, 5000, 5000)
	// Only a succeeded payment can be refunded.
	f := a.waitFinal(a.pos.create(bg, client.PaymentRequest{Amount: 5001, Mode: "scan", AuthCode: code()}).ID)
	if status, err := refund(f, 1); status != 422 || !client.IsCode(err, "invalid_state") {
		t.Fatalf("refund of a failed payment: %d %v", status, err)
	}
}

// The gateway goes down for two "minutes" (compressed): scan
// payments are queued; one whose code validity ends during the outage
// expires (nothing charged), one that still has time is sent when the
// gateway returns; a refund and an in-doubt query wait in the outbox and
// are delivered after recovery.
func TestGatewayDownThenBack(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	o := testOptions()
	o.CodeValidity = 90 * time.Second // 1.8 s scaled
	o.APIWait = 10 * time.Second      // 0.2 s scaled: the refund POST answers while the refund is still queued
	a := startAgent(t, "", gw, o)

	// Before the outage: a paid scan payment (to refund later) and a paid qr
	// payment whose cashier will cancel during the outage.
	bg := context.Background()
	paid := a.pos.waitFinal(a.pos.create(bg, client.PaymentRequest{Amount: 6000, Mode: "scan", AuthCode: wechatCode(60)}).ID)
	if paid.State != client.Succeeded {
		t.Fatalf("setup: %s", paid.State)
	}
	qr := a.pos.create(bg, client.PaymentRequest{Amount: 6100, Mode: "qr", Wallet: "wechat"})
	qr = a.pos.waitUntil(qr.ID, "shown", func(p *client.Payment) bool { return p.CodeURL != "" })

	down := 120 * time.Second // scaled: 2.4 s; the code validity is 90 s (1.8 s)
	sim.sim.SetFaults(ottsim.Faults{DownForMS: down.Milliseconds()})
	t0 := time.Now()
	waitDown(t, sim.url)

	// Scan A now: its code expires before the gateway is back.
	expA := a.pos.create(bg, client.PaymentRequest{Amount: 6200, Mode: "scan", AuthCode: wechatCode(62)})
	if expA.State != client.Queued {
		t.Fatalf("scan during outage is %s, want queued", expA.State)
	}
	// The customer pays the qr on their phone meanwhile (the wallet talks to
	// OTTPay, not to us); then the cashier gives up.
	if err := sim.sim.Pay(qr.OrderID); err != nil {
		t.Fatal(err)
	}
	ctx, status := agenttest.Status(bg)
	cancelled, err := a.pos.Cancel(ctx, qr.ID)
	if err != nil || status() != 200 || cancelled.State != client.InDoubt {
		t.Fatalf("cancel during outage: %d %v %+v", status(), err, cancelled)
	}
	ctx, status = agenttest.Status(bg)
	refunding, err := a.pos.Refund(ctx, paid.ID, client.RefundRequest{Amount: 2000})
	if err != nil || status() != 201 {
		t.Fatalf("refund during outage: %d %v", status(), err)
	}
	if r := refunding.Refunds[0]; r.State != "pending" {
		t.Fatalf("refund during outage is %s, want pending (queued)", r.State)
	}
	st := a.e.Status()
	if st.Gateway.Reachable || st.Outbox.Depth == 0 {
		t.Errorf("status during outage: %+v", st)
	}
	// Scan B late in the outage (1.8 s of 2.4): its code is still valid for
	// 1.2 s after the gateway returns, room enough on a loaded machine for
	// the queued send (retried every 60 ms) to reach it.
	time.Sleep(time.Until(t0.Add(1800 * time.Millisecond)))
	sentB := a.pos.create(bg, client.PaymentRequest{Amount: 6300, Mode: "scan", AuthCode: wechatCode(63)})

	pA := a.pos.waitFinal(expA.ID)
	if pA.State != client.Expired || pA.Error == nil || pA.Error.Code != "code_expired" {
		t.Errorf("scan A: %s %v", pA.State, pA.Error)
	}
	checkPOSLedger(t, sim, pA, 0, 0)
	pB := a.pos.waitFinal(sentB.ID)
	if pB.State != client.Succeeded {
		t.Errorf("scan B: %s %v %v", pB.State, pB.Error, pB.History)
	}
	seenQueued := false
	for _, h := range pB.History {
		seenQueued = seenQueued || h.State == "queued"
	}
	if !seenQueued {
		t.Errorf("scan B was never queued: %v", pB.History)
	}
	checkPOSLedger(t, sim, pB, 6300, 0)
	pr := a.pos.waitFinal(paid.ID)
	if pr.Refunded != 2000 {
		t.Errorf("refund after recovery: %+v", pr.Refunds)
	}
	checkPOSLedger(t, sim, pr, 6000, 2000)
	pq := a.pos.waitFinal(qr.ID)
	if pq.State != client.Reversed {
		t.Errorf("qr paid during the outage and cancelled: %s %v", pq.State, pq.History)
	}
	checkPOSLedger(t, sim, pq, 6100, 6100)
	if st := a.e.Status(); !st.Gateway.Reachable || st.Outbox.Depth != 0 {
		t.Errorf("status after recovery: %+v", st)
	}
}

// waitDown waits until the simulator refuses connections.
func waitDown(t *testing.T, url string) {
	t.Helper()
	addr := url[len("http://"):]
	for i := 0; i < 500; i++ {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("the simulator never went down")
}

// lossyRefunds performs the first refund for real and then loses its
// answer (as a connection reset after the gateway acted would).
type lossyRefunds struct {
	agent.Gateway
	mu    sync.Mutex
	lost  bool
	calls int
}

func (g *lossyRefunds) Refund(ctx context.Context, r gateway.RefundRequest) (*gateway.Result, error) {
	res, err := g.Gateway.Refund(ctx, r)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	if !g.lost {
		g.lost = true
		return nil, &gateway.Error{Action: gateway.ActionRefund, OrderID: r.OrderID, Outcome: gateway.Unknown, Err: errors.New("connection reset by peer")}
	}
	return res, err
}

// A refund whose answer is lost is in doubt; it is resolved by querying
// its own order id (or resent with that same id), never refunded twice.
func TestRefundLostAnswerNotDoubled(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	lg := &lossyRefunds{Gateway: gw}
	a := startAgent(t, "", lg, testOptions())
	bg := context.Background()
	p := a.pos.waitFinal(a.pos.create(bg, client.PaymentRequest{Amount: 7000, Mode: "scan", AuthCode: wechatCode(70)}).ID)
	ctx, status := agenttest.Status(bg)
	if _, err := a.pos.Refund(ctx, p.ID, client.RefundRequest{Amount: 2500}); err != nil || status() != 201 {
		t.Fatalf("refund: %d %v", status(), err)
	}
	p = a.pos.waitFinal(p.ID)
	if p.Refunds[0].State != "succeeded" || p.Refunded != 2500 {
		t.Fatalf("refund %+v", p.Refunds)
	}
	checkPOSLedger(t, sim, p, 7000, 2500)
	lg.mu.Lock()
	calls := lg.calls
	lg.mu.Unlock()
	if calls != 1 {
		t.Errorf("REFUND sent %d times; the in-doubt refund should have been resolved by querying its order id", calls)
	}
	if o := sim.ledger()[p.OrderID]; len(o.Refunds) != 1 || o.Refunds[0].OrderID != p.Refunds[0].OrderID {
		t.Errorf("simulator refunds %+v", o.Refunds)
	}
}

func TestNotRunningRefusesPayments(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	st, err := store.Open(filepath.Join(t.TempDir(), "posagent.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := agent.New(agent.Options{Gateway: gw, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = e.CreatePayment(context.Background(), agent.CreateRequest{Amount: 100, Mode: "qr", Wallet: "wechat"}, agent.IdemKey{})
	var oe *agent.OpError
	if !errors.As(err, &oe) || oe.Kind != operr.KindUnavailable || oe.Code != operr.CodeNotRunning {
		t.Fatalf("create before Run: %v", err)
	}
	if len(sim.sim.Ledger()) != 0 {
		t.Error("a payment reached the gateway")
	}
}
