package dupguard

import (
	"fmt"
	"sync"
	"time"

	"github.com/posagent/posagent/money"
	"github.com/posagent/posagent/store"
)

// Guard finds, for a new payment, the newest payment for the same amount
// created within the window that failed or is in doubt. A zero or negative
// window turns it off.
type Guard struct {
	window time.Duration
	now    func() time.Time // the wall clock: payments carry their creation time on it

	// mu guards the fields below.
	mu       sync.Mutex
	byAmount map[int64]map[string]time.Time // amount -> payment id -> created
	n        int                            // entries
	swept    int                            // entries after the last sweep
}

// New returns a Guard over the payments created within window of now().
func New(window time.Duration, now func() time.Time) *Guard {
	return &Guard{window: window, now: now, byAmount: map[int64]map[string]time.Time{}}
}

// candidate is whether a payment in st may be the one a customer is
// asked to pay again: it failed, or nobody knows whether it was paid.
func candidate(st store.State) bool { return st == store.Failed || st == store.InDoubt }

// Of finds the newest payment for amount created within the window that
// failed or is in doubt as committed in tx ("" when none, or when the
// guard is off). It runs inside the commit of every new payment, so it
// reads only the candidates of that amount and their states in the state
// index: no payment is decoded.
func (g *Guard) Of(tx *store.Tx, amount int64) (string, error) {
	if g.window <= 0 {
		return "", nil
	}
	since := g.now().Add(-g.window)
	found := ""
	for _, id := range g.of(amount, since) {
		if st, ok := tx.StateOf(id); ok && candidate(st) && id > found {
			found = id // the newest wins (ids are time-ordered)
		}
	}
	return found, nil
}

// Note records a payment as it is written at now (every payment write):
// it is a candidate when it is failed or in doubt and created within the
// window. The guard holds no more than the window's failed and in-doubt
// payments.
func (g *Guard) Note(p *store.Payment, now time.Time) {
	if g.window > 0 {
		g.note(p, now.Add(-g.window))
	}
}

// Load fills the guard from the state index: the failed and in-doubt
// payments of the window (once, before the engine takes payments).
func (g *Guard) Load(tx *store.Tx) error {
	if g.window <= 0 {
		return nil
	}
	since := g.now().Add(-g.window)
	for _, st := range []store.State{store.Failed, store.InDoubt} {
		err := tx.PaymentsIn(st, false, store.IDAt(since), func(p *store.Payment) (bool, error) {
			g.note(p, since)
			return true, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// note records p when it is failed or in doubt and created after since.
func (g *Guard) note(p *store.Payment, since time.Time) {
	if !candidate(p.State) || p.CreatedAt.Before(since) {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.byAmount[p.Amount]
	if m == nil {
		m = map[string]time.Time{}
		g.byAmount[p.Amount] = m
	}
	if _, ok := m[p.ID]; !ok {
		m[p.ID] = p.CreatedAt
		g.n++
	}
	if g.n > 2*g.swept+64 {
		g.sweepLocked(since)
	}
}

// of returns the candidates for amount created at or after since.
func (g *Guard) of(amount int64, since time.Time) []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	for id, at := range g.byAmount[amount] {
		if at.Before(since) {
			delete(g.byAmount[amount], id)
			g.n--
			continue
		}
		out = append(out, id)
	}
	return out
}

// sweepLocked drops the entries created before since (amortised: it runs
// when the set has doubled since the last sweep).
func (g *Guard) sweepLocked(since time.Time) {
	for amount, m := range g.byAmount {
		for id, at := range m {
			if at.Before(since) {
				delete(m, id)
				g.n--
			}
		}
		if len(m) == 0 {
			delete(g.byAmount, amount)
		}
	}
	g.swept = g.n
}

// Warning is something a cashier should look at before going on; nothing
// was refused. Code "possible_duplicate": an earlier payment for the same
// amount, PaymentID, failed or is in doubt, and the customer may already
// have paid.
type Warning struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	PaymentID string `json:"payment_id,omitempty"`
}

// Warnings are a payment's warnings for the API: the possible duplicate
// Of named when it was created (store.Payment.DuplicateOf).
func Warnings(p *store.Payment) []Warning {
	if p.DuplicateOf == "" {
		return nil
	}
	return []Warning{{Code: "possible_duplicate", PaymentID: p.DuplicateOf,
		Message: fmt.Sprintf("an earlier payment for the same amount (%s %s), %s, failed or is in doubt: check that the customer was not charged before taking this one",
			money.Amount(p.Amount).Format(p.Currency), p.Currency, p.DuplicateOf)}}
}
