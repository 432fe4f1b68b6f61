package stacktest

import (
	"context"
	"testing"
	"time"

	"github.com/posagent/posagent/client"
)

// Issue 22, findings 1 and 2: refunds of one payment whose outcome is
// unknown were settled each against a payment record read before the
// query, in parallel, so the gateway's refunded total was counted for
// more than one of them. The journal's succeeded refunds must add up to
// what the ledger refunded.

// Two refunds of 40.00 in doubt, only one made at the gateway.
func TestTwoInDoubtRefundsAreNotBothMade(t *testing.T) {
	a, sim, gw, id := paidForRefunds(t, 10000)

	gw.set(func(g *scriptGateway) { g.refundScript = []string{"lost", "notsent"} })
	done := make(chan struct{}, 2)
	for range 2 {
		go func() {
			a.pos.refund(id, 4000) // each is taken; how each ends is the test
			done <- struct{}{}
		}()
	}
	<-done
	<-done
	p := a.waitUntil(id, "both refunds settled", refundsFinal)
	led := sim.ledger()[p.OrderID]
	if p.Refunded != led.Refunded {
		t.Fatalf("journal says %d refunded (%+v), the gateway refunded %d", p.Refunded, p.Refunds, led.Refunded)
	}
	if led.Refunded != 4000 {
		t.Fatalf("ledger refunded %d, want 4000", led.Refunded)
	}
}

// Three refunds of one payment, the first answered, the second never
// made and the third made, both of these with lost answers: each must
// end as the gateway has it (the black-box run saw 25.97 called
// succeeded while 28.77 was made and stayed in doubt for good).
func TestRefundsInDoubtAreAttributedExactly(t *testing.T) {
	a, sim, gw, id := paidForRefunds(t, 9750)

	gw.set(func(g *scriptGateway) { g.refundByAmount = map[int64]string{1117: "ok", 2597: "notsent", 2877: "lost"} })
	a.pos.mustRefund(id, 1117)
	done := make(chan struct{}, 2)
	for _, amt := range []int64{2597, 2877} {
		go func() {
			a.pos.refund(id, amt)
			done <- struct{}{}
		}()
	}
	<-done
	<-done
	p := a.waitUntil(id, "the refunds settled", refundsFinal)
	led := sim.ledger()[p.OrderID]
	if p.Refunded != led.Refunded {
		t.Fatalf("journal says %d refunded, the gateway refunded %d: %+v", p.Refunded, led.Refunded, p.Refunds)
	}
	made := map[int64]bool{}
	for _, r := range led.Refunds {
		made[r.Amount] = true
	}
	for _, r := range p.Refunds {
		if (r.State == "succeeded") != made[r.Amount] {
			t.Errorf("refund of %d is %s; made at the gateway: %v", r.Amount, r.State, made[r.Amount])
		}
	}
}

// paidForRefunds starts an agent whose refunds a script can lose, against
// the simulator, and a scan payment of amount it took: the start of each
// refund test. An in-doubt refund is judged not made 2 ms (scaled) after.
// The payment was asked for with the Idempotency-Key paidKey.
func paidForRefunds(t *testing.T, amount int64) (*agentEnv, *simEnv, *scriptGateway, string) {
	t.Helper()
	sim := startSim(t, "")
	real, hc := newGatewayClient(t, sim.url)
	t.Cleanup(hc.CloseIdleConnections)
	gw := &scriptGateway{Gateway: real}
	o := testOptions()
	o.RefundSettle = 100 * time.Millisecond
	a := startAgent(t, "", gw, o)
	code, _ := sim.sim.IssueCode("wechat")
	p := a.pos.create(context.Background(), client.PaymentRequest{Amount: amount, Mode: "scan", AuthCode: code}, paidKey)
	return a, sim, gw, a.waitFinal(p.ID).ID
}

// paidKey is the Idempotency-Key of paidForRefunds's payment.
const paidKey client.Key = "paid-for-refunds"
