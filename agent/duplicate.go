package agent

import (
	"fmt"
	"sync"
	"time"

	"github.com/posagent/posagent/money"
	"github.com/posagent/posagent/store"
)

// Warning is something a cashier should look at before going on; nothing
// was refused. Code "possible_duplicate": an earlier payment for the same
// amount, PaymentID, failed or is in doubt, and the customer may already
// have paid.
type Warning struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	PaymentID string `json:"payment_id,omitempty"`
}

// duplicateOf finds the newest payment for amount created within
// DuplicateWindow that failed or is in doubt ("" when none, or when the
// guard is off): a customer asked to pay again after a scan that failed
// or hangs may pay twice.
//
// It runs inside the commit of every new payment, so it reads only the
// candidates of that amount (dupSet) and their states in the state index:
// no payment is decoded.
func (e *Engine) duplicateOf(tx *store.Tx, amount int64) (string, error) {
	if e.o.DuplicateWindow <= 0 {
		return "", nil
	}
	since := e.now().Add(-e.o.DuplicateWindow)
	found := ""
	for _, id := range e.dups.of(amount, since) {
		if st, ok := tx.StateOf(id); ok && (st == Failed || st == InDoubt) && id > found {
			found = id // the newest wins
		}
	}
	return found, nil
}

// dupSet holds, by amount, the payments created within the duplicate
// window that were written failed or in doubt: the candidates of
// duplicateOf, which checks each one's state as committed (a candidate
// whose write was undone, or that was since paid, is no longer failed or
// in doubt there). It is filled at start from the state index and by every
// payment write (putPayment), and holds no more than the window's failed
// and in-doubt payments.
type dupSet struct {
	mu       sync.Mutex
	byAmount map[int64]map[string]time.Time // amount -> payment id -> created
	n        int                            // entries
	swept    int                            // entries after the last sweep
}

func newDupSet() *dupSet { return &dupSet{byAmount: map[int64]map[string]time.Time{}} }

// note records p when it is failed or in doubt and created after since.
func (d *dupSet) note(p *store.Payment, since time.Time) {
	if (p.State != Failed && p.State != InDoubt) || p.CreatedAt.Before(since) {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.byAmount[p.Amount]
	if m == nil {
		m = map[string]time.Time{}
		d.byAmount[p.Amount] = m
	}
	if _, ok := m[p.ID]; !ok {
		m[p.ID] = p.CreatedAt
		d.n++
	}
	if d.n > 2*d.swept+64 {
		d.sweepLocked(since)
	}
}

// of returns the candidates for amount created at or after since.
func (d *dupSet) of(amount int64, since time.Time) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for id, at := range d.byAmount[amount] {
		if at.Before(since) {
			delete(d.byAmount[amount], id)
			d.n--
			continue
		}
		out = append(out, id)
	}
	return out
}

// sweepLocked drops the entries created before since (amortised: it runs
// when the set has doubled since the last sweep).
func (d *dupSet) sweepLocked(since time.Time) {
	for amount, m := range d.byAmount {
		for id, at := range m {
			if at.Before(since) {
				delete(m, id)
				d.n--
			}
		}
		if len(m) == 0 {
			delete(d.byAmount, amount)
		}
	}
	d.swept = d.n
}

// loadDups fills the set from the state index: the failed and in-doubt
// payments of the window (New, once).
func (e *Engine) loadDups(tx *store.Tx) error {
	if e.o.DuplicateWindow <= 0 {
		return nil
	}
	since := e.now().Add(-e.o.DuplicateWindow)
	for _, st := range []State{Failed, InDoubt} {
		err := tx.PaymentsIn(st, false, store.IDAt(since), func(p *store.Payment) (bool, error) {
			e.dups.note(p, since)
			return true, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// warningsOf are a payment's warnings for the API.
func warningsOf(p *store.Payment) []Warning {
	if p.DuplicateOf == "" {
		return nil
	}
	return []Warning{{Code: "possible_duplicate", PaymentID: p.DuplicateOf,
		Message: fmt.Sprintf("an earlier payment for the same amount (%s %s), %s, failed or is in doubt: check that the customer was not charged before taking this one",
			money.Amount(p.Amount).Format(p.Currency), p.Currency, p.DuplicateOf)}}
}
