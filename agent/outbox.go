package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/store"
)

// outboxLoop runs due jobs (each in its own goroutine, one at a time per
// job) and sleeps until the next is due or it is kicked.
func (e *Engine) outboxLoop(ctx context.Context) {
	const maxSleep = time.Hour
	for {
		var jobs []*store.Job
		if err := e.st.View(func(tx *store.Tx) error {
			var err error
			jobs, err = tx.Jobs()
			return err
		}); err != nil {
			e.log.Error("agent: outbox: load", "err", err)
		}
		now := e.now()
		sleep := maxSleep
		for _, j := range jobs {
			if wait := j.NextAt.Sub(now); wait > 0 {
				sleep = min(sleep, wait)
				continue
			}
			e.mu.Lock()
			busy := e.inflight[j.Seq]
			if !busy && e.running {
				e.inflight[j.Seq] = true
				e.wg.Add(1)
				go func(j *store.Job) {
					defer e.wg.Done()
					e.runJob(ctx, j)
					e.mu.Lock()
					delete(e.inflight, j.Seq)
					e.mu.Unlock()
					e.kickOutbox()
				}(j)
			}
			e.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-e.kick:
		case <-e.clock.After(sleep):
		}
	}
}

func (e *Engine) runJob(ctx context.Context, j *store.Job) {
	switch j.Kind {
	case store.JobQuery:
		e.reconcile(ctx, j)
	case store.JobRefund:
		e.sendRefund(ctx, j)
	case store.JobReceipt:
		e.printJob(ctx, j)
	default:
		e.log.Error("agent: outbox: unknown job kind; dropped", "kind", j.Kind, "seq", j.Seq)
		e.st.Update(func(tx *store.Tx) error { return tx.DeleteJob(j.Seq) })
	}
}

// retryJob records a failed attempt and schedules the next one.
func (e *Engine) retryJob(j *store.Job, sched []time.Duration, why error) {
	err := e.st.Update(func(tx *store.Tx) error {
		cur, err := tx.Job(j.Seq)
		if err != nil {
			return err
		}
		cur.Attempts++
		cur.NextAt = e.now().Add(backoff(sched, cur.Attempts))
		if why != nil {
			cur.LastError = why.Error()
		}
		return tx.PutJob(cur)
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		e.log.Error("agent: outbox: reschedule", "seq", j.Seq, "err", err)
	}
}

func (e *Engine) dropJob(j *store.Job) {
	e.st.Update(func(tx *store.Tx) error { return tx.DeleteJob(j.Seq) })
}

// reconcile queries an in-doubt payment (the reconciler):
// paid -> automatic refund (then reversed); failed or closed -> cancelled
// (failed for a scan payment the cashier never cancelled); unknown -> later.
func (e *Engine) reconcile(ctx context.Context, j *store.Job) {
	p, err := e.payment(j.PaymentID)
	if err != nil {
		e.dropJob(j)
		return
	}
	if p.State != InDoubt || p.PaidLate {
		e.dropJob(j) // final, or its refund is in charge now
		return
	}
	res, err := e.gw.Query(ctx, p.OrderID)
	if ctx.Err() != nil {
		return
	}
	switch queryOutcome(err) {
	case gateway.Paid:
		e.log.Info("agent: in-doubt payment turned out paid; refunding automatically", "id", p.ID, "order_id", p.OrderID)
		_, err = e.mutate(p.ID, func(tx *store.Tx, p *store.Payment) error {
			if p.State != InDoubt {
				return errNoChange
			}
			if err := tx.DeleteJob(j.Seq); err != nil {
				return err
			}
			return e.paidLate(tx, p)
		})
	case gateway.Failed:
		_, err = e.mutate(p.ID, func(tx *store.Tx, p *store.Payment) error {
			if p.State != InDoubt {
				return errNoChange
			}
			if err := tx.DeleteJob(j.Seq); err != nil {
				return err
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
		})
	default:
		if e.neverReached(p, j, err) {
			e.log.Warn("agent: the gateway has no such order, twice, after it could no longer be charged: it never reached the gateway",
				"id", p.ID, "order_id", p.OrderID)
			_, err = e.mutate(p.ID, func(tx *store.Tx, p *store.Payment) error {
				if p.State != InDoubt {
					return errNoChange
				}
				if err := tx.DeleteJob(j.Seq); err != nil {
					return err
				}
				p.State = Failed
				if p.CancelRequested {
					p.State = Cancelled
				}
				p.Error = &store.Error{Code: "gateway_unreachable", Message: "the order never reached the gateway (it has no record of it); nothing was charged"}
				return nil
			})
			break
		}
		e.retryJob(j, e.o.ReconcileBackoff, err)
		return
	}
	if err != nil && !errors.Is(err, errNoChange) {
		e.log.Error("agent: reconcile", "id", p.ID, "err", err)
		e.retryJob(j, e.o.ReconcileBackoff, err)
		return
	}
	if errors.Is(err, errNoChange) {
		e.dropJob(j)
	}
}

// neverReached reports whether an in-doubt order is known never to have
// reached the gateway: a crash between committing "processing" and sending
// leaves an order the agent can never resend (its outcome was unknown).
// Our rule: when the gateway answers STATUS_QUERY with FAIL ("no such
// order") on two attempts in a row, and the order can no longer be charged
// by anyone (the scan code's validity window, or the QR window, is over,
// and the agent never resends), nothing was charged.
func (e *Engine) neverReached(p *store.Payment, j *store.Job, err error) bool {
	var ge *gateway.Error
	if !errors.As(err, &ge) || ge.Code != gateway.CodeFail || !strings.Contains(j.LastError, gateway.CodeFail) {
		return false
	}
	limit := codeAt(p).Add(e.o.CodeValidity)
	if p.Mode == "qr" {
		limit = p.QRExpiresAt
		if limit.IsZero() {
			limit = p.CreatedAt.Add(e.o.QRWindow)
		}
	}
	return e.now().After(limit)
}

// sendRefund sends (or resends, always with the refund's own order id) a
// refund. An in-doubt refund is first queried by its order id.
func (e *Engine) sendRefund(ctx context.Context, j *store.Job) {
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
	if r.State == store.RefundInDoubt {
		_, qerr := e.gw.Query(ctx, r.OrderID)
		if ctx.Err() != nil {
			return
		}
		switch queryOutcome(qerr) {
		case gateway.Paid:
			e.refundDone(j, store.RefundSucceeded, nil)
			return
		case gateway.Failed:
			e.refundDone(j, store.RefundFailed, &store.Error{Code: "refund_failed", Message: "the gateway reports the refund failed"})
			return
		}
	}
	_, err = e.gw.Refund(ctx, gateway.RefundRequest{OrderID: r.OrderID, OriginalOrderID: p.OrderID, Amount: r.Amount})
	if ctx.Err() != nil {
		return
	}
	switch {
	case err == nil:
		e.refundDone(j, store.RefundSucceeded, nil)
	case gateway.OutcomeOf(err) == gateway.Failed:
		code, msg := gwError(err)
		e.refundDone(j, store.RefundFailed, &store.Error{Code: "refund_" + failCode(code), Message: msg})
	case errors.Is(err, gateway.ErrNotSent):
		e.retryJob(j, e.o.RetryBackoff, err)
	default:
		// Possibly done: in doubt; the next attempt queries it first and
		// resends only with the same order id (ORDER_USED stops a double).
		_, merr := e.mutate(p.ID, func(tx *store.Tx, p *store.Payment) error {
			r := p.Refund(j.RefundID)
			if r == nil || r.State != store.RefundPending {
				return errNoChange
			}
			e.setRefundState(r, store.RefundInDoubt, nil)
			return nil
		})
		if merr != nil && !errors.Is(merr, errNoChange) {
			e.log.Error("agent: refund in doubt", "id", p.ID, "err", merr)
		}
		e.retryJob(j, e.o.RetryBackoff, err)
	}
}

func (e *Engine) setRefundState(r *store.Refund, to store.RefundState, rerr *store.Error) {
	now := e.now()
	if r.State != to {
		r.History = append(r.History, store.HistoryEntry{State: string(to), At: now})
	}
	r.State, r.Error, r.UpdatedAt = to, rerr, now
}

// refundDone makes a refund final, deletes its job, and settles the
// payment of an automatic refund: reversed, or (refund refused) succeeded
// with error refund_failed.
func (e *Engine) refundDone(j *store.Job, to store.RefundState, rerr *store.Error) {
	_, err := e.mutate(j.PaymentID, func(tx *store.Tx, p *store.Payment) error {
		if err := tx.DeleteJob(j.Seq); err != nil {
			return err
		}
		r := p.Refund(j.RefundID)
		if r == nil || r.State.Final() {
			return nil
		}
		if !canRefundTransition(r.State, to) {
			return errf(422, "invalid_state", "refund %s is %s and cannot become %s", r.ID, r.State, to)
		}
		e.setRefundState(r, to, rerr)
		if r.Auto && p.State == InDoubt && p.PaidLate {
			if to == store.RefundSucceeded {
				p.State = Reversed
			} else {
				p.State = Succeeded
				p.Error = &store.Error{Code: "refund_failed", Message: "paid after the sale was abandoned, and the automatic refund was refused: refund it by hand"}
			}
			return nil
		}
		if e.o.AutoPrint && e.o.Printer != nil && to == store.RefundSucceeded {
			now := e.now()
			return tx.AddJob(&store.Job{Kind: store.JobReceipt, PaymentID: p.ID, RefundID: r.ID, NextAt: now, CreatedAt: now})
		}
		return nil
	})
	if err != nil {
		e.log.Error("agent: refund result", "payment", j.PaymentID, "refund", j.RefundID, "err", err)
	}
}

// Receipt builds the printable receipt of a payment.
func (e *Engine) Receipt(p *store.Payment, reprint bool) printer.Receipt {
	r := printer.Receipt{
		Copy: "customer", Merchant: e.o.MerchantName, Terminal: e.o.TerminalNo, Time: p.CreatedAt,
		PaymentID: p.ID, OrderID: p.OrderID, Mode: p.Mode, Wallet: p.Wallet, Amount: p.Amount, Currency: p.Currency,
		CodeMasked: p.AuthCodeMasked, State: string(p.State), Footer: e.o.ReceiptFooter, Reprint: reprint,
	}
	for _, rf := range p.Refunds {
		r.Refunds = append(r.Refunds, printer.RefundLine{OrderID: rf.OrderID, Amount: rf.Amount, State: string(rf.State), Time: rf.CreatedAt})
	}
	return r
}

// printJob prints a receipt; a failing printer is retried with backoff and
// never touches the payment.
func (e *Engine) printJob(ctx context.Context, j *store.Job) {
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
	if err != nil {
		e.log.Warn("agent: receipt not printed; will retry", "id", p.ID, "err", err)
		e.retryJob(j, e.o.RetryBackoff, err)
		return
	}
	e.dropJob(j)
}

// compactLoop removes old, final, synced payments every CompactEvery.
func (e *Engine) compactLoop(ctx context.Context) {
	if e.o.Retention < 0 {
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
		res, err := e.st.Compact(e.now().Add(-e.o.Retention))
		if err != nil {
			e.log.Error("agent: compact", "err", err)
		} else if res.Payments > 0 || res.Events > 0 {
			e.log.Info("agent: compacted the journal", "payments", res.Payments, "events", res.Events)
		}
	}
}
