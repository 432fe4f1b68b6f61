package stacktest

import (
	"testing"
	"time"

	"github.com/posagent/posagent/client"
)

// An idempotency key replayed after it expired (agent.idempotency_window)
// is refused with 409 idempotency_key_expired: its answer is gone, and
// taking the request anew would refund (or charge) a second time. The
// gateway's ledger holds one refund.
func TestExpiredIdempotencyKeyIsNotTakenAnew(t *testing.T) {
	a, sim, _, id := paidForRefunds(t, 5000)
	s, _, err := a.pos.refund(id, 1500, "refund-1")
	if s != 200 && s != 201 && s != 202 || err != nil {
		t.Fatalf("refund: %d %v", s, err)
	}
	if p := a.waitUntil(id, "the refund settled", refundsFinal); p.Refunded != 1500 {
		t.Fatalf("refunded %d, want 1500", p.Refunded)
	}
	// Within the window: the same answer, nothing made again.
	if s2, p, err := a.pos.refund(id, 1500, "refund-1"); s2 != s || err != nil || len(p.Refunds) != 1 {
		t.Fatalf("replay within the window: %d %v %+v, first %d", s2, err, p, s)
	}
	n, err := a.st.ExpireIdem(time.Now().Add(time.Hour))
	if err != nil || n < 2 {
		t.Fatalf("expire: %d keys, %v", n, err)
	}
	s, _, err = a.pos.refund(id, 1500, "refund-1")
	if s != 409 || apiCode(err) != "idempotency_key_expired" {
		t.Fatalf("replay after the key expired: %d %v", s, err)
	}
	// The payment's own key too: no second payment.
	before := len(sim.sim.Ledger())
	s, _, err = a.pos.pay(client.PaymentRequest{Amount: 5000, Mode: "scan"}, paidKey)
	if s != 409 || apiCode(err) != "idempotency_key_expired" {
		t.Fatalf("payment replay after the key expired: %d %v", s, err)
	}
	// A new key is a new request.
	if s, _, err := a.pos.refund(id, 100, "refund-2"); s >= 300 || err != nil {
		t.Fatalf("a new key: %d %v", s, err)
	}
	p := a.waitUntil(id, "the refunds settled", refundsFinal)
	if led := sim.ledger()[p.OrderID]; led.Refunded != 1600 || p.Refunded != 1600 {
		t.Fatalf("refunded: ledger %d, journal %d, want 1600", led.Refunded, p.Refunded)
	}
	if got := len(sim.sim.Ledger()); got != before {
		t.Fatalf("orders at the gateway: %d, before the replay %d", got, before)
	}
}
