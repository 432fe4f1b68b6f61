package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/slip"
	"github.com/posagent/posagent/store"
)

// StoreError logs and counts a journal error that a background step (of
// the engine or of a part beside it, agent/books) could not return to
// anyone; the step is retried by its loop.
func (e *Engine) StoreError(op string, err error) { e.storeError(op, err) }

func (e *Engine) storeError(op string, err error) {
	e.mu.Lock()
	e.storeErrs++
	e.mu.Unlock()
	e.log.Error("agent: journal: "+op, "err", err)
}

// runJob runs one job; free is called once its gateway call (or print) is
// over, before it commits the outcome.
func (e *Engine) runJob(ctx context.Context, j *store.Job, free func()) {
	switch j.Kind {
	case store.JobQuery:
		e.reconcile(ctx, j, free)
	case store.JobRefund:
		e.refunds.Send(ctx, j, free)
	case store.JobReceipt:
		e.printJob(ctx, j, free)
	default:
		e.log.Error("agent: outbox: unknown job kind; dropped", "kind", j.Kind, "seq", j.Seq)
		e.dropJob(j)
	}
}

// retryJob records a failed attempt (its structured answer, when there
// was a gateway call) and schedules the next one.
func (e *Engine) retryJob(j *store.Job, sched []time.Duration, why error, a *store.Answer) {
	err := e.st.Update(func(tx *store.Tx) error {
		cur, err := tx.Job(j.Seq)
		if err != nil {
			return err
		}
		cur.Attempts++
		cur.NextAt = e.now().Add(e.o.jitter(backoff(sched, cur.Attempts)))
		if why != nil {
			cur.LastError = why.Error()
		}
		if a != nil {
			cur.Last = a
			if notFound(a) {
				cur.NotFound++
			} else {
				cur.NotFound = 0
			}
		}
		return tx.PutJob(cur)
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		e.storeError("outbox: reschedule", err)
	}
}

func (e *Engine) dropJob(j *store.Job) {
	if err := e.st.Update(func(tx *store.Tx) error { return tx.DeleteJob(j.Seq) }); err != nil {
		e.storeError("outbox: drop job", err)
	}
}

// notFound: a verified STATUS_QUERY answer that the gateway has no such
// order (rsp_code FAIL; a query's FAIL says nothing else), on a channel a
// probe proved sound in the same round (agent/gwauth): a bare FAIL carries no
// data and is not authenticated, so alone it proves nothing.
func notFound(a *store.Answer) bool {
	return a.Action == gateway.ActionStatusQuery && a.Answered && a.RspCode == gateway.CodeFail && a.ChannelSound
}

// followed reports whether a payment's reconciliation job still has work:
// an in-doubt payment (not already being refunded), or one settled by hand
// whose decision the gateway has not yet confirmed or contradicted.
func followed(p *store.Payment) bool {
	if p.Resolution.Open() {
		return true
	}
	return p.State == InDoubt && !p.PaidLate
}

// reconcile queries an in-doubt payment (the reconciler):
// paid -> automatic refund (then reversed); failed or closed -> cancelled
// (failed for a scan payment the cashier never cancelled); unknown -> later,
// forever (the last backoff step, daily by default), until the gateway
// answers or a manager resolves it by hand. A payment resolved by hand is
// followed on the same schedule until the gateway confirms or contradicts
// the decision (checkResolution).
func (e *Engine) reconcile(ctx context.Context, j *store.Job, free func()) {
	p, err := e.payment(j.PaymentID)
	if err != nil || !followed(p) {
		e.dropJob(j) // final, or its refund is in charge now
		return
	}
	res, err := e.gw.QueryOrder(ctx, p.OrderID, p.Amount, p.Tip)
	if ctx.Err() != nil {
		return
	}
	answered := e.mono()
	free()
	a := answerOf(gateway.ActionStatusQuery, res, err, e.now())
	if a.Action == gateway.ActionStatusQuery && a.Answered && a.RspCode == gateway.CodeFail {
		// "No such order" counts only on a channel proven sound now.
		a.ChannelSound = e.auth.SoundAfter(ctx, answered)
	}
	outcome := gateway.QueryOutcome(err)
	e.noteNotFound(j.Seq, a)
	gone := outcome == gateway.Unknown && e.neverReached(p, j, a)
	if outcome == gateway.Unknown && !gone {
		if p.State == InDoubt {
			e.note(p.ID, a)
		} else if a.Answered && e.olderThan(p.Resolution.At, scheduleSpan(e.o.ReconcileBackoff)) {
			// The gateway answers, but not finally (notpay), the whole
			// reconcile schedule after the decision: nothing will change.
			// Without answers the follow-up goes on, as for an in-doubt
			// payment (a POST /v1/sync does not use it up).
			e.endFollowUp(j, "the gateway gave no final answer on the reconcile schedule")
			return
		}
		e.retryJob(j, e.o.ReconcileBackoff, err, a)
		return
	}
	if gone {
		e.log.Warn("agent: the gateway has no such order, on consecutive answers, after it could no longer be charged: it never reached the gateway",
			"id", p.ID, "order_id", p.OrderID)
		outcome = gateway.Failed
	}
	_, err = e.mutate(p.ID, func(tx *store.Tx, p *store.Payment) error {
		switch {
		case p.State == InDoubt && !p.PaidLate:
			if err := tx.DeleteJob(j.Seq); err != nil {
				return err
			}
			return e.settleInDoubt(tx, p, outcome, gone, res, a)
		case p.Resolution != nil && p.Resolution.Open():
			if err := tx.DeleteJob(j.Seq); err != nil {
				return err
			}
			return e.checkResolution(tx, p, outcome, res, a)
		}
		return errNoChange
	})
	if errors.Is(err, errNoChange) {
		e.dropJob(j)
		return
	}
	if err != nil {
		e.storeError("reconcile", err)
		e.retryJob(j, e.o.ReconcileBackoff, err, nil)
	}
}

// scheduleSpan is the time a reconcile schedule covers, each step once.
func scheduleSpan(sched []time.Duration) time.Duration {
	var d time.Duration
	for _, s := range sched {
		d += s
	}
	return d
}

// settleInDoubt settles an in-doubt payment from a decisive answer, in the
// transaction that read it: paid -> the automatic refund; failed, closed
// or never reached -> not paid.
func (e *Engine) settleInDoubt(tx *store.Tx, p *store.Payment, outcome gateway.Outcome, gone bool, res *gateway.Result, a *store.Answer) error {
	p.Answer = a
	if outcome == gateway.Paid {
		e.log.Info("agent: in-doubt payment turned out paid; refunding automatically", "id", p.ID, "order_id", p.OrderID)
		return e.refunds.Reverse(tx, p)
	}
	if gone {
		p.State = Failed
		if p.CancelRequested {
			p.State = Cancelled
		}
		p.Error = &store.Error{Code: "gateway_unreachable", Message: "the order never reached the gateway (it has no record of it); nothing was charged"}
		return nil
	}
	if p.CancelRequested || p.Mode == "qr" {
		p.State, p.Error = Cancelled, nil
		return nil
	}
	st := ""
	if res != nil {
		st = res.OrderStatus
	}
	p.State, p.Error = Failed, &store.Error{Code: statusCode(st), Message: "the gateway reports the order " + st}
	return nil
}

// neverReached reports whether an in-doubt order is known never to have
// reached the gateway: a crash between committing "processing" and sending
// leaves an order the agent can never resend (its outcome was unknown).
// The rule reads structure only: this answer and the previous attempt's
// (kept on the job) are both verified STATUS_QUERY answers with rsp_code
// FAIL (no such order), and the order can no longer be charged by anyone:
// the scan code's validity window (or the QR window) is over, and the agent
// never resends. Anything else (an error message, an unverified answer, a
// refusal of another kind) keeps the payment in doubt.
//
// The window is measured twice. By the wall clock from the code's arrival
// (or the QR's creation), which survives a restart but not a clock jump;
// and by the monotonic clock from the first "no such order" answer this
// process saw: a request still in flight when that answer came (a slow
// gateway, a send cut off by a kill) carries a code that was issued before
// it, so once a code's validity has passed since then, the wallet refuses
// it and nothing can charge the order. A restart starts that span again.
func (e *Engine) neverReached(p *store.Payment, j *store.Job, a *store.Answer) bool {
	if !notFound(a) || j.Last == nil || !notFound(j.Last) || j.NotFound < 1 {
		return false
	}
	e.mu.Lock()
	since, seen := e.notFoundSince[j.Seq]
	e.mu.Unlock()
	if !seen || e.mono()-since < e.o.CodeValidity {
		return false
	}
	limit := e.o.CodeValidity
	if p.Mode == "qr" {
		limit = e.o.QRWindow
		if !p.QRExpiresAt.IsZero() {
			limit = max(limit, p.QRExpiresAt.Sub(p.CreatedAt))
		}
		return e.olderThan(p.CreatedAt, limit) && e.olderThan(j.Last.At, backoff(e.o.ReconcileBackoff, 0)/2)
	}
	return e.olderThan(codeAt(p), limit) && e.olderThan(j.Last.At, backoff(e.o.ReconcileBackoff, 0)/2)
}

// olderThan reports whether wall-clock stamp t is at least d old. A stamp
// in the future was written before the wall clock went back (NTP setting
// right a clock that ran ahead): the wall clock cannot judge it, and the
// monotonic conditions that neverReached also requires decide alone.
func (e *Engine) olderThan(t time.Time, d time.Duration) bool {
	return e.ageOf(t) > d || t.After(e.now())
}

// noteNotFound keeps, for a reconciliation job, the monotonic reading of
// the first of its consecutive "no such order" answers in this process;
// any other answer forgets it.
func (e *Engine) noteNotFound(seq uint64, a *store.Answer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !notFound(a) {
		delete(e.notFoundSince, seq)
		return
	}
	if _, ok := e.notFoundSince[seq]; !ok {
		if len(e.notFoundSince) > 10000 { // jobs that ended elsewhere: start over
			e.notFoundSince = map[uint64]time.Duration{}
		}
		e.notFoundSince[seq] = e.mono()
	}
}

// Receipt builds the printable receipt of a payment.
func (e *Engine) Receipt(p *store.Payment, reprint bool) slip.Receipt {
	r := slip.Receipt{
		Copy: "customer", Merchant: e.o.MerchantName, Terminal: e.o.TerminalNo, Time: p.CreatedAt,
		PaymentID: p.ID, OrderID: p.OrderID, Mode: p.Mode, Wallet: p.Wallet, Amount: p.Amount, Currency: p.Currency,
		CodeMasked: p.AuthCodeMasked, State: string(p.State), Footer: e.o.ReceiptFooter, Reprint: reprint,
	}
	e.receiptExtras(&r, p)
	for _, rf := range p.Refunds {
		r.Refunds = append(r.Refunds, slip.RefundLine{OrderID: rf.OrderID, Amount: rf.Amount, State: string(rf.State), Time: rf.CreatedAt})
	}
	return r
}

// printJob prints a receipt; a failing printer is retried with backoff and
// never touches the payment.
func (e *Engine) printJob(ctx context.Context, j *store.Job, free func()) {
	if e.o.Printer == nil {
		e.dropJob(j)
		return
	}
	p, err := e.payment(j.PaymentID)
	if err != nil {
		e.dropJob(j)
		return
	}
	pctx, cancel := context.WithTimeout(ctx, e.o.PrintTimeout)
	r := e.Receipt(p, j.Reprint)
	r.JobKey = fmt.Sprintf("%s:%d", p.ID, j.Seq) // the same across this job's retries
	err = e.o.Printer.PrintReceipt(pctx, r)
	cancel()
	if ctx.Err() != nil {
		return
	}
	free()
	if err != nil {
		e.log.Warn("agent: receipt not printed; will retry", "id", p.ID, "err", err)
		e.retryJob(j, e.o.RetryBackoff, err, nil)
		return
	}
	e.dropJob(j)
}

// compactLoop removes old, final, synced payments every CompactEvery,
// and forgets payment-code uses older than CodeReuseWindow. It holds off
// while the wall clock is implausible or jumped since the last round: ages
// are read from wall-clock stamps, and a jump would make new records look old.
func (e *Engine) compactLoop(ctx context.Context) {
	if e.o.Retention <= 0 && e.o.IdempotencyWindow <= 0 {
		return
	}
	first := true
	for {
		wait := e.o.CompactEvery
		if first {
			wait, first = 0, false // once at start, then every CompactEvery
		}
		select {
		case <-ctx.Done():
			return
		case <-e.clock.After(wait):
		}
		if why := e.watch.CompactionHeld(); why != "" {
			e.log.Warn("agent: compaction held: it removes records by their age, and the wall clock cannot be trusted now", "why", why)
			continue
		}
		e.expireIdem()
		if e.o.Retention <= 0 {
			continue
		}
		codesBefore, err := e.cutoff(e.o.CodeReuseWindow, false)
		if err != nil {
			e.storeError("compaction cutoff", err)
			continue
		}
		if n, err := e.st.ForgetCodes(codesBefore); err != nil {
			e.storeError("forget used codes", err)
		} else if n > 0 {
			e.log.Info("agent: forgot payment-code uses past the reuse window", "codes", n)
		}
		before, err := e.cutoff(e.o.Retention, true)
		if err != nil {
			e.storeError("compaction cutoff", err)
			continue
		}
		res, err := e.st.Compact(before)
		if err != nil {
			e.storeError("compact", err)
		} else if res.Payments > 0 || res.Events > 0 {
			e.log.Info("agent: compacted the journal", "payments", res.Payments, "events", res.Events)
		}
	}
}

// expireIdem removes the idempotency keys older than IdempotencyWindow
// (their tombstones stay: a late replay is refused, not taken anew).
func (e *Engine) expireIdem() {
	if e.o.IdempotencyWindow <= 0 {
		return
	}
	before, err := e.cutoff(e.o.IdempotencyWindow, false)
	if err != nil {
		e.storeError("compaction cutoff", err)
		return
	}
	if n, err := e.st.ExpireIdem(before); err != nil {
		e.storeError("expire idempotency keys", err)
	} else if n > 0 {
		e.log.Info("agent: idempotency keys expired", "keys", n)
	}
}
