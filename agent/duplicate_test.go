package agent

import (
	"testing"
	"time"

	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/store"
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
	if first.State != Failed || len(first.Warnings) != 0 {
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
	first := a.waitUntil(decodePayment(t, m).ID, "in doubt", func(p *Payment) bool { return p.State == InDoubt })
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
	if first.State != Failed {
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

// duplicateOf against the journal as committed: among many failed
// payments of other amounts it names the newest failed or in-doubt one of
// the amount, and not one that was in doubt and has since been paid, nor
// one created before the window.
func TestDuplicateOfCandidates(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, testOptions())
	defer a.stop()
	e := a.e
	put := func(amount int64, states ...State) *store.Payment {
		var p *store.Payment
		err := a.st.Update(func(tx *store.Tx) error {
			p = e.newPayment(tx, "scan", "", amount, "CAD", "", "")
			from := State("")
			for _, st := range states {
				p.State = st
				if err := e.putPayment(tx, p, from); err != nil {
					return err
				}
				from = st
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	find := func(amount int64) string {
		var id string
		if err := a.st.View(func(tx *store.Tx) (err error) { id, err = e.duplicateOf(tx, amount); return err }); err != nil {
			t.Fatal(err)
		}
		return id
	}
	for i := range 300 {
		put(int64(50000+i), Processing, Failed)
	}
	older := put(700, Processing, Failed)
	newer := put(700, Processing, InDoubt)
	put(700, Processing, Succeeded)
	if got := find(700); got != newer.ID {
		t.Fatalf("got %q, want the newest in doubt %s (older failed %s)", got, newer.ID, older.ID)
	}
	// The in-doubt one is paid after all: the failed one is left.
	err := a.st.Update(func(tx *store.Tx) error {
		p, err := tx.Payment(newer.ID)
		if err != nil {
			return err
		}
		p.State = Succeeded
		return e.putPayment(tx, p, InDoubt)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := find(700); got != older.ID {
		t.Fatalf("after the in-doubt one was paid: got %q, want %s", got, older.ID)
	}
	if got := find(701); got != "" {
		t.Fatalf("another amount: got %q", got)
	}
	// Past the window nothing is a candidate any more.
	e.o.DuplicateWindow = time.Nanosecond
	time.Sleep(time.Millisecond)
	if got := find(700); got != "" {
		t.Fatalf("past the window: got %q", got)
	}
	if n := e.dups.n; n > 310 {
		t.Fatalf("%d candidates kept", n)
	}
}
