package stacktest

import (
	"testing"

	"github.com/posagent/posagent/agent"
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

	s, m := a.call("POST", "/v1/payments", map[string]any{"amount": 2001, "mode": "scan", "auth_code": wechatCode(6001)})
	if s != 201 {
		t.Fatalf("create: %d %v", s, m)
	}
	first := a.waitFinal(decodePayment(t, m).ID)
	if first.State != agent.Failed || len(first.Warnings) != 0 {
		t.Fatalf("first %+v", first)
	}
	// The same amount again: a warning, and nothing blocked.
	s, m = a.call("POST", "/v1/payments", map[string]any{"amount": 2001, "mode": "scan"})
	second := decodePayment(t, m)
	if s != 201 || len(second.Warnings) != 1 || second.Warnings[0].Code != "possible_duplicate" || second.Warnings[0].PaymentID != first.ID {
		t.Fatalf("second: %d %+v", s, m)
	}
	// It stays on the payment (GET, and the idempotent replay).
	if p := a.payment(second.ID); len(p.Warnings) != 1 || p.Warnings[0].PaymentID != first.ID {
		t.Fatalf("GET: %+v", p.Warnings)
	}
	if s, m := a.call("POST", "/v1/payments/"+second.ID+"/cancel", nil); s != 200 {
		t.Fatalf("cancel: %d %v", s, m)
	}
	// Another amount: no warning.
	s, m = a.call("POST", "/v1/payments", map[string]any{"amount": 2000, "mode": "scan", "auth_code": wechatCode(6002)})
	if p := decodePayment(t, m); s != 201 || len(p.Warnings) != 0 {
		t.Fatalf("another amount: %d %+v", s, m)
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
	_, m := a.call("POST", "/v1/payments", map[string]any{"amount": 2001, "mode": "scan", "auth_code": wechatCode(6011)})
	a.waitFinal(decodePayment(t, m).ID)
	_, m = a.call("POST", "/v1/payments", map[string]any{"amount": 2001, "mode": "scan", "auth_code": wechatCode(6012)})
	if p := decodePayment(t, m); len(p.Warnings) != 0 {
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
	_, m := a.call("POST", "/v1/payments", map[string]any{"amount": 3000, "mode": "scan", "auth_code": wechatCode(6021)})
	first := a.waitUntil(decodePayment(t, m).ID, "in doubt", func(p *agent.Payment) bool { return p.State == agent.InDoubt })
	s, m := a.call("POST", "/v1/payments", map[string]any{"amount": 3000, "mode": "scan"})
	if p := decodePayment(t, m); s != 201 || len(p.Warnings) != 1 || p.Warnings[0].PaymentID != first.ID {
		t.Fatalf("after an in-doubt payment: %d %+v", s, m)
	}
}

// The candidates are rebuilt at start: a payment declined before a restart
// still warns the next payment for its amount after it.
func TestPossibleDuplicateAfterRestart(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, testOptions())
	_, m := a.call("POST", "/v1/payments", map[string]any{"amount": 2001, "mode": "scan", "auth_code": wechatCode(6031)})
	first := a.waitFinal(decodePayment(t, m).ID)
	if first.State != agent.Failed {
		t.Fatalf("first %+v", first)
	}
	path := a.path
	a.stop()
	b := startAgent(t, path, gw, testOptions())
	defer b.stop()
	s, m := b.call("POST", "/v1/payments", map[string]any{"amount": 2001, "mode": "scan"}, "Idempotency-Key", "after-restart")
	if p := decodePayment(t, m); s != 201 || len(p.Warnings) != 1 || p.Warnings[0].PaymentID != first.ID {
		t.Fatalf("after a restart: %d %+v", s, m)
	}
}
