package refund

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/agent/outbox"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/store"
)

// Send runs a refund job of the outbox: it sends a pending refund (or
// resends it, with its own order id, when the last attempt certainly
// never left this machine). A refund whose outcome is unknown (in_doubt)
// is never sent again: it is settled from the original order's
// STATUS_QUERY, which reports what was refunded. free is called once the
// gateway call is over, before the outcome is committed.
func (d *Desk) Send(ctx context.Context, j *store.Job, free func()) {
	p, err := d.eng.Payment(j.PaymentID)
	if err != nil {
		d.dropJob(j)
		return
	}
	r := p.Refund(j.RefundID)
	if r == nil || r.State.Final() {
		d.dropJob(j)
		return
	}
	if h := head(p); h.ID != r.ID {
		// Woken when the head ends (wake); the delay is a safety net.
		d.deferJob(j, outbox.Backoff(d.o.RetryBackoff, 2), fmt.Errorf("agent: waits behind refund %s of the same payment", h.ID))
		return
	}
	if err := d.auth.Refuse(); err != nil {
		d.deferJob(j, outbox.Backoff(d.o.RetryBackoff, 1), err)
		return
	}
	if r.State == store.RefundInDoubt {
		d.settle(ctx, j, p, r, free)
		return
	}
	res, err := d.gw.Refund(ctx, gateway.RefundRequest{OrderID: r.OrderID, OriginalOrderID: p.OrderID, Amount: r.Amount, OperatorID: r.GatewayOperator})
	// A call cut short by a stop may have reached the gateway: it falls
	// through to in doubt below (settled from the original order), never
	// left pending to be sent again.
	free()
	a := d.eng.Answer(gateway.ActionRefund, res, err)
	switch {
	case err == nil:
		d.done(j, store.RefundSucceeded, nil)
	case errors.Is(err, gateway.ErrNotSent):
		d.eng.RetryJob(j, err, a)
	case gateway.OutcomeOf(err) == gateway.Failed && !r.Auto && d.auth.SoundAfter(ctx, d.clock.Mono()):
		// A refusal of a cashier's refund on a channel just proven sound:
		// nothing was refunded, and the cashier is told so.
		code, msg := d.eng.Refusal(err)
		d.done(j, store.RefundFailed, &store.Error{Code: "refund_" + code, Message: msg})
	default:
		// Possibly done, or a refusal that proves nothing (a bare FAIL is
		// not authenticated; an automatic refund is carried through, so
		// it is only ever judged from the original order): in doubt.
		d.inDoubt(j, err, a)
	}
}

// inDoubt records that a refund's send may have reached the gateway with
// an unknown outcome; it is settled from the original order.
func (d *Desk) inDoubt(j *store.Job, why error, a *store.Answer) {
	_, merr := d.eng.Mutate(j.PaymentID, func(tx *store.Tx, p *store.Payment) error {
		r := p.Refund(j.RefundID)
		if r == nil || r.State != store.RefundPending {
			return errNoChange
		}
		r.SentAt = d.clock.Now()
		d.setState(r, store.RefundInDoubt, nil)
		return nil
	})
	if merr != nil && !errors.Is(merr, errNoChange) {
		d.eng.StoreError("refund in doubt", merr)
	}
	d.markSent(j.RefundID)
	d.eng.RetryJob(j, why, a)
}

// markSent starts (again) the monotonic span an in-doubt refund is given
// before it can be called not made.
func (d *Desk) markSent(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.sent) > 10000 {
		d.sent = map[string]time.Duration{}
	}
	d.sent[id] = d.clock.Mono()
}

// settledTooLong reports whether an in-doubt refund has had RefundSettle,
// by the wall clock since its send ended and by the monotonic clock since
// this process saw it sent (or first judged it): a REFUND request still in
// flight, or a clock that jumped ahead, never makes it "not made".
func (d *Desk) settledTooLong(r *store.Refund) bool {
	d.mu.Lock()
	since, ok := d.sent[r.ID]
	if !ok {
		d.sent[r.ID] = d.clock.Mono()
		since = d.clock.Mono()
	}
	mono := d.clock.Mono() - since
	d.mu.Unlock()
	at := r.SentAt
	if at.IsZero() {
		at = r.UpdatedAt
	}
	return mono >= d.o.RefundSettle && d.clock.OlderThan(at, d.o.RefundSettle)
}

// settle resolves an in-doubt refund from the original order's
// STATUS_QUERY, in the transaction that records the outcome, against the
// payment as it is then (judge).
func (d *Desk) settle(ctx context.Context, j *store.Job, p *store.Payment, r *store.Refund, free func()) {
	res, err := d.gw.QueryOrder(ctx, p.OrderID, p.Amount, p.Tip)
	if ctx.Err() != nil {
		return
	}
	answered := d.clock.Mono()
	free()
	a := d.eng.Answer(gateway.ActionStatusQuery, res, err)
	if a.Answered && a.RspCode == gateway.CodeFail && d.auth.SoundAfter(ctx, answered) {
		// The gateway has no such original order, on a channel proven
		// sound: nothing of it can have been refunded (a payment settled
		// by hand as paid that was never charged, for one).
		res, err = &gateway.Result{Action: gateway.ActionStatusQuery, OrderID: p.OrderID, HasRefunded: true}, nil
	}
	if err != nil && gateway.QueryOutcome(err) != gateway.Failed || res == nil {
		if err == nil {
			err = errors.New("agent: no answer")
		}
		d.eng.RetryJob(j, err, a)
		return
	}
	if _, known := refundedTotal(p, res); !known {
		d.eng.RetryJob(j, fmt.Errorf("agent: the original order %s is %s without a refunded amount", p.OrderID, res.OrderStatus), a)
		return
	}
	var v verdict
	_, err = d.eng.Mutate(p.ID, func(tx *store.Tx, p *store.Payment) error {
		gwTotal, _ := refundedTotal(p, res)
		v = judge(p, j.RefundID, gwTotal, d.settledTooLong)
		if !v.changes() {
			return errNoChange
		}
		return d.apply(tx, p, j, v)
	})
	if err != nil && !errors.Is(err, errNoChange) {
		d.eng.StoreError("refund settle", err)
		d.eng.RetryJob(j, err, a)
		return
	}
	d.settled(j, p, v, a)
}

// settled logs what settle found and wakes or retries accordingly.
func (d *Desk) settled(j *store.Job, p *store.Payment, v verdict, a *store.Answer) {
	switch {
	case v.made != nil:
		d.log.Info("agent: in-doubt refund found on the original order", "payment", p.ID, "refunds", v.made, "refunded_total", v.gwTotal)
		d.wake(p.ID)
	case v.notMade != nil:
		d.log.Warn("agent: in-doubt refund is not on the original order; it was not made", "payment", p.ID, "refunds", v.notMade)
		d.wake(p.ID)
	case v.ambiguous != "":
		d.log.Warn("agent: in-doubt refund cannot be attributed without a guess; a manager settles it", "payment", p.ID, "refund", j.RefundID, "why", v.ambiguous)
		d.eng.RetryJob(j, errors.New("agent: "+v.ambiguous), a)
	default:
		d.eng.RetryJob(j, fmt.Errorf("agent: the original order %s shows %d refunded, %d known; waiting", p.OrderID, v.gwTotal, v.known), a)
	}
}

// apply records v on p, in the transaction that read p.
func (d *Desk) apply(tx *store.Tx, p *store.Payment, j *store.Job, v verdict) error {
	for _, id := range v.made {
		if err := d.finish(tx, p, p.Refund(id), store.RefundSucceeded, nil); err != nil {
			return err
		}
	}
	for _, id := range v.notMade {
		err := d.finish(tx, p, p.Refund(id), store.RefundFailed, &store.Error{Code: "refund_not_made",
			Message: "the original order shows no such refund: nothing was refunded; retry it (POST .../refunds/{id}/retry) if the customer is owed"})
		if err != nil {
			return err
		}
	}
	if r := p.Refund(j.RefundID); r != nil && r.State == store.RefundInDoubt {
		r.Ambiguous = v.ambiguous
		r.UpdatedAt = d.clock.Now()
		return nil
	}
	return tx.DeleteJob(j.Seq)
}

func (d *Desk) setState(r *store.Refund, to store.RefundState, rerr *store.Error) {
	now := d.clock.Now()
	if r.State != to {
		r.History = append(r.History, store.HistoryEntry{State: string(to), At: now})
	}
	r.State, r.Error, r.UpdatedAt = to, rerr, now
}

// done makes a refund final (finish) and deletes its job.
func (d *Desk) done(j *store.Job, to store.RefundState, rerr *store.Error) {
	_, err := d.eng.Mutate(j.PaymentID, func(tx *store.Tx, p *store.Payment) error {
		if err := tx.DeleteJob(j.Seq); err != nil {
			return err
		}
		r := p.Refund(j.RefundID)
		if r == nil || r.State.Final() {
			return nil
		}
		return d.finish(tx, p, r, to, rerr)
	})
	if err != nil {
		d.eng.StoreError("refund result", err)
		return
	}
	d.wake(j.PaymentID)
}

// finish makes refund r of p final, in tx. An automatic refund (a sale
// paid after it was abandoned) that succeeded makes the payment reversed;
// one that was not made is made again under a new refund order id (the
// original order shows no refund, so this cannot refund twice), later and
// later, until it is made: a reversal never ends silently.
func (d *Desk) finish(tx *store.Tx, p *store.Payment, r *store.Refund, to store.RefundState, rerr *store.Error) error {
	if !canTransition(r.State, to) {
		return operr.Errorf(operr.CodeInvalidState, "refund %s is %s and cannot become %s", r.ID, r.State, to)
	}
	d.setState(r, to, rerr)
	r.Ambiguous = ""
	if h := head(p); h != nil {
		h.Behind = ""
	}
	if r.Auto && p.State == store.InDoubt && p.PaidLate {
		if to == store.RefundSucceeded {
			p.State = store.Reversed
			return nil
		}
		return d.reverseAgain(tx, p, r)
	}
	if d.o.PrintReceipts && to == store.RefundSucceeded {
		now := d.clock.Now()
		return tx.AddJob(&store.Job{Kind: store.JobReceipt, PaymentID: p.ID, RefundID: r.ID, NextAt: now, CreatedAt: now})
	}
	return nil
}

// wake makes the refund jobs of payment pid due now, when it has a refund
// waiting behind one that just ended.
func (d *Desk) wake(pid string) {
	p, err := d.eng.Payment(pid)
	if err != nil || head(p) == nil || head(p).State != store.RefundPending {
		return
	}
	h := head(p).ID
	err = d.st.Update(func(tx *store.Tx) error {
		jobs, err := tx.Jobs()
		if err != nil {
			return err
		}
		now := d.clock.Now()
		for _, j := range jobs {
			if j.Kind == store.JobRefund && j.PaymentID == pid && j.RefundID == h && j.NextAt.After(now) && j.Attempts == 0 {
				j.NextAt = now
				if err := tx.PutJob(j); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		d.eng.StoreError("wake refunds", err)
	}
	d.eng.Kick()
}

// deferJob moves a job later without counting an attempt (it did not run:
// it waits for another refund, or for the gateway's credentials).
func (d *Desk) deferJob(j *store.Job, dur time.Duration, why error) {
	err := d.st.Update(func(tx *store.Tx) error {
		cur, err := tx.Job(j.Seq)
		if err != nil {
			return err
		}
		cur.NextAt = d.clock.Now().Add(dur)
		cur.LastError = why.Error()
		return tx.PutJob(cur)
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		d.eng.StoreError("outbox: defer", err)
	}
}

// dropJob deletes a job that has nothing left to do.
func (d *Desk) dropJob(j *store.Job) {
	if err := d.st.Update(func(tx *store.Tx) error { return tx.DeleteJob(j.Seq) }); err != nil {
		d.eng.StoreError("outbox: drop job", err)
	}
}
