package stacktest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/internal/agenttest"
	"github.com/posagent/posagent/store"
)

// The tests in this file each reproduce one way the terminal could charge
// the wrong amount, charge twice, make a guess final or lose track of
// money; each failed on the code before the fix. Their invariants are read
// from the simulator's ledger, which is the truth.

// scriptGateway wraps the real client with scripted answers, for what the
// simulator cannot be made to do on cue (an answer lost after the gateway
// acted, a lying proxy). Every call still goes over loopback HTTP unless a
// script replaces it.
type scriptGateway struct {
	agent.Gateway
	mu sync.Mutex
	// loseRefund: the next Refund is sent (or not, with refundNotSent) and
	// its answer lost.
	loseRefund    int
	refundNotSent bool
	refunds       int // Refund calls that reached the simulator
	// passiveLost: PassivePay answers are lost after the gateway acted.
	passiveLost bool
	// passiveSent, when set, receives a value as each PassivePay is sent.
	passiveSent chan struct{}
	// queryScript answers STATUS_QUERY calls once armed, one per call;
	// before, queryDefault (when set) answers them all.
	armed        bool
	queryScript  []func() (*gateway.Result, error)
	queryDefault func() (*gateway.Result, error)
	// down: every call fails before sending (connection refused).
	down bool
	// slowRefund makes Refund take this long (concurrency is measured).
	slowRefund         time.Duration
	inRefund, maxInRef int
	// refundScript, when not empty, decides each Refund call in turn:
	// "ok" (sent, answered), "lost" (sent, the gateway acts, the answer
	// is lost), "notsent" (never reaches the gateway, outcome unknown),
	// "fail" (a bare FAIL refusal, nothing done).
	refundScript []string
	// refundByAmount, when it has the refund's amount, decides as
	// refundScript does (it wins over refundScript).
	refundByAmount map[int64]string
	// refundGate, when set, is waited on before each Refund is sent.
	refundGate chan struct{}
}

func (g *scriptGateway) PassivePay(ctx context.Context, r gateway.PayRequest) (*gateway.Result, error) {
	if err := g.downErr(gateway.ActionPassivePay, r.OrderID); err != nil {
		return nil, err
	}
	g.mu.Lock()
	sent := g.passiveSent
	g.mu.Unlock()
	if sent != nil {
		sent <- struct{}{}
	}
	res, err := g.Gateway.PassivePay(ctx, r)
	g.mu.Lock()
	lost := g.passiveLost
	g.mu.Unlock()
	if lost {
		return nil, &gateway.Error{Action: gateway.ActionPassivePay, OrderID: r.OrderID, Outcome: gateway.Unknown, Err: errors.New("read: connection reset by peer")}
	}
	return res, err
}

func (g *scriptGateway) QueryOrder(ctx context.Context, id string, amount, tip int64) (*gateway.Result, error) {
	if err := g.downErr(gateway.ActionStatusQuery, id); err != nil {
		return nil, err
	}
	g.mu.Lock()
	var next func() (*gateway.Result, error)
	if g.armed && len(g.queryScript) > 0 {
		next, g.queryScript = g.queryScript[0], g.queryScript[1:]
	} else if !g.armed {
		next = g.queryDefault
	}
	g.mu.Unlock()
	if next != nil {
		return next()
	}
	return g.Gateway.QueryOrder(ctx, id, amount, tip)
}

func (g *scriptGateway) Refund(ctx context.Context, r gateway.RefundRequest) (*gateway.Result, error) {
	if err := g.downErr(gateway.ActionRefund, r.OrderID); err != nil {
		return nil, err
	}
	g.mu.Lock()
	g.inRefund++
	g.maxInRef = max(g.maxInRef, g.inRefund)
	lose, notSent, slow := g.loseRefund > 0, g.refundNotSent, g.slowRefund
	if lose {
		g.loseRefund--
	}
	gate := g.refundGate
	step, scripted := g.refundByAmount[r.Amount]
	if !scripted && len(g.refundScript) > 0 {
		step, scripted = g.refundScript[0], true
		g.refundScript = g.refundScript[1:]
	}
	if scripted {
		lose, notSent = step == "lost" || step == "notsent", step == "notsent"
		if step == "fail" {
			g.inRefund--
			g.mu.Unlock()
			return nil, &gateway.Error{Action: gateway.ActionRefund, OrderID: r.OrderID, Code: gateway.CodeFail, Message: "refused", Outcome: gateway.Failed}
		}
	}
	if !(lose && notSent) {
		g.refunds++
	}
	g.mu.Unlock()
	defer func() { g.mu.Lock(); g.inRefund--; g.mu.Unlock() }()
	if gate != nil {
		<-gate
	}
	time.Sleep(slow)
	if lose && notSent {
		return nil, &gateway.Error{Action: gateway.ActionRefund, OrderID: r.OrderID, Outcome: gateway.Unknown, Err: errors.New("net/http: timeout awaiting response headers")}
	}
	res, err := g.Gateway.Refund(ctx, r)
	if lose {
		return nil, &gateway.Error{Action: gateway.ActionRefund, OrderID: r.OrderID, Outcome: gateway.Unknown, Err: errors.New("read: connection reset by peer")}
	}
	return res, err
}

func (g *scriptGateway) downErr(action, id string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down {
		return &gateway.Error{Action: action, OrderID: id, Outcome: gateway.Unknown, Err: fmt.Errorf("%w: connect: connection refused", gateway.ErrNotSent)}
	}
	return nil
}

func (g *scriptGateway) set(fn func(g *scriptGateway)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fn(g)
}

// chargedWith lists the ledger's orders that charged code.
func (s *simEnv) chargedWith(code string) []string {
	var out []string
	for _, o := range s.sim.Ledger() {
		if o.AuthCode == code && o.Charged > 0 {
			out = append(out, o.OrderID)
		}
	}
	return out
}

// Repro 1: a scan payment left waiting for a code took the next customer's
// code at its own (wrong) amount. Now one payment waits at a time: a second
// is refused naming the first, or replaces it; the code goes to the one the
// customer sees.
func TestOnePaymentWaitsForACode(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, testOptions())

	stale := a.pos.create(context.Background(), client.PaymentRequest{Amount: 5000, Mode: "scan"})
	status, _, err := a.pos.pay(client.PaymentRequest{Amount: 500, Mode: "scan"})
	if status != 409 || apiCode(err) != "payment_waiting" || !strings.Contains(apiMessage(err), stale.ID) {
		t.Fatalf("a second payment waiting for a code: %d %v; want 409 payment_waiting naming %s", status, err, stale.ID)
	}
	status, shown, err := a.pos.pay(client.PaymentRequest{Amount: 500, Mode: "scan", Replace: true})
	if status != 201 || err != nil {
		t.Fatalf("replace: %d %v", status, err)
	}
	code, _ := sim.sim.IssueCode("wechat")
	if status, err := a.pos.scan(code, ""); status != 202 {
		t.Fatalf("scan: %d %v", status, err)
	}
	if p := a.waitFinal(shown.ID); p.State != agent.Succeeded {
		t.Fatalf("the payment the customer saw: %s", p.State)
	}
	if p := a.payment(stale.ID); p.State != agent.Cancelled || p.Error == nil || p.Error.Code != "replaced" {
		t.Fatalf("the replaced payment: %s %+v", p.State, p.Error)
	}
	for _, o := range sim.sim.Ledger() {
		if o.Charged != 0 && o.Charged != 500 {
			t.Fatalf("the simulator charged %d; the customer was shown 5.00", o.Charged)
		}
	}
	if got := sim.chargedWith(code); len(got) != 1 {
		t.Fatalf("code charged on %d orders", len(got))
	}
}

// Repro 1 (time): a waiting payment and a cart expire, on the monotonic
// clock and across a restart, so a later code is never charged at a stale
// amount.
func TestWaitingPaymentAndCartExpire(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	clk := &manualClock{now: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)}
	o := agent.Options{Clock: clk, Timing: timingWith(func(t *agent.Timing) { t.APIWait = time.Nanosecond }), ScanAutoStart: true}
	a := startAgent(t, "", gw, o)
	stale := a.pos.create(context.Background(), client.PaymentRequest{Amount: 5000, Mode: "scan"})
	for i := 0; i < 9 && a.payment(stale.ID).State == agent.AwaitingCode; i++ {
		clk.Advance(15 * time.Second) // the default timeout is 2 minutes
		time.Sleep(10 * time.Millisecond)
	}
	waitFor(t, "the waiting payment to time out", func() bool { clk.Advance(time.Second); return a.payment(stale.ID).State == agent.Cancelled })
	if p := a.payment(stale.ID); p.Error == nil || p.Error.Code != "no_code" {
		t.Fatalf("timed-out payment: %+v", p.Error)
	}
	ctx, status := agenttest.Status(context.Background())
	if c, err := a.pos.SetCart(ctx, client.CartRequest{Amount: 4200}); status() != 200 || err != nil || c.ExpiresAt == nil {
		t.Fatalf("cart: %d %v %+v", status(), err, c)
	}
	waitFor(t, "the cart to expire", func() bool { clk.Advance(30 * time.Second); return a.e.Intake().CurrentCart() == nil })
	code, _ := sim.sim.IssueCode("alipay")
	if err := a.e.Intake().HandleScan(context.Background(), agent.Scan{Code: code, Device: "counter"}); err != nil {
		t.Fatal(err)
	}
	if got := sim.chargedWith(code); len(got) != 0 || len(sim.sim.Ledger()) != 0 {
		t.Fatalf("a code scanned after the wait and the cart expired reached the gateway: %v", sim.sim.Ledger())
	}

	// Across a restart: a payment left waiting is judged by its age.
	left := a.pos.create(context.Background(), client.PaymentRequest{Amount: 700, Mode: "scan"})
	a.stop()
	clk.Jump(3 * time.Minute) // the terminal was off for 3 minutes
	b := startAgent(t, a.path, gw, o)
	if p := b.payment(left.ID); p.State != agent.Cancelled || p.Error == nil || p.Error.Code != "no_code" {
		t.Fatalf("after a restart 3 minutes later the waiting payment is %s %+v", p.State, p.Error)
	}
}

// Repro 2: one payment code went out under two order ids. Now every code
// pays once: a second use is refused before any network call, by the API
// and by the scanner route (scan.refused).
func TestCodePaysOnce(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, testOptions())
	code, _ := sim.sim.IssueCode("wechat")
	first := a.pos.create(context.Background(), client.PaymentRequest{Amount: 1000, Mode: "scan", AuthCode: code})
	if p := a.waitFinal(first.ID); p.State != agent.Succeeded {
		t.Fatalf("first use: %s", p.State)
	}
	before := len(sim.sim.Ledger())
	status, _, err := a.pos.pay(client.PaymentRequest{Amount: 1000, Mode: "scan", AuthCode: code})
	if status != 409 || apiCode(err) != "code_already_used" || strings.Contains(apiMessage(err), code) {
		t.Fatalf("the same code on a new payment: %d %v", status, err)
	}
	waiting := a.pos.create(context.Background(), client.PaymentRequest{Amount: 1000, Mode: "scan"})
	status, _, err = a.pos.giveCode(waiting.ID, code)
	if status != 409 || apiCode(err) != "code_already_used" {
		t.Fatalf("the same code given to a waiting payment: %d %v", status, err)
	}
	evs, cancel := a.e.Subscribe(a.e.LastSeq())
	defer cancel()
	err = a.e.Intake().HandleScan(context.Background(), agent.Scan{Code: code, Device: "lane1"})
	var oe *agent.OpError
	if !errors.As(err, &oe) || oe.Code != "code_already_used" {
		t.Fatalf("a re-scan after the dedupe window: %v", err)
	}
	select {
	case ev := <-evs:
		if ev.Kind != agent.KindScanRefused || ev.Error == nil || ev.Error.Code != "code_already_used" || strings.Contains(string(ev.Data), code) {
			t.Fatalf("event %+v %s", ev, ev.Data)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no scan.refused event")
	}
	if p := a.payment(waiting.ID); p.State != agent.AwaitingCode {
		t.Fatalf("the waiting payment took a used code: %s", p.State)
	}
	if n := len(sim.sim.Ledger()); n != before {
		t.Fatalf("a reused code reached the gateway: %d orders, had %d", n, before)
	}
	if got := sim.chargedWith(code); len(got) != 1 {
		t.Fatalf("code charged on %v", got)
	}
}

// Repro 3: a guess became final. An unknown answer whose text says FAIL,
// then one FAIL answer, made a possibly charged payment final failed. Now
// only structure decides, and one answer is not enough.
func TestTextNeverMakesAGuessFinal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lost := func() (*gateway.Result, error) {
			return nil, &gateway.Error{Action: gateway.ActionStatusQuery, Outcome: gateway.Unknown, Err: errors.New("query FAILED: EOF")}
		}
		// The answers are lost until the payment is in doubt.
		var gw *scriptGateway
		a := startBubble(t, agent.Options{}, ottsim.Options{}, withGateway(func(real *gateway.Client) agent.Gateway {
			gw = &scriptGateway{Gateway: real, passiveLost: true, queryDefault: lost}
			return gw
		}))
		defer a.stop()
		sim := a.env
		code, _ := sim.sim.IssueCode("wechat")
		id := a.pos.create(context.Background(), client.PaymentRequest{Amount: 1000, Mode: "scan", AuthCode: code}).ID
		a.waitUntil(id, "in doubt", func(p *agent.Payment) bool { return p.State == agent.InDoubt })
		gw.set(func(g *scriptGateway) {
			g.queryScript = []func() (*gateway.Result, error){
				func() (*gateway.Result, error) {
					return nil, &gateway.Error{Action: gateway.ActionStatusQuery, Code: "SYSTEM_FAIL", Message: "FAIL", Outcome: gateway.Unknown}
				},
				func() (*gateway.Result, error) {
					return nil, &gateway.Error{Action: gateway.ActionStatusQuery, Code: gateway.CodeFail, Message: "order not found", Outcome: gateway.Unknown}
				},
			}
			g.armed = true
		})
		p := a.waitFinal(id)
		if got := sim.chargedWith(code); len(got) != 1 {
			t.Fatalf("the simulator should have charged the order: %v", got)
		}
		// The answers that decide are real ones: the order was paid and nobody
		// abandoned the sale... it went in doubt, so it is refunded (reversed).
		if p.State == agent.Failed || p.State == agent.Cancelled {
			t.Fatalf("a charged payment became %s on a guess (%+v); history %v", p.State, p.Error, p.History)
		}
		if p.State != agent.Reversed {
			t.Fatalf("state %s %+v", p.State, p.Error)
		}
		o := sim.ledger()[p.OrderID]
		if o.Charged != 1000 || o.Refunded != 1000 {
			t.Fatalf("ledger %+v", o)
		}
	})
}

// Repro 3 (structure): two verified "no such order" answers, after the
// code can no longer be charged, still settle a crash-before-send order as
// never sent; the answers kept on the job are structure.
func TestTwoNotFoundAnswersSettleANeverSentOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := t.TempDir() + "/posagent.db"
		st, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Add(-time.Minute)
		// What a crash between committing "processing" and sending leaves.
		err = st.Update(func(tx *store.Tx) error {
			p := &store.Payment{ID: "pay_crash1", OrderID: "P26112518000000CRASH", Mode: "scan", Wallet: "wechat", Amount: 900,
				Currency: "CAD", State: store.InDoubt, AuthCode: wechatCode(900), CodeAt: now, CreatedAt: now, UpdatedAt: now,
				History: []store.HistoryEntry{{State: "processing", At: now}, {State: "in_doubt", At: now}}, Refunds: []store.Refund{}}
			if err := tx.PutPayment(p); err != nil {
				return err
			}
			return tx.AddJob(&store.Job{Kind: store.JobQuery, PaymentID: p.ID, NextAt: now, CreatedAt: now})
		})
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		a := startBubble(t, agent.Options{}, ottsim.Options{}, withJournal(path))
		defer a.stop()
		p := a.waitFinal("pay_crash1")
		if p.State != agent.Failed || p.Error == nil || p.Error.Code != "gateway_unreachable" {
			t.Fatalf("never-sent order: %s %+v", p.State, p.Error)
		}
		if p.Answer == nil || p.Answer.RspCode != gateway.CodeFail || !p.Answer.Answered {
			t.Fatalf("the deciding answer is not kept as structure: %+v", p.Answer)
		}
	})
}

// Repro 4: wall-clock time drove money. A board booting in 2000 took
// payments with stamps from 2000; a forward jump let compaction delete a
// payment just taken and its Idempotency-Key, so a retry charged again; a
// backward jump stalled follow-ups for the size of the jump.
func TestImplausibleClockRefusesPayments(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	clk := &manualClock{now: time.Date(2000, 1, 1, 0, 0, 12, 0, time.UTC)}
	a := startAgent(t, "", gw, agent.Options{Clock: clk})
	status, _, err := a.pos.pay(client.PaymentRequest{Amount: 1000, Mode: "qr", Wallet: "wechat"})
	if status != 503 || apiCode(err) != "clock_implausible" || !strings.Contains(apiMessage(err), "2000-01-01") {
		t.Fatalf("payment with the clock in 2000: %d %v", status, err)
	}
	if st := a.e.Status(); st.Clock.Plausible || st.Clock.Problem == "" {
		t.Fatalf("status clock %+v", st.Clock)
	}
	clk.Jump(27 * 365 * 24 * time.Hour) // NTP answers
	if status, _, err := a.pos.pay(client.PaymentRequest{Amount: 1000, Mode: "qr", Wallet: "wechat"}); status != 201 || err != nil {
		t.Fatalf("after NTP: %d %v", status, err)
	}
	if len(sim.sim.Ledger()) != 1 {
		t.Fatalf("ledger %v", sim.sim.Ledger())
	}
}

func TestForwardJumpNeverCompactsNewRecords(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	clk := &manualClock{now: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)}
	// Idempotency keys kept as long as their payment: the retry below
	// comes three days later, and the key must be there to be replayed
	// (with the default 24 h window it is refused as expired: the test of
	// that is TestExpiredIdempotencyKeyIsNotTakenAnew).
	a := startAgent(t, "", gw, agent.Options{Clock: clk, Timing: timingWith(func(t *agent.Timing) { t.APIWait, t.IdempotencyWindow = time.Nanosecond, 0 })})
	code, _ := sim.sim.IssueCode("wechat")
	body := client.PaymentRequest{Amount: 1000, Mode: "scan", AuthCode: code}
	status, first, err := a.pos.pay(body, "pos-sale-1")
	if status != 201 || err != nil {
		t.Fatalf("%d %v", status, err)
	}
	id := first.ID
	waitFor(t, "the payment to succeed", func() bool { return a.payment(id).State == agent.Succeeded })
	clk.Jump(100 * 24 * time.Hour) // NTP corrects a wrong RTC by 100 days
	for i := 0; i < 3; i++ {
		clk.Advance(25 * time.Hour) // the daily compaction comes round
		time.Sleep(20 * time.Millisecond)
	}
	status, again, err := a.pos.pay(body, "pos-sale-1")
	if status != 201 || err != nil || again.ID != id || !again.Replayed {
		t.Fatalf("the POS retried its request after the jump: %d %v %+v; want the same payment %s, replayed", status, err, again, id)
	}
	if n := len(sim.sim.Ledger()); n != 1 {
		t.Fatalf("%d orders at the gateway, want 1", n)
	}
	if a.e.Status().Clock.Jumps < 1 {
		t.Fatal("the jump was not detected")
	}
}

func TestBackwardJumpDoesNotStallRefunds(t *testing.T) {
	sim := startSim(t, "")
	real, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	gw := &scriptGateway{Gateway: real}
	clk := &manualClock{now: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)}
	a := startAgent(t, "", gw, agent.Options{Clock: clk, Timing: timingWith(func(t *agent.Timing) { t.APIWait = time.Nanosecond })})
	clk.run(t, 100*time.Millisecond) // 100 ms of clock time per real millisecond
	code, _ := sim.sim.IssueCode("alipay")
	id := a.pos.create(context.Background(), client.PaymentRequest{Amount: 1000, Mode: "scan", AuthCode: code}).ID
	waitFor(t, "the payment to succeed", func() bool { return a.payment(id).State == agent.Succeeded })
	gw.set(func(g *scriptGateway) { g.down = true })
	a.pos.mustRefund(id, 400)
	waitFor(t, "a failed refund attempt", func() bool {
		return a.e.Status().Outbox.LastError != ""
	})
	clk.Jump(-48 * time.Hour) // the wall clock goes back two days
	gw.set(func(g *scriptGateway) { g.down = false })
	waitFor(t, "the refund to be sent after the gateway returns", func() bool {
		p := a.payment(id)
		return len(p.Refunds) == 1 && p.Refunds[0].State == "succeeded"
	})
	if o := sim.ledger()[a.payment(id).OrderID]; o.Refunded != 400 {
		t.Fatalf("ledger %+v", o)
	}
}

// Repro 5: a refund without an Idempotency-Key, retried by a POS after a
// time-out, refunded twice. Every money-moving POST now needs a key.
func TestMoneyMovingRequestsNeedAKey(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, testOptions())
	code, _ := sim.sim.IssueCode("wechat")
	id := a.pos.create(context.Background(), client.PaymentRequest{Amount: 1000, Mode: "scan", AuthCode: code}).ID
	a.waitFinal(id)
	before := a.e.LastSeq()
	for _, r := range []struct{ path, body string }{
		{"/v1/payments", `{"amount":1000,"mode":"qr","wallet":"wechat"}`},
		{"/v1/payments/" + id + "/refunds", `{"amount":100}`},
		{"/v1/payments/" + id + "/refunds", `{}`},
		{"/v1/payments/" + id + "/cancel", ``},
		{"/v1/payments/" + id + "/code", `{"code":"134567890123456789"}`},
		{"/v1/payments/" + id + "/resolve", `{"outcome":"paid","reason":"x"}`},
	} {
		// Raw HTTP: the typed client always sends a key.
		status, m := a.call("POST", r.path, r.body, "Idempotency-Key", "")
		if status != 400 || errCode(m) != "idempotency_key_required" {
			t.Errorf("POST %s without a key: %d %v", r.path, status, m)
		}
	}
	if a.e.LastSeq() != before {
		t.Fatal("a refused request changed the journal")
	}
	if o := sim.ledger()[a.payment(id).OrderID]; o.Refunded != 0 {
		t.Fatalf("refunded %d", o.Refunded)
	}
}

// Repro 6: an in-doubt refund was settled by querying the refund's own
// order id and by resending it, which OTTPay does not document. It is now
// settled from the original order, sent once.
func TestInDoubtRefundSettledFromTheOriginalOrder(t *testing.T) {
	sim := startSim(t, "")
	real, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	gw := &scriptGateway{Gateway: real}
	o := testOptions()
	o.RefundSettle = 100 * time.Millisecond // 2 ms scaled: judge a missing refund at once
	a := startAgent(t, "", gw, o)
	code, _ := sim.sim.IssueCode("wechat")
	id := a.waitFinal(a.pos.create(context.Background(), client.PaymentRequest{Amount: 3000, Mode: "scan", AuthCode: code}).ID).ID

	// The refund reaches the gateway; its answer is lost.
	gw.set(func(g *scriptGateway) { g.loseRefund = 1 })
	a.pos.mustRefund(id, 1000)
	p := a.waitUntil(id, "the refund settled", refundsFinal)
	if p.Refunds[0].State != "succeeded" || p.Refunded != 1000 {
		t.Fatalf("lost answer: %+v", p.Refunds)
	}
	if gw.refunds != 1 {
		t.Fatalf("the refund was sent %d times", gw.refunds)
	}
	// The refund never reaches the gateway, but its answer is lost too:
	// the original order shows no such refund, so it was not made.
	gw.set(func(g *scriptGateway) { g.loseRefund, g.refundNotSent = 1, true })
	a.pos.mustRefund(id, 500)
	p = a.waitUntil(id, "the second refund settled", refundsFinal)
	if r := p.Refunds[1]; r.State != "failed" || r.Error == nil || r.Error.Code != "refund_not_made" {
		t.Fatalf("refund that never arrived: %+v", r)
	}
	if gw.refunds != 1 {
		t.Fatalf("a refund in doubt was resent: %d sends", gw.refunds)
	}
	if led := sim.ledger()[p.OrderID]; led.Refunded != 1000 || len(led.Refunds) != 1 {
		t.Fatalf("ledger %+v", led)
	}
}

// Repro 8: the API read an amount the POS did not mean: keys matched
// case-insensitively, a duplicate key won, a null amount meant "everything".
func TestRequestBodiesAreExact(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, testOptions())
	code, _ := sim.sim.IssueCode("wechat")
	id := a.waitFinal(a.pos.create(context.Background(), client.PaymentRequest{Amount: 1250, Mode: "scan", AuthCode: code}).ID).ID
	before := a.e.LastSeq()
	for _, c := range []struct{ path, body, code string }{
		{"/v1/payments", `{"amount":1250,"mode":"scan","Amount":5}`, "unknown_field"},
		{"/v1/payments", `{"AMOUNT":1250,"MoDe":"scan"}`, "unknown_field"},
		{"/v1/payments", `{"amount":1250,"mode":"scan","amount":5}`, "duplicate_field"},
		{"/v1/payments", `{"amount":null,"mode":"scan"}`, "invalid_amount"},
		{"/v1/payments/" + id + "/refunds", `{"amount":1,"amount":3}`, "duplicate_field"},
		{"/v1/payments/" + id + "/refunds", `{"amount":null}`, "invalid_amount"},
		{"/v1/payments/" + id + "/refunds", `{"Amount":3}`, "unknown_field"},
		{"/v1/payments/" + id + "/refunds", `{"all":false}`, "invalid_field"},
		{"/v1/payments/" + id + "/refunds", `{"all":true,"amount":3}`, "invalid_field"},
	} {
		status, m := a.call("POST", c.path, c.body) // raw HTTP: bodies the typed client cannot write
		if status != 400 || errCode(m) != c.code {
			t.Errorf("POST %s %s: %d %v; want 400 %s", c.path, c.body, status, m, c.code)
		}
	}
	if a.e.LastSeq() != before {
		t.Fatal("a refused body changed the journal")
	}
	if o := sim.ledger()[a.payment(id).OrderID]; o.Refunded != 0 || o.Charged != 1250 {
		t.Fatalf("ledger %+v", o)
	}
	// Everything left is refunded only when asked in so many words.
	// (The exact bodies, over raw HTTP: the typed client writes {"all":true}
	// for a refund of all that is left, and this is its test.)
	if status, m := a.call("POST", "/v1/payments/"+id+"/refunds", `{"amount":250}`); status != 201 {
		t.Fatalf("%d %v", status, m)
	}
	if status, m := a.call("POST", "/v1/payments/"+id+"/refunds", `{"all":true}`); status != 201 {
		t.Fatalf("%d %v", status, m)
	}
	p := a.waitUntil(id, "refunds", refundsFinal)
	if p.Refunded != 1250 {
		t.Fatalf("refunded %d", p.Refunded)
	}
}

// Repro 9: on SIGTERM an in-flight PASSIVEPAY was cancelled at once,
// turning a clean answer into an in-doubt payment. It now gets
// ShutdownGrace to answer, and its answer is recorded.
func TestShutdownLetsAnInFlightCallAnswer(t *testing.T) {
	sim := startSim(t, "")
	real, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	gw := &scriptGateway{Gateway: real, passiveSent: make(chan struct{}, 1)}
	sim.sim.SetFaults(ottsimLatency(15 * time.Second)) // 300 ms at scale 0.02
	o := testOptions()
	o.ShutdownGrace = 250 * time.Second // 5 s scaled
	o.APIWait = time.Millisecond
	a := startAgent(t, "", gw, o)
	code, _ := sim.sim.IssueCode("wechat")
	id := a.pos.create(context.Background(), client.PaymentRequest{Amount: 1000, Mode: "scan", AuthCode: code}).ID
	<-gw.passiveSent // the request is on its way
	a.cancel()       // SIGTERM
	a.stop()
	st, err := store.Open(a.path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var p *store.Payment
	st.View(func(tx *store.Tx) error { p, err = tx.Payment(id); return err })
	if p.State != agent.Succeeded {
		t.Fatalf("after a stop during the send: %s (history %v)", p.State, p.History)
	}
}

// Repro 9 (outbox): one goroutine per due job, without a bound.
func TestOutboxRunsABoundedPool(t *testing.T) {
	sim := startSim(t, "")
	real, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	gw := &scriptGateway{Gateway: real, slowRefund: 30 * time.Millisecond}
	o := testOptions()
	o.OutboxWorkers = 2
	o.APIWait = time.Millisecond
	a := startAgent(t, "", gw, o)
	code, _ := sim.sim.IssueCode("wechat")
	id := a.waitFinal(a.pos.create(context.Background(), client.PaymentRequest{Amount: 2000, Mode: "scan", AuthCode: code}).ID).ID
	gw.set(func(g *scriptGateway) { g.down = true }) // refunds pile up
	for i := 0; i < 12; i++ {
		if s, _, err := a.pos.refund(id, 100); s != 201 {
			t.Fatalf("%d %v", s, err)
		}
	}
	gw.set(func(g *scriptGateway) { g.down = false })
	a.pos.sync()
	p := a.waitUntil(id, "every refund", refundsFinal)
	if p.Refunded != 1200 {
		t.Fatalf("refunded %d", p.Refunded)
	}
	if gw.maxInRef > 2 {
		t.Fatalf("%d refunds ran at once with outbox_workers 2", gw.maxInRef)
	}
	if gw.maxInRef < 1 {
		t.Fatal("no refund ran")
	}
}

// waitFor polls cond; the bound is a hang guard, not a speed assertion.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func ottsimLatency(d time.Duration) ottsim.Faults {
	return ottsim.Faults{LatencyMS: d.Milliseconds()}
}

// A payment code behind an AIM symbology prefix or bidi characters is the
// same payment code: routed to the waiting payment, and single-use like the
// bare code (a re-scan without the prefix is refused).
func TestWrappedCodeIsTheSameCode(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, testOptions())
	code, _ := sim.sim.IssueCode("wechat")
	id := a.pos.create(context.Background(), client.PaymentRequest{Amount: 800, Mode: "scan"}).ID
	if err := a.e.Intake().HandleScan(context.Background(), agent.Scan{Code: "]Q1" + code[:6] + "\u200e" + code[6:], Device: "lane1"}); err != nil {
		t.Fatal(err)
	}
	if p := a.waitFinal(id); p.State != agent.Succeeded || p.Amount != 800 {
		t.Fatalf("wrapped code: %s", p.State)
	}
	second := a.pos.create(context.Background(), client.PaymentRequest{Amount: 800, Mode: "scan"}).ID
	time.Sleep(time.Duration(float64(2*time.Second)*scale) + 10*time.Millisecond) // the default dedupe window (2 s), scaled
	err := a.e.Intake().HandleScan(context.Background(), agent.Scan{Code: code, Device: "lane2"})
	var oe *agent.OpError
	if !errors.As(err, &oe) || oe.Code != "code_already_used" {
		t.Fatalf("the bare code after the wrapped one: %v", err)
	}
	if p := a.payment(second); p.State != agent.AwaitingCode {
		t.Fatalf("second payment %s", p.State)
	}
	if got := sim.chargedWith(code); len(got) != 1 {
		t.Fatalf("charged on %v", got)
	}
}

// An in-doubt payment is settled by hand with a recorded reason: it stays
// in the payment's history (resolution), is an event, and stops the
// reconciliation; only in_doubt payments can be resolved.
func TestResolveInDoubtByHand(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		unknown := func() (*gateway.Result, error) {
			return nil, &gateway.Error{Action: gateway.ActionStatusQuery, Outcome: gateway.Unknown, Err: errors.New("EOF")}
		}
		script := make([]func() (*gateway.Result, error), 1000)
		for i := range script {
			script[i] = unknown
		}
		a := startBubble(t, agent.Options{}, ottsim.Options{}, withGateway(func(real *gateway.Client) agent.Gateway {
			return &scriptGateway{Gateway: real, passiveLost: true, armed: true, queryScript: script}
		}))
		defer a.stop()
		sim := a.env
		var ids []string
		for i := 0; i < 2; i++ {
			code, _ := sim.sim.IssueCode("wechat")
			id := a.pos.create(context.Background(), client.PaymentRequest{Amount: 1500, Mode: "scan", AuthCode: code}).ID
			a.waitUntil(id, "in doubt", func(p *agent.Payment) bool { return p.State == agent.InDoubt })
			ids = append(ids, id)
		}
		if st := a.e.Status(); len(st.InDoubt) != 2 {
			t.Fatalf("status in_doubt %+v", st.InDoubt)
		}
		for _, c := range []struct {
			req  client.ResolveRequest
			code string
		}{
			{client.ResolveRequest{Outcome: client.Paid}, "reason_required"},
			{client.ResolveRequest{Outcome: client.Paid, Reason: "  "}, "reason_required"},
			{client.ResolveRequest{Outcome: "maybe", Reason: "x"}, "invalid_outcome"},
		} {
			if s, _, err := a.pos.resolve(ids[0], c.req); s != 400 || apiCode(err) != c.code {
				t.Errorf("%+v: %d %v", c.req, s, err)
			}
		}
		s, p, err := a.pos.resolve(ids[0], client.ResolveRequest{Outcome: client.Paid, Reason: "merchant portal shows it paid", Operator: "mgr-ann"})
		if s != 200 || err != nil || p.State != client.Succeeded || p.Resolution == nil || p.Resolution.Reason != "merchant portal shows it paid" || p.Resolution.Operator != "mgr-ann" {
			t.Fatalf("resolve paid: %d %v %+v", s, err, p)
		}
		s, p, err = a.pos.resolve(ids[1], client.ResolveRequest{Outcome: client.NotPaid, Reason: "customer's wallet shows no charge"})
		if s != 200 || err != nil || p.State != client.Failed || p.Error == nil || p.Error.Code != "resolved_not_paid" {
			t.Fatalf("resolve not paid: %d %v %+v", s, err, p)
		}
		if s, _, err := a.pos.resolve(ids[1], client.ResolveRequest{Outcome: client.Paid, Reason: "again"}); s != 422 {
			t.Fatalf("resolving a final payment: %d %v", s, err)
		}
		// The decisions are followed on the reconcile schedule (issue 22:
		// a resolution can be contradicted, never ignored). With no answer
		// from the gateway at all, the follow-up goes on (however often a
		// POS asks for a sync); once it answers, the decision is checked:
		// these payments were charged, so "paid" is confirmed.
		if st := a.e.Status(); len(st.InDoubt) != 0 || st.Outbox.ByKind["query"] != 2 {
			t.Fatalf("after resolving: in_doubt %+v, outbox %+v", st.InDoubt, st.Outbox)
		}
		for range 20 {
			a.pos.sync()
			settle()
		}
		time.Sleep(48 * time.Hour)
		settle()
		if st := a.e.Status(); st.Outbox.ByKind["query"] != 2 {
			t.Fatalf("a follow-up without answers ended: outbox %+v", st.Outbox)
		}
		if p := a.payment(ids[0]); p.Resolution == nil || !p.Resolution.Open() {
			t.Fatalf("follow-up of %s: %+v", ids[0], p.Resolution)
		}
		a.gw.(*scriptGateway).set(func(g *scriptGateway) { g.armed, g.queryScript = false, nil })
		time.Sleep(30 * time.Hour) // the daily step, with its jitter
		settle()
		if p := a.payment(ids[0]); p.Resolution == nil || !p.Resolution.Confirmed {
			t.Fatalf("the gateway answers paid: follow-up of %s: %+v", ids[0], p.Resolution)
		}
		if p := a.payment(ids[1]); p.Resolution == nil || p.Resolution.Contradicted == "" || p.State != agent.InDoubt && p.State != agent.Reversed {
			t.Fatalf("resolved not paid, charged: %s %+v", p.State, p.Resolution)
		}
		resolved := 0
		a.st.View(func(tx *store.Tx) error {
			evs, err := tx.Events(0, 0, 0)
			for _, ev := range evs {
				if strings.Contains(string(ev.Data), `"kind":"payment.resolved"`) {
					resolved++
				}
			}
			return err
		})
		if resolved != 2 {
			t.Fatalf("%d payment.resolved events, want 2", resolved)
		}
	})
}
