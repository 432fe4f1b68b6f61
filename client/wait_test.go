package client_test

import (
	"context"
	"testing"
	"time"

	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/internal/agenttest"
)

// TestWaitRefund: against the whole stack, WaitRefund returns once the
// newest refund is final, and the simulator's ledger agrees; with one
// try it returns the payment as given.
func TestWaitRefund(t *testing.T) {
	d := startDaemon(t, stack{})
	c := d.client(client.Options{})
	ctx := context.Background()
	p, err := c.CreatePayment(ctx, client.PaymentRequest{Amount: 1250, Mode: "scan"})
	if err != nil {
		t.Fatal(err)
	}
	if p, err = c.GiveCode(ctx, p.ID, agenttest.WechatCode(1)); err != nil {
		t.Fatal(err)
	}
	p = waitPayment(t, c, p.ID, "succeeded", func(p *client.Payment) bool { return p.Final() })
	if p, err = c.Refund(ctx, p.ID, client.RefundRequest{Amount: 400}); err != nil {
		t.Fatal(err)
	}
	if same, err := c.WaitRefund(ctx, p, 1, time.Millisecond); same != p || err != nil {
		t.Errorf("one try: %p %v, want the payment given", same, err)
	}
	p, err = c.WaitRefund(ctx, p, 1000, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r := p.Refunds[len(p.Refunds)-1]; r.State != "succeeded" || r.Amount != 400 || p.Refunded != 400 {
		t.Fatalf("after WaitRefund: refund %+v, refunded %d", r, p.Refunded)
	}
	if o := d.sim.Ledger()[p.OrderID]; o.Refunded != 400 {
		t.Errorf("ledger refunded %d, want 400", o.Refunded)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	p.Refunds[len(p.Refunds)-1].State = "pending" // as if not final yet: the next look waits
	if _, err := c.WaitRefund(cctx, p, 5, time.Second); err != context.Canceled {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestPaymentWarning(t *testing.T) {
	p := &client.Payment{Warnings: []client.Warning{{Code: "other"}, {Code: client.WarningPossibleDuplicate, PaymentID: "pay_1"}}}
	if w := p.Warning(client.WarningPossibleDuplicate); w == nil || w.PaymentID != "pay_1" {
		t.Errorf("possible_duplicate: %+v", w)
	}
	if w := p.Warning("none"); w != nil {
		t.Errorf("a warning that is not there: %+v", w)
	}
}
