package agent

import (
	"context"
	"time"

	"github.com/posagent/posagent/agent/refund"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/store"
)

// Refunds are agent/refund's desk: taking a refund (its limits), sending
// it, settling it from the original order, reversal again, retry and
// resolve by hand. The engine gives it its journal, gateway and clock
// (deskEngine), runs its jobs in the outbox (runJob) and answers for it.

// newDesk builds the engine's refund desk (in New, once the metered
// gateway and the credentials' watch exist).
func (e *Engine) newDesk() (*refund.Desk, error) {
	return refund.New(refund.Options{Engine: deskEngine{e}, Clock: deskEngine{e}, Store: e.st, Gateway: e.gw, Auth: e.auth,
		Logger: e.log, RetryBackoff: e.o.RetryBackoff, Jitter: e.o.jitter, APIWait: e.o.APIWait,
		RefundSettle: e.o.RefundSettle, ReversalEscalate: e.o.ReversalEscalate, PrintReceipts: e.o.AutoPrint && e.o.Printer != nil})
}

// deskEngine is the engine as agent/refund sees it (refund.Engine,
// refund.Clock).
type deskEngine struct{ e *Engine }

func (d deskEngine) Payment(id string) (*store.Payment, error) { return d.e.payment(id) }
func (d deskEngine) Mutate(id string, fn func(*store.Tx, *store.Payment) error) (*store.Payment, error) {
	return d.e.mutate(id, fn)
}
func (d deskEngine) WaitFor(ctx context.Context, id string, t time.Duration, cond func(*store.Payment) bool) (*store.Payment, error) {
	return d.e.waitFor(ctx, id, t, cond)
}
func (d deskEngine) Replay(tx *store.Tx, k refund.Key) (*store.Idem, error) {
	return replay(tx, IdemKey(k))
}
func (d deskEngine) Remember(tx *store.Tx, k refund.Key, pid, rid string, status int) error {
	return d.e.remember(tx, IdemKey(k), pid, rid, status)
}
func (d deskEngine) NewIDs(tx *store.Tx, at time.Time) (string, string) {
	return newID("ref_", at), newOrderID(tx, 'R', at)
}
func (d deskEngine) ShiftNo(tx *store.Tx) (uint64, error) { return d.e.shiftNo(tx) }
func (d deskEngine) CheckClock() error                    { return d.e.checkClockPlausible() }
func (d deskEngine) Resolved(tx *store.Tx, p *store.Payment, reason string) error {
	return d.e.resolvedEvent(tx, p, reason)
}
func (d deskEngine) Answer(action string, res *gateway.Result, err error) *store.Answer {
	return answerOf(action, res, err, d.e.now())
}
func (d deskEngine) Refusal(err error) (string, string) {
	code, msg := gwError(err)
	return failCode(code), msg
}
func (d deskEngine) RetryJob(j *store.Job, why error, a *store.Answer) {
	d.e.retryJob(j, d.e.o.RetryBackoff, why, a)
}
func (d deskEngine) Kick()                                       { d.e.kickOutbox() }
func (d deskEngine) StoreError(op string, err error)             { d.e.storeError(op, err) }
func (d deskEngine) Now() time.Time                              { return d.e.now() }
func (d deskEngine) Mono() time.Duration                         { return d.e.mono() }
func (d deskEngine) Age(t time.Time) time.Duration               { return d.e.ageOf(t) }
func (d deskEngine) OlderThan(t time.Time, x time.Duration) bool { return d.e.olderThan(t, x) }

// RefundPayment refunds amount (nil: all that is left) of a succeeded
// payment, by who asked, and waits up to APIWait for its answer
// (refund.Desk.Take).
func (e *Engine) RefundPayment(ctx context.Context, id string, amount *int64, ik IdemKey, by refund.By) (*Payment, error) {
	return public(e.refunds.Take(ctx, id, amount, refund.Key(ik), by))
}

// Refundable is what is left to refund of payment id now.
func (e *Engine) Refundable(id string) (int64, error) { return e.refunds.Refundable(id) }

// ResolveRefund settles an in-doubt refund on a manager's word, after
// they checked the merchant portal (refund.Desk.Resolve).
func (e *Engine) ResolveRefund(id, rid string, r refund.ResolveRequest, ik IdemKey) (*Payment, error) {
	if err := checkDecision(r.Outcome, &r.Reason, r.Operator, "made", "not_made", "the merchant portal"); err != nil {
		return nil, err
	}
	return public(e.refunds.Resolve(id, rid, r, refund.Key(ik)))
}

// RetryRefund makes again, under a new refund order id, a cashier's
// refund proven not made (refund.Desk.Retry).
func (e *Engine) RetryRefund(ctx context.Context, id, rid string, ik IdemKey) (*Payment, error) {
	return public(e.refunds.Retry(ctx, id, rid, refund.Key(ik)))
}

// public is a record as the engine's callers see it, or the error.
func public(p *store.Payment, err error) (*Payment, error) {
	if err != nil {
		return nil, err
	}
	return publicPayment(p), nil
}
