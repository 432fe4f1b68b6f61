package refund

import (
	"fmt"
	"time"

	"github.com/posagent/posagent/agent/outbox"
	"github.com/posagent/posagent/store"
)

// A sale the gateway reports paid after it was abandoned (the cashier
// cancelled, the window ended, or a manager settled it as not paid) is
// reversed: the desk refunds it in full automatically, the payment stays
// in_doubt meanwhile, and the refund's success makes it reversed (finish).
// An automatic refund is carried through: one proven not made is made
// again, later and later, until it is made.

// Reverse starts the reversal of payment p, in tx: it goes (or stays)
// in_doubt with an automatic full refund queued; the refund's success
// makes it reversed. A payment already being reversed is left as it is.
func (d *Desk) Reverse(tx *store.Tx, p *store.Payment) error {
	if p.PaidLate {
		return nil
	}
	p.State, p.PaidLate = store.InDoubt, true
	p.Error = &store.Error{Code: "paid_after_cancel", Message: "paid after the sale was abandoned; refunding automatically"}
	left := total(p) - p.Committed()
	if left <= 0 {
		return nil
	}
	_, err := d.Add(tx, p, left, true)
	if err == nil {
		d.eng.Kick()
	}
	return err
}

// reverseAgain makes an automatic refund proven not made again, under a
// new refund order id, after a backoff that grows with each attempt. Once
// the reversal has taken ReversalEscalate, the payment says so (error
// reversal_stuck, an event, the status, a metric and an alert); it goes on.
func (d *Desk) reverseAgain(tx *store.Tx, p *store.Payment, failed *store.Refund) error {
	attempts, first := 0, failed.CreatedAt
	for _, r := range p.Refunds {
		if r.Auto {
			attempts++
			if r.CreatedAt.Before(first) {
				first = r.CreatedAt
			}
		}
	}
	left := total(p) - p.Committed()
	if left <= 0 {
		return nil
	}
	nr, err := d.Add(tx, p, left, true)
	if err != nil {
		return err
	}
	nr.RetryOf = failed.ID
	if err := d.delayJob(tx, p.ID, nr.ID, d.o.Jitter(outbox.Backoff(d.o.RetryBackoff, attempts))); err != nil {
		return err
	}
	msg := fmt.Sprintf("paid after the sale was abandoned; the automatic refund was not made (%d attempts), trying again", attempts)
	if d.clock.Age(first) >= d.o.ReversalEscalate {
		p.Error = &store.Error{Code: "reversal_stuck", Message: msg + fmt.Sprintf(" since %s: check the OTTPay merchant portal", first.UTC().Format(time.RFC3339))}
		return nil
	}
	p.Error = &store.Error{Code: "paid_after_cancel", Message: msg}
	return nil
}

// delayJob moves the job of refund rid (just added) to now+dur.
func (d *Desk) delayJob(tx *store.Tx, pid, rid string, dur time.Duration) error {
	jobs, err := tx.Jobs()
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Kind == store.JobRefund && j.PaymentID == pid && j.RefundID == rid {
			j.NextAt = d.clock.Now().Add(dur)
			return tx.PutJob(j)
		}
	}
	return nil
}
