package stacktest

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/refund"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/internal/agenttest"
	"github.com/posagent/posagent/store"
)

// The tests of this file reproduce issue 22's findings against the
// simulator's ledger, in synctest bubbles at the real schedule; each
// failed on the code before its fix.

// inDoubtCharged makes a scan payment the gateway charges but whose answer
// and queries are lost, so that it ends in doubt: the money was taken.
func inDoubtCharged(t *testing.T, b *bubbleEnv, g *scriptGateway, amount int64) *agent.Payment {
	t.Helper()
	g.set(func(g *scriptGateway) {
		g.passiveLost, g.armed = true, true
		g.queryScript = make([]func() (*gateway.Result, error), 30)
		for i := range g.queryScript {
			g.queryScript[i] = func() (*gateway.Result, error) {
				return nil, &gateway.Error{Action: gateway.ActionStatusQuery, Outcome: gateway.Unknown, Err: errors.New("EOF")}
			}
		}
	})
	code, _ := b.sim.IssueCode("wechat")
	p, _, err := b.e.CreatePayment(context.Background(), agent.CreateRequest{Amount: amount, Mode: "scan", AuthCode: code}, agent.IdemKey{Key: "k" + code})
	if err != nil {
		t.Fatal(err)
	}
	p = b.waitUntil(p.ID, "in doubt", func(p *agent.Payment) bool { return p.State == agent.InDoubt })
	g.set(func(g *scriptGateway) { g.passiveLost, g.armed, g.queryScript = false, false, nil })
	return p
}

// Finding 3: with a changed sign key the gateway answers FAIL to every
// query; a FAIL carries no authenticated data, so a charged payment must
// not be made "failed, nothing charged". The credentials are reported
// (gateway_auth) and no payment is sent while they are refused.
func TestFailOnAnUnprovenChannelIsNotNoSuchOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "posagent.db")
		var g *scriptGateway
		b := startBubble(t, agent.Options{}, ottsim.Options{}, withJournal(path), withGateway(func(real *gateway.Client) agent.Gateway {
			g = &scriptGateway{Gateway: real}
			return g
		}))
		p := inDoubtCharged(t, b, g, 2500)
		sim := b.sim
		b.stop()

		// The technician changes the sign key by mistake.
		w := startBubble(t, agent.Options{}, ottsim.Options{}, withJournal(path), withSim(sim), withSignKey("0123456789ABCDEF0123456789ABCDEF"))
		time.Sleep(6 * time.Hour)
		settle()
		if got := w.payment(p.ID); got.State != agent.InDoubt {
			t.Fatalf("with a wrong sign key the charged payment became %s (%+v)", got.State, got.Error)
		}
		st := w.e.Status()
		if st.Gateway.Auth.State != agent.AuthRefused {
			t.Fatalf("gateway auth %+v, want refused", st.Gateway.Auth)
		}
		orders := len(sim.Ledger())
		code, _ := sim.IssueCode("alipay")
		_, _, err := w.e.CreatePayment(context.Background(), agent.CreateRequest{Amount: 700, Mode: "scan", AuthCode: code}, agent.IdemKey{Key: "k2"})
		var ae *agent.OpError
		if !errors.As(err, &ae) || ae.Code != operr.CodeGatewayAuth || ae.Kind != operr.KindUnavailable {
			t.Fatalf("a payment while the credentials are refused: %v", err)
		}
		if len(sim.Ledger()) != orders {
			t.Fatalf("a payment reached the gateway while its credentials were refused")
		}
		w.stop()

		// The right key again: the payment is found paid and, as an
		// abandoned sale, refunded: the ledger nets to zero.
		r := startBubble(t, agent.Options{}, ottsim.Options{}, withJournal(path), withSim(sim))
		defer r.stop()
		time.Sleep(25 * time.Hour)
		settle()
		got := r.payment(p.ID)
		if got.State != agent.Reversed {
			t.Fatalf("after the key was fixed: %s %+v", got.State, got.Error)
		}
		if o := agenttest.LedgerOf(sim)[got.OrderID]; o.Charged != 2500 || o.Refunded != 2500 {
			t.Fatalf("ledger %+v", o)
		}
		if st := r.e.Status(); st.Gateway.Auth.State != agent.AuthOK {
			t.Fatalf("gateway auth after the fix %+v", st.Gateway.Auth)
		}
	})
}

// qrResolvedByHand makes a qr payment of 25.00 the customer has not paid,
// waits until its window ends in doubt, and has a manager settle it by
// hand with outcome.
func qrResolvedByHand(t *testing.T, b *bubbleEnv, outcome string) *agent.Payment {
	t.Helper()
	p, _, err := b.e.CreatePayment(context.Background(), agent.CreateRequest{Amount: 2500, Mode: "qr", Wallet: "wechat"}, agent.IdemKey{Key: "q1"})
	if err != nil {
		t.Fatal(err)
	}
	p = b.waitUntil(p.ID, "in doubt", func(p *agent.Payment) bool { return p.State == agent.InDoubt })
	if _, err := b.e.Resolve(p.ID, agent.ResolveRequest{Outcome: outcome, Reason: "the manager checked"}, agent.IdemKey{Key: "r1"}); err != nil {
		t.Fatal(err)
	}
	return p
}

// Finding 5a: a qr order resolved "not paid" by hand that the customer
// pays afterwards is refunded automatically (reversed) and the
// contradiction is announced; before, it stayed cancelled, the money kept.
func TestResolvedNotPaidThenPaidIsRefunded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, agent.Options{}, ottsim.Options{})
		defer b.stop()
		p := qrResolvedByHand(t, b, "not_paid")
		if got := b.payment(p.ID); got.State != agent.Cancelled {
			t.Fatalf("resolved not paid: %s", got.State)
		}
		// The customer pays the QR they had scanned.
		if err := b.sim.Pay(p.OrderID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Hour)
		settle()
		got := b.payment(p.ID)
		if got.State != agent.Reversed || got.Resolution == nil || got.Resolution.Contradicted == "" {
			t.Fatalf("paid after it was resolved not paid: %s %+v %+v", got.State, got.Error, got.Resolution)
		}
		if o := agenttest.LedgerOf(b.sim)[p.OrderID]; o.Charged != 2500 || o.Refunded != 2500 {
			t.Fatalf("ledger %+v: the customer keeps being charged", o)
		}
		if n := countEvents(t, b.st, agent.KindResolutionContradicted); n != 1 {
			t.Fatalf("%d contradiction events", n)
		}
	})
}

// Finding 5, the other way: a payment resolved paid that the gateway
// reports closed is flagged to the manager (its state stays; only the
// portal can tell).
func TestResolvedPaidThenNotPaidIsFlagged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, agent.Options{}, ottsim.Options{})
		defer b.stop()
		p := qrResolvedByHand(t, b, "paid")
		time.Sleep(7 * time.Hour)
		settle()
		got := b.payment(p.ID)
		if got.State != agent.Succeeded || got.Resolution == nil || got.Resolution.Contradicted == "" || got.Error == nil || got.Error.Code != "resolution_contradicted" {
			t.Fatalf("resolved paid, closed at the gateway: %s %+v %+v", got.State, got.Error, got.Resolution)
		}
	})
}

// Finding 7: the automatic refund of a sale paid after it was abandoned,
// whose REFUND never reached the gateway but whose outcome was unknown,
// was judged "not made" and given up ("refund it by hand"), the customer
// charged. It is made again under a new refund order id until it is made.
func TestAutomaticReversalIsCarriedThrough(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g *scriptGateway
		b := startBubble(t, agent.Options{}, ottsim.Options{}, withGateway(func(real *gateway.Client) agent.Gateway {
			g = &scriptGateway{Gateway: real}
			return g
		}))
		defer b.stop()
		p, _, err := b.e.CreatePayment(context.Background(), agent.CreateRequest{Amount: 7700, Mode: "qr", Wallet: "alipay"}, agent.IdemKey{Key: "q1"})
		if err != nil {
			t.Fatal(err)
		}
		b.waitUntil(p.ID, "processing with a QR", func(p *agent.Payment) bool { return p.CodeURL != "" })
		if _, err := b.e.Cancel(context.Background(), p.ID, agent.IdemKey{Key: "c1"}); err != nil {
			t.Fatal(err)
		}
		g.set(func(g *scriptGateway) { g.refundScript = []string{"notsent", "fail", "notsent"} })
		if err := b.sim.Pay(p.OrderID); err != nil {
			t.Fatal(err)
		}
		time.Sleep(6 * time.Hour)
		settle()
		got := b.payment(p.ID)
		if got.State != agent.Reversed {
			t.Fatalf("abandoned sale paid late: %s %+v, refunds %+v", got.State, got.Error, got.Refunds)
		}
		if o := agenttest.LedgerOf(b.sim)[p.OrderID]; o.Charged != 7700 || o.Refunded != 7700 {
			t.Fatalf("ledger %+v", o)
		}
		if len(got.Refunds) != 4 || got.Refunds[3].RetryOf != got.Refunds[2].ID {
			t.Fatalf("refunds %+v", got.Refunds)
		}
	})
}

// A refund made behind the agent's back (the merchant portal) while one
// of the agent's is in doubt: the gateway's total cannot be attributed
// without a guess, so the refund stays in doubt, marked ambiguous; a new
// refund waits behind it and says so; a manager settles it by hand.
func TestAmbiguousRefundWaitsForAManager(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g *scriptGateway
		b := startBubble(t, agent.Options{}, ottsim.Options{}, withGateway(func(real *gateway.Client) agent.Gateway {
			g = &scriptGateway{Gateway: real}
			return g
		}))
		defer b.stop()
		code, _ := b.sim.IssueCode("wechat")
		p, _, err := b.e.CreatePayment(context.Background(), agent.CreateRequest{Amount: 10000, Mode: "scan", AuthCode: code}, agent.IdemKey{Key: "p1"})
		if err != nil {
			t.Fatal(err)
		}
		b.waitFinal(p.ID)
		g.set(func(g *scriptGateway) { g.refundScript = []string{"notsent"} })
		amt := int64(3000)
		if _, err := b.e.RefundPayment(context.Background(), p.ID, &amt, agent.IdemKey{Key: "r1"}, refund.By{}); err != nil {
			t.Fatal(err)
		}
		if err := b.sim.RefundBehind(p.OrderID, 1000); err != nil {
			t.Fatal(err)
		}
		time.Sleep(30 * time.Minute)
		settle()
		got := b.payment(p.ID)
		if r := got.Refunds[0]; r.State != "in_doubt" || r.Ambiguous == "" {
			t.Fatalf("refund with an unexplained total: %+v", r)
		}
		amt2 := int64(500)
		q, err := b.e.RefundPayment(context.Background(), p.ID, &amt2, agent.IdemKey{Key: "r2"}, refund.By{})
		if err != nil {
			t.Fatal(err)
		}
		if r := q.Refunds[1]; r.State != "pending" || r.Behind != got.Refunds[0].ID {
			t.Fatalf("a refund behind an ambiguous one: %+v", r)
		}
		if _, err := b.e.ResolveRefund(p.ID, got.Refunds[0].ID, refund.ResolveRequest{Outcome: "not_made", Reason: "the portal shows only a 10.00 refund by the owner"}, agent.IdemKey{Key: "m1"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Minute)
		settle()
		got = b.payment(p.ID)
		if got.Refunds[0].State != "failed" || got.Refunds[1].State != "succeeded" {
			t.Fatalf("after the manager: %+v", got.Refunds)
		}
		if o := agenttest.LedgerOf(b.sim)[p.OrderID]; o.Refunded != 1500 {
			t.Fatalf("ledger refunded %d, want 1500 (10.00 in the portal, 5.00 by the agent)", o.Refunded)
		}
	})
}

// countEvents counts the journal's events of kind.
func countEvents(t *testing.T, st *store.Store, kind string) int {
	t.Helper()
	n := 0
	err := st.View(func(tx *store.Tx) error {
		evs, err := tx.Events(0, 0, 0)
		for _, ev := range evs {
			var m agent.Event
			if json.Unmarshal(ev.Data, &m) == nil && m.Kind == kind {
				n++
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Finding 6: a code used once was sent again after the wall clock jumped
// 24 h ahead (its earlier use judged by its wall-clock age); only the
// wallet refused it. It is refused here, before any network call.
func TestUsedCodeAfterAForwardJump(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	clk := &manualClock{now: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)}
	a := startAgent(t, "", gw, agent.Options{Clock: clk, Timing: timingWith(func(t *agent.Timing) { t.APIWait = time.Nanosecond })})
	code, _ := sim.sim.IssueCode("wechat")
	status, first, err := a.pos.pay(client.PaymentRequest{Amount: 1000, Mode: "scan", AuthCode: code}, "sale-1")
	if status != 201 || err != nil {
		t.Fatalf("%d %v", status, err)
	}
	id := first.ID
	waitFor(t, "the payment to succeed", func() bool { return a.payment(id).State == agent.Succeeded })
	clk.Jump(25 * time.Hour)
	status, _, err = a.pos.pay(client.PaymentRequest{Amount: 1000, Mode: "scan", AuthCode: code}, "sale-2")
	if status != 409 || apiCode(err) != "code_already_used" {
		t.Fatalf("the used code after a 25 h jump: %d %v", status, err)
	}
	if n := len(sim.sim.Ledger()); n != 1 {
		t.Fatalf("%d orders reached the gateway, want 1", n)
	}
}

// A cashier's refund proven not made is shown with a one-step retry over
// the API: the same amount under a new refund order id, once.
func TestRefundNotMadeIsRetriedInOneStep(t *testing.T) {
	a, sim, gw, id := paidForRefunds(t, 5000)
	gw.set(func(g *scriptGateway) { g.refundScript = []string{"notsent"} })
	a.pos.mustRefund(id, 2000)
	p := a.waitUntil(id, "the refund settled", refundsFinal)
	r := p.Refunds[0]
	if r.State != "failed" || r.Error == nil || r.Error.Code != "refund_not_made" {
		t.Fatalf("refund not made: %+v", r)
	}
	if s, _, err := a.pos.retryRefund(id, r.ID); s != 201 || err != nil {
		t.Fatalf("retry: %d %v", s, err)
	}
	p = a.waitUntil(id, "the retry settled", refundsFinal)
	if len(p.Refunds) != 2 || p.Refunds[1].State != "succeeded" || p.Refunds[1].RetryOf != r.ID || p.Refunds[1].Amount != 2000 {
		t.Fatalf("after the retry: %+v", p.Refunds)
	}
	if s, _, err := a.pos.retryRefund(id, r.ID); s != 409 || apiCode(err) != "already_retried" {
		t.Fatalf("a second retry: %d %v", s, err)
	}
	if s, _, err := a.pos.retryRefund(id, p.Refunds[1].ID); s != 422 {
		t.Fatalf("retrying a refund that succeeded: %d %v", s, err)
	}
	if led := sim.ledger()[p.OrderID]; led.Refunded != 2000 {
		t.Fatalf("ledger refunded %d", led.Refunded)
	}
}
