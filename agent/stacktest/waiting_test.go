package stacktest

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/gateway/ottsim"
)

// A scan payment the wallet asks the customer to confirm on the phone
// (the simulator's amounts ending in 02: PROCESSING, paid 5 s later) is
// processing with the reason waiting_for_customer, in the API and on the
// event stream, until it is paid; then the reason is gone.
func TestBubbleWaitingForCustomer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, agent.Options{}, ottsim.Options{PaidAfter: 20 * time.Second})
		defer b.stop()
		events, stop := b.e.Subscribe(b.e.LastSeq())
		reasons := make(chan string, 100)
		go func() {
			for ev := range events {
				if ev.Payment != nil {
					reasons <- ev.Payment.Reason
				}
			}
			close(reasons)
		}()
		code, err := b.sim.IssueCode("wechat")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		p, _, err := b.e.CreatePayment(context.Background(), agent.CreateRequest{Amount: 1202, Mode: "scan", AuthCode: code}, agent.IdemKey{Key: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(start.Add(10 * time.Second)))
		settle()
		if got := b.pos.get(p.ID); got.State != client.Processing || got.Reason != client.ReasonWaitingForCustomer {
			t.Fatalf("10 s into the customer's confirmation the API says %v (reason %v)", got.State, got.Reason)
		}
		time.Sleep(time.Minute)
		settle()
		if p = b.payment(p.ID); p.State != agent.Succeeded || p.Reason != "" {
			t.Fatalf("after the customer confirmed: %s, reason %q", p.State, p.Reason)
		}
		stop()
		waiting := 0
		for r := range reasons {
			if r == agent.ReasonWaitingForCustomer {
				waiting++
			}
		}
		if waiting != 1 {
			t.Errorf("%d payment.updated events say waiting_for_customer, want the one of the answer", waiting)
		}
	})
}

// The cashier cancels while the customer is asked to confirm (the
// simulator's 03: never confirmed, the wallet closes it 45 s later): the
// payment cannot be called off at the wallet, so it is in doubt and the
// answer says what that means for the customer's money; nothing was
// charged, and the reconciler then finds the order closed.
func TestBubbleCancelWhileWaitingForCustomer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, agent.Options{BackoffJitter: -1}, ottsim.Options{})
		defer b.stop()
		code, err := b.sim.IssueCode("alipay")
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := b.e.CreatePayment(context.Background(), agent.CreateRequest{Amount: 1203, Mode: "scan", AuthCode: code}, agent.IdemKey{Key: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Second)
		settle()
		if p = b.payment(p.ID); p.Reason != agent.ReasonWaitingForCustomer {
			t.Fatalf("not waiting for the customer: %s, reason %q", p.State, p.Reason)
		}
		s, got, err := b.pos.cancel(p.ID)
		if s != 200 || err != nil {
			t.Fatalf("cancel: %d %v", s, err)
		}
		if got.State != client.InDoubt || got.Error == nil || got.Error.Message != agent.MsgCancelledWaiting || got.Reason != "" {
			t.Fatalf("cancelled while waiting: %v %+v reason %q; want in_doubt saying %q", got.State, got.Error, got.Reason, agent.MsgCancelledWaiting)
		}
		time.Sleep(10 * time.Minute)
		settle()
		if p = b.payment(p.ID); p.State != agent.Cancelled && p.State != agent.Failed {
			t.Fatalf("reconciled: %s %+v, want cancelled (the wallet closed the order)", p.State, p.Error)
		}
		for _, o := range b.sim.Ledger() {
			if o.OrderID == p.OrderID && o.Charged != 0 {
				t.Fatalf("the customer was charged %d", o.Charged)
			}
		}
	})
}

// The wallets' own clocks: an Alipay scan order the customer never
// confirms is closed by Alipay 3 min after it was made. The payment is in
// doubt when the 60 s window ends; the reconciler's first query must come
// after Alipay's close, whatever the jitter (here its earliest: 2 min
// - 20 %), so that it finds the order closed and cancels the payment then,
// not one schedule step (10 min) later.
func TestBubbleFirstReconcileAfterTheWalletCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, agent.Options{Rand: func() float64 { return 0 }}, ottsim.Options{CloseAfter: 3 * time.Minute})
		defer b.stop()
		code, err := b.sim.IssueCode("alipay")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		p, _, err := b.e.CreatePayment(context.Background(), agent.CreateRequest{Amount: 1203, Mode: "scan", AuthCode: code}, agent.IdemKey{Key: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		p = b.waitUntil(p.ID, "final", func(p *agent.Payment) bool { return p.State.Final() })
		if p.State != agent.Cancelled && p.State != agent.Failed {
			t.Fatalf("%s %+v", p.State, p.Error)
		}
		if got := p.UpdatedAt.Sub(start); got < 3*time.Minute || got > 4*time.Minute {
			t.Errorf("cancelled %v after the code; want at the first query after Alipay's 3 min close (3m30s), history %v", got, p.History)
		}
	})
}
