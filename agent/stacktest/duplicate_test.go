package stacktest

import (
	"context"
	"testing"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/gateway/ottsim"
)

// After a declined scan, a new payment for the same amount comes back
// with a possible_duplicate warning naming it; it is taken all the same
// (the cashier decides), and a payment for another amount has none.
func TestPossibleDuplicateWarning(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, testOptions())

	s, created, err := a.pos.pay(client.PaymentRequest{Amount: 2001, Mode: "scan", AuthCode: wechatCode(6001)})
	if s != 201 || err != nil {
		t.Fatalf("create: %d %v", s, err)
	}
	first := a.waitFinal(created.ID)
	if first.State != agent.Failed || len(first.Warnings) != 0 {
		t.Fatalf("first %+v", first)
	}
	// The same amount again: a warning, and nothing blocked.
	s, second, err := a.pos.pay(client.PaymentRequest{Amount: 2001, Mode: "scan"})
	if s != 201 || err != nil || len(second.Warnings) != 1 || second.Warnings[0].Code != client.WarningPossibleDuplicate || second.Warnings[0].PaymentID != first.ID {
		t.Fatalf("second: %d %v %+v", s, err, second)
	}
	// It stays on the payment (GET, and the idempotent replay).
	if p := a.payment(second.ID); len(p.Warnings) != 1 || p.Warnings[0].PaymentID != first.ID {
		t.Fatalf("GET: %+v", p.Warnings)
	}
	if s, _, err := a.pos.cancel(second.ID); s != 200 || err != nil {
		t.Fatalf("cancel: %d %v", s, err)
	}
	// Another amount: no warning.
	if s, p, err := a.pos.pay(client.PaymentRequest{Amount: 2000, Mode: "scan", AuthCode: wechatCode(6002)}); s != 201 || err != nil || len(p.Warnings) != 0 {
		t.Fatalf("another amount: %d %v %+v", s, err, p)
	}
}

// The guard is off with a negative window.
func TestPossibleDuplicateOff(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	o := testOptions()
	o.DuplicateWindow = -1
	a := startAgent(t, "", gw, o)
	a.waitFinal(a.pos.create(context.Background(), client.PaymentRequest{Amount: 2001, Mode: "scan", AuthCode: wechatCode(6011)}).ID)
	if p := a.pos.create(context.Background(), client.PaymentRequest{Amount: 2001, Mode: "scan", AuthCode: wechatCode(6012)}); len(p.Warnings) != 0 {
		t.Fatalf("warnings with the guard off: %+v", p.Warnings)
	}
}

// A payment in doubt (the customer may be paying in the app) warns too.
func TestPossibleDuplicateAfterInDoubt(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, testOptions())
	sim.sim.SetFaults(ottsim.Faults{ErrorRate: 1}) // the gateway answers nothing believable
	created := a.pos.create(context.Background(), client.PaymentRequest{Amount: 3000, Mode: "scan", AuthCode: wechatCode(6021)})
	first := a.waitUntil(created.ID, "in doubt", func(p *agent.Payment) bool { return p.State == agent.InDoubt })
	if s, p, err := a.pos.pay(client.PaymentRequest{Amount: 3000, Mode: "scan"}); s != 201 || err != nil || len(p.Warnings) != 1 || p.Warnings[0].PaymentID != first.ID {
		t.Fatalf("after an in-doubt payment: %d %v %+v", s, err, p)
	}
}

// The candidates are rebuilt at start: a payment declined before a restart
// still warns the next payment for its amount after it.
func TestPossibleDuplicateAfterRestart(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, testOptions())
	first := a.waitFinal(a.pos.create(context.Background(), client.PaymentRequest{Amount: 2001, Mode: "scan", AuthCode: wechatCode(6031)}).ID)
	if first.State != agent.Failed {
		t.Fatalf("first %+v", first)
	}
	path := a.path
	a.stop()
	b := startAgent(t, path, gw, testOptions())
	defer b.stop()
	if s, p, err := b.pos.pay(client.PaymentRequest{Amount: 2001, Mode: "scan"}, "after-restart"); s != 201 || err != nil || len(p.Warnings) != 1 || p.Warnings[0].PaymentID != first.ID {
		t.Fatalf("after a restart: %d %v %+v", s, err, p)
	}
}
