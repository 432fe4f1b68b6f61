package ottsim

import (
	"fmt"

	"github.com/posagent/posagent/gateway"
)

// RefundBehind refunds amount of a paid order as the merchant portal
// would, behind the agent's back (no refund order of the agent's): a test
// hook that plants a difference for the agent's reconciliation to find.
// The refund gets its own order id, "PORTAL" and a number.
func (s *Sim) RefundBehind(orderID string, amount int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[orderID]
	if !ok {
		return fmt.Errorf("ottsim: refund behind %s: %w", orderID, ErrUnknownOrder)
	}
	s.settle(o, s.now())
	if o.Status != gateway.StatusSuccess && o.Status != gateway.StatusPartialRefunded {
		return fmt.Errorf("ottsim: refund behind %s: order is %s: %w", orderID, o.Status, ErrNotPayable)
	}
	if amount <= 0 || amount > o.Charged-o.Refunded {
		return fmt.Errorf("ottsim: refund behind %s: %d is more than the %d left", orderID, amount, o.Charged-o.Refunded)
	}
	s.nextRef++
	id := fmt.Sprintf("PORTAL%014d", s.nextRef)
	o.Refunds = append(o.Refunds, Refund{OrderID: id, Amount: amount})
	o.Refunded += amount
	o.Status = gateway.StatusPartialRefunded
	if o.Refunded == o.Charged {
		o.Status = gateway.StatusFullyRefunded
	}
	s.refundOf[id] = orderID
	return nil
}
