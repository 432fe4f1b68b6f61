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
	err := tx.ForEachPayment(false, store.IDAt(since), func(p *store.Payment) (bool, error) {
		if p.Amount == amount && !p.CreatedAt.Before(since) && (p.State == Failed || p.State == InDoubt) {
			found = p.ID // the newest wins: the iteration is oldest first
		}
		return true, nil
	})
	return found, err
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
