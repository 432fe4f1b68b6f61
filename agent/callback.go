package agent

import (
	"errors"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/store"
)

// PollOrderNow makes the payment owning orderID poll now: its running flow (a qr
// payment being shown) and its outbox jobs (reconciliation) alike; it
// returns how many it woke. amount, when not zero, must be the payment's.
// A verified OTTPay call-back calls it: polling stays the source of truth.
func (e *Engine) PollOrderNow(orderID string, amount int64) (int, error) {
	n := 0
	err := e.st.Update(func(tx *store.Tx) error {
		id, err := tx.PaymentIDByOrder(orderID)
		if errors.Is(err, store.ErrNotFound) {
			return errf(operr.CodeNotFound, "no order %s", orderID)
		}
		if err != nil {
			return err
		}
		p, err := tx.Payment(id)
		if err != nil {
			return err
		}
		if amount != 0 && !gateway.AmountMatches(amount, p.Amount, p.Tip, e.o.FeeAllowanceBPS) && p.OrderID == orderID {
			return errf(operr.CodeAmountMismatch, "call-back amount %d is not the order's %d (tip %d)", amount, p.Amount, p.Tip)
		}
		e.mu.Lock()
		if f := e.flows[id]; f != nil {
			select {
			case f.poke <- struct{}{}:
			default:
			}
			n++
		}
		e.mu.Unlock()
		jobs, err := e.dueNow(tx, id)
		n += jobs
		return err
	})
	if err != nil {
		return 0, err
	}
	e.kickOutbox()
	return n, nil
}
