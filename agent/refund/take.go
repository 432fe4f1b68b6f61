package refund

import (
	"context"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/store"
)

// Take refunds amount (nil: all that is left, which the API reaches only
// by an explicit "all": true or no amount key) of a succeeded payment. The
// refund is persisted with its own order id and sent by the outbox; the
// call waits up to APIWait for its answer. by is who asked, as recorded
// on the refund; its limits are judged in the refund's transaction.
func (d *Desk) Take(ctx context.Context, id string, amount *int64, k Key, by By) (*store.Payment, error) {
	var refundID string
	_, err := d.mutateOrSame(id, func(tx *store.Tx, p *store.Payment) error {
		old, err := d.eng.Replay(tx, k)
		if err != nil {
			return err
		}
		if old != nil {
			refundID = old.RefundID
			return errNoChange
		}
		if p.State != store.Succeeded {
			return operr.Errorf(operr.CodeInvalidState, "payment %s is %s; only a succeeded payment can be refunded", id, p.State)
		}
		if err := d.eng.CheckClock(); err != nil {
			return err
		}
		left := total(p) - p.Committed()
		amt := left
		if amount != nil {
			amt = *amount
		}
		if amt <= 0 && amount != nil {
			return operr.Errorf(operr.CodeInvalidAmount, "amount must be a positive integer number of cents, got %d", amt)
		}
		if left <= 0 {
			return operr.Errorf(operr.CodeNothingToRefund, "payment %s has nothing left to refund", id)
		}
		if amt > left {
			return operr.Errorf(operr.CodeAmountTooLarge, "at most %d can be refunded (amount %d, tip %d, refunds %d)", left, p.Amount, p.Tip, p.Committed())
		}
		if err := d.checkUnapproved(tx, p, amt, by); err != nil {
			return err
		}
		r, err := d.Add(tx, p, amt, false)
		if err != nil {
			return err
		}
		r.Operator, r.GatewayOperator, r.ApprovedBy = by.Operator, by.GatewayOperator, by.Approver
		refundID = r.ID
		return d.eng.Remember(tx, k, id, r.ID, 201)
	})
	if err != nil {
		return nil, err
	}
	return d.wait(ctx, id, refundID)
}

// checkUnapproved refuses a refund of amt without approval that would
// take payment p, or the open shift, past its limit (approval_required),
// and counts an accepted one on the shift. It runs in the refund's
// transaction; by.Unapproved nil: no limit applies (a manager's approval
// was given, or the caller needs none).
func (d *Desk) checkUnapproved(tx *store.Tx, p *store.Payment, amt int64, by By) error {
	lim := by.Unapproved
	if lim == nil || by.Approver != "" {
		return nil
	}
	if err := lim.checkPayment(p, amt); err != nil {
		return err
	}
	if lim.PerShift <= 0 {
		return nil
	}
	sh, err := tx.OpenShift()
	if err != nil {
		return err
	}
	if sh == nil {
		no, err := d.eng.ShiftNo(tx) // the refund opens the shift it is counted in
		if err != nil {
			return err
		}
		if sh, err = tx.Shift(no); err != nil {
			return err
		}
	}
	if err := lim.checkShift(sh, amt); err != nil {
		return err
	}
	sh.UnapprovedRefunds += amt
	return tx.PutShift(sh)
}

// Add appends a pending refund of amount to p, with its own order id, and
// queues its job, in tx (the caller writes p). auto: the engine's own
// refund of a sale paid after it was abandoned.
func (d *Desk) Add(tx *store.Tx, p *store.Payment, amount int64, auto bool) (*store.Refund, error) {
	now := d.clock.Now()
	id, orderID := d.eng.NewIDs(tx, now)
	r := store.Refund{ID: id, OrderID: orderID, Amount: amount, State: store.RefundPending,
		Auto: auto, CreatedAt: now, UpdatedAt: now, History: []store.HistoryEntry{{State: string(store.RefundPending), At: now}}}
	shift, err := d.eng.ShiftNo(tx)
	if err != nil {
		return nil, err
	}
	r.Shift = shift
	r.Behind = behind(p)
	p.Refunds = append(p.Refunds, r)
	if err := tx.AddJob(&store.Job{Kind: store.JobRefund, PaymentID: p.ID, RefundID: r.ID, NextAt: now, CreatedAt: now}); err != nil {
		return nil, err
	}
	return &p.Refunds[len(p.Refunds)-1], nil
}

// Refundable is what is left to refund of payment id now: its total less
// the refunds made or under way.
func (d *Desk) Refundable(id string) (int64, error) {
	p, err := d.eng.Payment(id)
	if err != nil {
		return 0, err
	}
	return total(p) - p.Committed(), nil
}

// Resolve settles an in-doubt refund on a manager's word, after they
// checked the merchant portal. A not-made automatic refund is made
// again; a cashier's can be retried (Retry). r is checked by the caller
// (agent.Engine.ResolveRefund: an outcome, a reason, bounded lengths).
func (d *Desk) Resolve(id, rid string, r ResolveRequest, k Key) (*store.Payment, error) {
	rec, err := d.mutateOrSame(id, func(tx *store.Tx, p *store.Payment) error {
		if old, err := d.eng.Replay(tx, k); err != nil || old != nil {
			return cmpErr(err, errNoChange)
		}
		ref := p.Refund(rid)
		if ref == nil {
			return operr.Errorf(operr.CodeNotFound, "payment %s has no refund %s", id, rid)
		}
		if ref.State != store.RefundInDoubt {
			return operr.Errorf(operr.CodeInvalidState, "refund %s is %s; only an in_doubt refund can be settled by hand", rid, ref.State)
		}
		now := d.clock.Now()
		ref.Resolution = &store.Resolution{Outcome: r.Outcome, Reason: r.Reason, Operator: r.Operator, At: now}
		to, rerr := store.RefundSucceeded, (*store.Error)(nil)
		switch r.Outcome {
		case "not_made":
			to, rerr = store.RefundFailed, &store.Error{Code: "refund_not_made", Message: "settled by hand as not made: " + r.Reason}
		case "made":
		default:
			return operr.Errorf(operr.CodeInvalidOutcome, `outcome must be "made" or "not_made", got %q`, r.Outcome)
		}
		if err := d.deleteJobs(tx, id, rid); err != nil {
			return err
		}
		if err := d.finish(tx, p, ref, to, rerr); err != nil {
			return err
		}
		if err := d.eng.Remember(tx, k, id, rid, 200); err != nil {
			return err
		}
		return d.eng.Resolved(tx, p, "refund "+rid+" "+r.Outcome+": "+r.Reason)
	})
	if err != nil {
		return nil, err
	}
	d.wake(id)
	d.log.Warn("agent: in-doubt refund settled by hand", "id", id, "refund", rid, "outcome", r.Outcome, "operator", r.Operator, "reason", r.Reason)
	return rec, nil
}

// cmpErr is err, or alt when err is nil.
func cmpErr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}

// deleteJobs deletes the jobs of refund rid of payment pid, in tx.
func (d *Desk) deleteJobs(tx *store.Tx, pid, rid string) error {
	jobs, err := tx.Jobs()
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Kind == store.JobRefund && j.PaymentID == pid && j.RefundID == rid {
			if err := tx.DeleteJob(j.Seq); err != nil {
				return err
			}
		}
	}
	return nil
}

// Retry makes again, under a new refund order id, a cashier's refund that
// was proven not made (POST /v1/payments/{id}/refunds/{refund}/retry):
// the same amount, operator and approval, in one step.
func (d *Desk) Retry(ctx context.Context, id, rid string, k Key) (*store.Payment, error) {
	var newID string
	_, err := d.mutateOrSame(id, func(tx *store.Tx, p *store.Payment) error {
		old, err := d.eng.Replay(tx, k)
		if err != nil {
			return err
		}
		if old != nil {
			newID = old.RefundID
			return errNoChange
		}
		ref := p.Refund(rid)
		if ref == nil {
			return operr.Errorf(operr.CodeNotFound, "payment %s has no refund %s", id, rid)
		}
		if ref.State != store.RefundFailed || ref.Error == nil || ref.Error.Code != "refund_not_made" {
			return operr.Errorf(operr.CodeInvalidState, "refund %s is not a refund proven not made; ask for a new refund instead", rid)
		}
		for _, o := range p.Refunds {
			if o.RetryOf == rid {
				return operr.Errorf(operr.CodeAlreadyRetried, "refund %s was already made again as %s", rid, o.ID)
			}
		}
		if p.State != store.Succeeded {
			return operr.Errorf(operr.CodeInvalidState, "payment %s is %s; only a succeeded payment can be refunded", id, p.State)
		}
		if left := total(p) - p.Committed(); ref.Amount > left {
			return operr.Errorf(operr.CodeAmountTooLarge, "at most %d can be refunded now", left)
		}
		nr, err := d.Add(tx, p, ref.Amount, false)
		if err != nil {
			return err
		}
		nr.Operator, nr.GatewayOperator, nr.ApprovedBy, nr.RetryOf = ref.Operator, ref.GatewayOperator, ref.ApprovedBy, rid
		newID = nr.ID
		return d.eng.Remember(tx, k, id, nr.ID, 201)
	})
	if err != nil {
		return nil, err
	}
	return d.wait(ctx, id, newID)
}

// wait waits up to APIWait for refund rid to be final; a refund that
// waits behind another is answered at once.
func (d *Desk) wait(ctx context.Context, id, rid string) (*store.Payment, error) {
	d.eng.Kick()
	return d.eng.WaitFor(ctx, id, d.o.APIWait, func(p *store.Payment) bool {
		r := p.Refund(rid)
		return r == nil || r.State.Final() || r.Behind != ""
	})
}
