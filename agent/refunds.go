package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/store"
)

// Refunds of one payment reach the gateway one at a time, in the order
// they were asked for: the first refund that is not final (the head) is
// sent or settled; the others wait behind it (Refund.Behind). The gateway
// reports a refund only as its original order's refunded total, so with
// one refund at a time of unknown outcome that total can always be
// explained: it equals the succeeded refunds (the head was not made), or
// those plus the head (it was). Anything else is not guessed at: the
// refund stays in doubt with Refund.Ambiguous set, and a manager settles
// it by hand (ResolveRefund) with the merchant portal in hand.

// refundHead is the refund of p that goes to the gateway now, or nil.
func refundHead(p *store.Payment) *store.Refund {
	for i := range p.Refunds {
		if !p.Refunds[i].State.Final() {
			return &p.Refunds[i]
		}
	}
	return nil
}

// sendRefund sends a pending refund (or resends it, with its own order id,
// when the last attempt certainly never left this machine). A refund whose
// outcome is unknown (in_doubt) is never sent again: it is settled from
// the original order's STATUS_QUERY, which reports what was refunded.
func (e *Engine) sendRefund(ctx context.Context, j *store.Job, free func()) {
	p, err := e.payment(j.PaymentID)
	if err != nil {
		e.dropJob(j)
		return
	}
	r := p.Refund(j.RefundID)
	if r == nil || r.State.Final() {
		e.dropJob(j)
		return
	}
	if h := refundHead(p); h.ID != r.ID {
		// Woken when the head ends (wakeRefunds); the delay is a safety net.
		e.deferJob(j, backoff(e.o.RetryBackoff, 2), fmt.Errorf("agent: waits behind refund %s of the same payment", h.ID))
		return
	}
	if err := e.auth.Refuse(); err != nil {
		e.deferJob(j, backoff(e.o.RetryBackoff, 1), err)
		return
	}
	if r.State == store.RefundInDoubt {
		e.settleRefund(ctx, j, p, r, free)
		return
	}
	res, err := e.gw.Refund(ctx, gateway.RefundRequest{OrderID: r.OrderID, OriginalOrderID: p.OrderID, Amount: r.Amount, OperatorID: r.GatewayOperator})
	// A call cut short by a stop may have reached the gateway: it falls
	// through to in doubt below (settled from the original order), never
	// left pending to be sent again.
	free()
	a := answerOf(gateway.ActionRefund, res, err, e.now())
	switch {
	case err == nil:
		e.refundDone(j, store.RefundSucceeded, nil)
	case errors.Is(err, gateway.ErrNotSent):
		e.retryJob(j, e.o.RetryBackoff, err, a)
	case gateway.OutcomeOf(err) == gateway.Failed && !r.Auto && e.auth.SoundAfter(ctx, e.mono()):
		// A refusal of a cashier's refund on a channel just proven sound:
		// nothing was refunded, and the cashier is told so.
		code, msg := gwError(err)
		e.refundDone(j, store.RefundFailed, &store.Error{Code: "refund_" + failCode(code), Message: msg})
	default:
		// Possibly done, or a refusal that proves nothing (a bare FAIL is
		// not authenticated; an automatic refund is carried through, so
		// it is only ever judged from the original order): in doubt.
		e.refundInDoubt(j, err, a)
	}
}

// refundInDoubt records that a refund's send may have reached the gateway
// with an unknown outcome; it is settled from the original order.
func (e *Engine) refundInDoubt(j *store.Job, why error, a *store.Answer) {
	_, merr := e.mutate(j.PaymentID, func(tx *store.Tx, p *store.Payment) error {
		r := p.Refund(j.RefundID)
		if r == nil || r.State != store.RefundPending {
			return errNoChange
		}
		r.SentAt = e.now()
		e.setRefundState(r, store.RefundInDoubt, nil)
		return nil
	})
	if merr != nil && !errors.Is(merr, errNoChange) {
		e.storeError("refund in doubt", merr)
	}
	e.markRefundSent(j.RefundID)
	e.retryJob(j, e.o.RetryBackoff, why, a)
}

// markRefundSent starts (again) the monotonic span an in-doubt refund is
// given before it can be called not made.
func (e *Engine) markRefundSent(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.refundSent) > 10000 {
		e.refundSent = map[string]time.Duration{}
	}
	e.refundSent[id] = e.mono()
}

// settledTooLong reports whether an in-doubt refund has had RefundSettle,
// by the wall clock since its send ended and by the monotonic clock since
// this process saw it sent (or first judged it): a REFUND request still in
// flight, or a clock that jumped ahead, never makes it "not made".
func (e *Engine) settledTooLong(r *store.Refund) bool {
	e.mu.Lock()
	since, ok := e.refundSent[r.ID]
	if !ok {
		e.refundSent[r.ID] = e.mono()
		since = e.mono()
	}
	mono := e.mono() - since
	e.mu.Unlock()
	at := r.SentAt
	if at.IsZero() {
		at = r.UpdatedAt
	}
	return mono >= e.o.RefundSettle && e.olderThan(at, e.o.RefundSettle)
}

// settleRefund resolves an in-doubt refund from the original order's
// STATUS_QUERY, in the transaction that records the outcome, against the
// payment as it is then (refundVerdict).
func (e *Engine) settleRefund(ctx context.Context, j *store.Job, p *store.Payment, r *store.Refund, free func()) {
	res, err := e.gw.QueryOrder(ctx, p.OrderID, p.Amount, p.Tip)
	if ctx.Err() != nil {
		return
	}
	answered := e.mono()
	free()
	a := answerOf(gateway.ActionStatusQuery, res, err, e.now())
	if a.Answered && a.RspCode == gateway.CodeFail && e.auth.SoundAfter(ctx, answered) {
		// The gateway has no such original order, on a channel proven
		// sound: nothing of it can have been refunded (a payment settled
		// by hand as paid that was never charged, for one).
		res, err = &gateway.Result{Action: gateway.ActionStatusQuery, OrderID: p.OrderID, HasRefunded: true}, nil
	}
	if err != nil && queryOutcome(err) != gateway.Failed || res == nil {
		if err == nil {
			err = errors.New("agent: no answer")
		}
		e.retryJob(j, e.o.RetryBackoff, err, a)
		return
	}
	if _, known := refundedTotal(p, res); !known {
		e.retryJob(j, e.o.RetryBackoff, fmt.Errorf("agent: the original order %s is %s without a refunded amount", p.OrderID, res.OrderStatus), a)
		return
	}
	var v refundVerdict
	_, err = e.mutate(p.ID, func(tx *store.Tx, p *store.Payment) error {
		gwTotal, _ := refundedTotal(p, res)
		v = e.judgeRefunds(p, j.RefundID, gwTotal)
		if !v.changes() {
			return errNoChange
		}
		return e.applyVerdict(tx, p, j, v)
	})
	if err != nil && !errors.Is(err, errNoChange) {
		e.storeError("refund settle", err)
		e.retryJob(j, e.o.RetryBackoff, err, a)
		return
	}
	switch {
	case v.made != nil:
		e.log.Info("agent: in-doubt refund found on the original order", "payment", p.ID, "refunds", v.made, "refunded_total", v.gwTotal)
		e.wakeRefunds(p.ID)
	case v.notMade != nil:
		e.log.Warn("agent: in-doubt refund is not on the original order; it was not made", "payment", p.ID, "refunds", v.notMade)
		e.wakeRefunds(p.ID)
	case v.ambiguous != "":
		e.log.Warn("agent: in-doubt refund cannot be attributed without a guess; a manager settles it", "payment", p.ID, "refund", j.RefundID, "why", v.ambiguous)
		e.retryJob(j, e.o.RetryBackoff, errors.New("agent: "+v.ambiguous), a)
	default:
		e.retryJob(j, e.o.RetryBackoff, fmt.Errorf("agent: the original order %s shows %d refunded, %d known; waiting", p.OrderID, v.gwTotal, v.known), a)
	}
}

// refundVerdict is what the original order's refunded total says of a
// payment's in-doubt refunds.
type refundVerdict struct {
	gwTotal, known int64
	made, notMade  []string // refund ids settled succeeded / failed (not made)
	ambiguous      string   // why nothing can be settled without a guess
	wasAmbiguous   bool     // the refund was marked ambiguous before
}

func (v refundVerdict) changes() bool {
	return v.made != nil || v.notMade != nil || (v.ambiguous != "") != v.wasAmbiguous
}

// judgeRefunds compares the gateway's refunded total with p's refunds:
// with known the succeeded refunds and U those in doubt, a total of known
// + sum(U) means every one of U was made, known means none was (once each
// has had RefundSettle), anything else cannot be attributed.
func (e *Engine) judgeRefunds(p *store.Payment, rid string, gwTotal int64) refundVerdict {
	v := refundVerdict{gwTotal: gwTotal, known: p.Refunded()}
	var inDoubt []*store.Refund
	var sum int64
	for i := range p.Refunds {
		if r := &p.Refunds[i]; r.State == store.RefundInDoubt {
			inDoubt = append(inDoubt, r)
			sum += r.Amount
		}
	}
	if r := p.Refund(rid); r == nil || r.State != store.RefundInDoubt {
		return v
	} else {
		v.wasAmbiguous = r.Ambiguous != ""
	}
	extra := gwTotal - v.known
	switch {
	case extra == sum && extra > 0:
		for _, r := range inDoubt {
			v.made = append(v.made, r.ID)
		}
	case extra == 0:
		for _, r := range inDoubt {
			if e.settledTooLong(r) {
				v.notMade = append(v.notMade, r.ID)
			}
		}
	case extra < 0:
		v.ambiguous = fmt.Sprintf("the gateway shows %d refunded, less than the %d of the refunds known to have succeeded", gwTotal, v.known)
	default:
		v.ambiguous = fmt.Sprintf("the gateway shows %d refunded: %d beyond the refunds known to have succeeded, which does not match the %d in doubt (%d refunds); it may include a refund made elsewhere (the merchant portal)", gwTotal, extra, sum, len(inDoubt))
	}
	return v
}

// applyVerdict records v on p, in the transaction that read p.
func (e *Engine) applyVerdict(tx *store.Tx, p *store.Payment, j *store.Job, v refundVerdict) error {
	for _, id := range v.made {
		if err := e.finishRefund(tx, p, p.Refund(id), store.RefundSucceeded, nil); err != nil {
			return err
		}
	}
	for _, id := range v.notMade {
		err := e.finishRefund(tx, p, p.Refund(id), store.RefundFailed, &store.Error{Code: "refund_not_made",
			Message: "the original order shows no such refund: nothing was refunded; retry it (POST .../refunds/{id}/retry) if the customer is owed"})
		if err != nil {
			return err
		}
	}
	if r := p.Refund(j.RefundID); r != nil && r.State == store.RefundInDoubt {
		r.Ambiguous = v.ambiguous
		r.UpdatedAt = e.now()
		return nil
	}
	return deleteJobIfAny(tx, j.Seq)
}

func deleteJobIfAny(tx *store.Tx, seq uint64) error {
	if err := tx.DeleteJob(seq); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// refundedTotal reads what the gateway says was refunded of an order.
func refundedTotal(p *store.Payment, res *gateway.Result) (int64, bool) {
	if res.HasRefunded {
		return res.Refunded, true
	}
	switch res.OrderStatus {
	case gateway.StatusFullyRefunded:
		return total(p), true
	case gateway.StatusSuccess:
		return 0, true
	}
	return 0, false
}

func (e *Engine) setRefundState(r *store.Refund, to store.RefundState, rerr *store.Error) {
	now := e.now()
	if r.State != to {
		r.History = append(r.History, store.HistoryEntry{State: string(to), At: now})
	}
	r.State, r.Error, r.UpdatedAt = to, rerr, now
}

// refundDone makes a refund final (finishRefund) and deletes its job.
func (e *Engine) refundDone(j *store.Job, to store.RefundState, rerr *store.Error) {
	_, err := e.mutate(j.PaymentID, func(tx *store.Tx, p *store.Payment) error {
		if err := deleteJobIfAny(tx, j.Seq); err != nil {
			return err
		}
		r := p.Refund(j.RefundID)
		if r == nil || r.State.Final() {
			return nil
		}
		return e.finishRefund(tx, p, r, to, rerr)
	})
	if err != nil {
		e.storeError("refund result", err)
		return
	}
	e.wakeRefunds(j.PaymentID)
}

// finishRefund makes refund r of p final, in tx. An automatic refund (a
// sale paid after it was abandoned) that succeeded makes the payment
// reversed; one that was not made is made again under a new refund order
// id (the original order shows no refund, so this cannot refund twice),
// later and later, until it is made: a reversal never ends silently.
func (e *Engine) finishRefund(tx *store.Tx, p *store.Payment, r *store.Refund, to store.RefundState, rerr *store.Error) error {
	if !canRefundTransition(r.State, to) {
		return errf(operr.CodeInvalidState, "refund %s is %s and cannot become %s", r.ID, r.State, to)
	}
	e.setRefundState(r, to, rerr)
	r.Ambiguous = ""
	if h := refundHead(p); h != nil {
		h.Behind = ""
	}
	if r.Auto && p.State == InDoubt && p.PaidLate {
		if to == store.RefundSucceeded {
			p.State = Reversed
			return nil
		}
		return e.reverseAgain(tx, p, r)
	}
	if e.o.AutoPrint && e.o.Printer != nil && to == store.RefundSucceeded {
		now := e.now()
		return tx.AddJob(&store.Job{Kind: store.JobReceipt, PaymentID: p.ID, RefundID: r.ID, NextAt: now, CreatedAt: now})
	}
	return nil
}

// reverseAgain makes an automatic refund proven not made again, under a
// new refund order id, after a backoff that grows with each attempt. Once
// the reversal has taken ReversalEscalate, the payment says so (error
// reversal_stuck, an event, the status, a metric and an alert); it goes on.
func (e *Engine) reverseAgain(tx *store.Tx, p *store.Payment, failed *store.Refund) error {
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
	nr, err := e.addRefund(tx, p, left, true)
	if err != nil {
		return err
	}
	nr.RetryOf = failed.ID
	if err := e.delayRefundJob(tx, p.ID, nr.ID, e.o.jitter(backoff(e.o.RetryBackoff, attempts))); err != nil {
		return err
	}
	msg := fmt.Sprintf("paid after the sale was abandoned; the automatic refund was not made (%d attempts), trying again", attempts)
	if e.ageOf(first) >= e.o.ReversalEscalate {
		p.Error = &store.Error{Code: "reversal_stuck", Message: msg + fmt.Sprintf(" since %s: check the OTTPay merchant portal", first.UTC().Format(time.RFC3339))}
		return nil
	}
	p.Error = &store.Error{Code: "paid_after_cancel", Message: msg}
	return nil
}

// delayRefundJob moves the job of refund rid (just added) to now+d.
func (e *Engine) delayRefundJob(tx *store.Tx, pid, rid string, d time.Duration) error {
	jobs, err := tx.Jobs()
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Kind == store.JobRefund && j.PaymentID == pid && j.RefundID == rid {
			j.NextAt = e.now().Add(d)
			return tx.PutJob(j)
		}
	}
	return nil
}

// wakeRefunds makes the refund jobs of payment pid due now, when it has a
// refund waiting behind one that just ended.
func (e *Engine) wakeRefunds(pid string) {
	p, err := e.payment(pid)
	if err != nil || refundHead(p) == nil || refundHead(p).State != store.RefundPending {
		return
	}
	head := refundHead(p).ID
	err = e.st.Update(func(tx *store.Tx) error {
		jobs, err := tx.Jobs()
		if err != nil {
			return err
		}
		now := e.now()
		for _, j := range jobs {
			if j.Kind == store.JobRefund && j.PaymentID == pid && j.RefundID == head && j.NextAt.After(now) && j.Attempts == 0 {
				j.NextAt = now
				if err := tx.PutJob(j); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		e.storeError("wake refunds", err)
	}
	e.kickOutbox()
}

// deferJob moves a job later without counting an attempt (it did not run:
// it waits for another refund, or for the gateway's credentials).
func (e *Engine) deferJob(j *store.Job, d time.Duration, why error) {
	err := e.st.Update(func(tx *store.Tx) error {
		cur, err := tx.Job(j.Seq)
		if err != nil {
			return err
		}
		cur.NextAt = e.now().Add(d)
		cur.LastError = why.Error()
		return tx.PutJob(cur)
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		e.storeError("outbox: defer", err)
	}
}

// refundBehind is the refund a new refund of p waits behind, or "".
func refundBehind(p *store.Payment) string {
	if h := refundHead(p); h != nil {
		return h.ID
	}
	return ""
}

// ResolveRefundRequest settles an in-doubt refund by hand
// (POST /v1/payments/{id}/refunds/{refund}/resolve).
type ResolveRefundRequest struct {
	// Outcome is "made" (the portal shows it: succeeded) or "not_made"
	// (failed: nothing was refunded).
	Outcome  string `json:"outcome"`
	Reason   string `json:"reason"`
	Operator string `json:"operator"`
}

// ResolveRefund settles an in-doubt refund on a manager's word, after
// they checked the merchant portal. A not-made automatic refund is made
// again; a cashier's can be retried (RetryRefund).
func (e *Engine) ResolveRefund(id, rid string, r ResolveRefundRequest, ik IdemKey) (*Payment, error) {
	if err := checkDecision(r.Outcome, &r.Reason, r.Operator, "made", "not_made", "the merchant portal"); err != nil {
		return nil, err
	}
	rec, err := e.mutateOrSame(id, func(tx *store.Tx, p *store.Payment) error {
		if old, err := replay(tx, ik); err != nil || old != nil {
			return cmpErr(err, errNoChange)
		}
		ref := p.Refund(rid)
		if ref == nil {
			return errf(operr.CodeNotFound, "payment %s has no refund %s", id, rid)
		}
		if ref.State != store.RefundInDoubt {
			return errf(operr.CodeInvalidState, "refund %s is %s; only an in_doubt refund can be settled by hand", rid, ref.State)
		}
		now := e.now()
		ref.Resolution = &store.Resolution{Outcome: r.Outcome, Reason: r.Reason, Operator: r.Operator, At: now}
		to, rerr := store.RefundSucceeded, (*store.Error)(nil)
		if r.Outcome == "not_made" {
			to, rerr = store.RefundFailed, &store.Error{Code: "refund_not_made", Message: "settled by hand as not made: " + r.Reason}
		}
		if err := e.deleteRefundJobs(tx, id, rid); err != nil {
			return err
		}
		if err := e.finishRefund(tx, p, ref, to, rerr); err != nil {
			return err
		}
		if err := e.remember(tx, ik, id, rid, 200); err != nil {
			return err
		}
		return e.resolvedEvent(tx, p, "refund "+rid+" "+r.Outcome+": "+r.Reason)
	})
	if err != nil {
		return nil, err
	}
	e.wakeRefunds(id)
	e.log.Warn("agent: in-doubt refund settled by hand", "id", id, "refund", rid, "outcome", r.Outcome, "operator", r.Operator, "reason", r.Reason)
	return publicPayment(rec), nil
}

// cmpErr is err, or alt when err is nil.
func cmpErr(err, alt error) error {
	if err != nil {
		return err
	}
	return alt
}

func (e *Engine) deleteRefundJobs(tx *store.Tx, pid, rid string) error {
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

// RetryRefund makes again, under a new refund order id, a cashier's refund
// that was proven not made (POST /v1/payments/{id}/refunds/{refund}/retry):
// the same amount, operator and approval, in one step.
func (e *Engine) RetryRefund(ctx context.Context, id, rid string, ik IdemKey) (*Payment, error) {
	var newID string
	_, err := e.mutateOrSame(id, func(tx *store.Tx, p *store.Payment) error {
		old, err := replay(tx, ik)
		if err != nil {
			return err
		}
		if old != nil {
			newID = old.RefundID
			return errNoChange
		}
		ref := p.Refund(rid)
		if ref == nil {
			return errf(operr.CodeNotFound, "payment %s has no refund %s", id, rid)
		}
		if ref.State != store.RefundFailed || ref.Error == nil || ref.Error.Code != "refund_not_made" {
			return errf(operr.CodeInvalidState, "refund %s is not a refund proven not made; ask for a new refund instead", rid)
		}
		for _, o := range p.Refunds {
			if o.RetryOf == rid {
				return errf(operr.CodeAlreadyRetried, "refund %s was already made again as %s", rid, o.ID)
			}
		}
		if p.State != Succeeded {
			return errf(operr.CodeInvalidState, "payment %s is %s; only a succeeded payment can be refunded", id, p.State)
		}
		if left := total(p) - p.Committed(); ref.Amount > left {
			return errf(operr.CodeAmountTooLarge, "at most %d can be refunded now", left)
		}
		nr, err := e.addRefund(tx, p, ref.Amount, false)
		if err != nil {
			return err
		}
		nr.Operator, nr.GatewayOperator, nr.ApprovedBy, nr.RetryOf = ref.Operator, ref.GatewayOperator, ref.ApprovedBy, rid
		newID = nr.ID
		return e.remember(tx, ik, id, nr.ID, 201)
	})
	if err != nil {
		return nil, err
	}
	return e.waitRefund(ctx, id, newID)
}

// waitRefund waits up to APIWait for refund rid to be final; a refund
// that waits behind another is answered at once.
func (e *Engine) waitRefund(ctx context.Context, id, rid string) (*Payment, error) {
	e.kickOutbox()
	rec, err := e.waitFor(ctx, id, e.o.APIWait, func(p *store.Payment) bool {
		r := p.Refund(rid)
		return r == nil || r.State.Final() || r.Behind != ""
	})
	if err != nil {
		return nil, err
	}
	return publicPayment(rec), nil
}
