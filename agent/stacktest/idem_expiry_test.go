package stacktest

import (
	"testing"
	"time"
)

// An idempotency key replayed after it expired (agent.idempotency_window)
// is refused with 409 idempotency_key_expired: its answer is gone, and
// taking the request anew would refund (or charge) a second time. The
// gateway's ledger holds one refund.
func TestExpiredIdempotencyKeyIsNotTakenAnew(t *testing.T) {
	a, sim, _, id := paidForRefunds(t, 5000)
	body := map[string]any{"amount": 1500}
	s, m := a.call("POST", "/v1/payments/"+id+"/refunds", body, "Idempotency-Key", "refund-1")
	if s != 200 && s != 201 && s != 202 {
		t.Fatalf("refund: %d %v", s, m)
	}
	if p := a.waitUntil(id, "the refund settled", refundsFinal); p.Refunded != 1500 {
		t.Fatalf("refunded %d, want 1500", p.Refunded)
	}
	// Within the window: the same answer, nothing made again.
	if s2, _ := a.call("POST", "/v1/payments/"+id+"/refunds", body, "Idempotency-Key", "refund-1"); s2 != s {
		t.Fatalf("replay within the window: %d, first %d", s2, s)
	}
	n, err := a.st.ExpireIdem(time.Now().Add(time.Hour))
	if err != nil || n < 2 {
		t.Fatalf("expire: %d keys, %v", n, err)
	}
	s, m = a.call("POST", "/v1/payments/"+id+"/refunds", body, "Idempotency-Key", "refund-1")
	if s != 409 || errCode(m) != "idempotency_key_expired" {
		t.Fatalf("replay after the key expired: %d %v", s, m)
	}
	// The payment's own key too: no second payment.
	before := len(sim.sim.Ledger())
	s, m = a.call("POST", "/v1/payments", map[string]any{"amount": 5000, "mode": "scan"}, "Idempotency-Key", "test-1")
	if s != 409 || errCode(m) != "idempotency_key_expired" {
		t.Fatalf("payment replay after the key expired: %d %v", s, m)
	}
	// A new key is a new request.
	if s, m := a.call("POST", "/v1/payments/"+id+"/refunds", map[string]any{"amount": 100}, "Idempotency-Key", "refund-2"); s >= 300 {
		t.Fatalf("a new key: %d %v", s, m)
	}
	p := a.waitUntil(id, "the refunds settled", refundsFinal)
	if led := sim.ledger()[p.OrderID]; led.Refunded != 1600 || p.Refunded != 1600 {
		t.Fatalf("refunded: ledger %d, journal %d, want 1600", led.Refunded, p.Refunded)
	}
	if got := len(sim.sim.Ledger()); got != before {
		t.Fatalf("orders at the gateway: %d, before the replay %d", got, before)
	}
}
