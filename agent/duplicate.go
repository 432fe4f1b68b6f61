package agent

import (
	"fmt"

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
func (e *Engine) duplicateOf(tx *store.Tx, amount int64) (string, error) {
	if e.o.DuplicateWindow <= 0 {
		return "", nil
	}
	since := e.now().Add(-e.o.DuplicateWindow)
	found := ""
	// The state index, from the first id the window can hold: it reads the
	// failed and in-doubt payments of the window, not every payment made
	// in it (this runs inside the commit of every new payment).
	for _, st := range []State{Failed, InDoubt} {
		err := tx.PaymentsIn(st, false, store.IDAt(since), func(p *store.Payment) (bool, error) {
			if p.Amount == amount && !p.CreatedAt.Before(since) && p.ID > found {
				found = p.ID // the newest wins
			}
			return true, nil
		})
		if err != nil {
			return "", err
		}
	}
	return found, nil
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
