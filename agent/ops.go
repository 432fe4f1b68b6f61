package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/paycode"
	"github.com/posagent/posagent/slip"
	"github.com/posagent/posagent/store"
)

// IdemKey is an Idempotency-Key with the hash of the request it came with.
type IdemKey struct {
	Key  string
	Hash string
}

var errNoChange = errors.New("agent: no change")

// replay checks an idempotency key inside a transaction: it returns the
// stored record when the key was seen with the same request, idempotency_conflict when it
// was seen with another, and nil when it is new (or empty).
func replay(tx *store.Tx, ik IdemKey) (*store.Idem, error) {
	if ik.Key == "" {
		return nil, nil
	}
	r, err := tx.Idem(ik.Key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if errors.Is(err, store.ErrIdemExpired) {
		// The key was used and its answer is gone: taking the request
		// anew could pay or refund twice.
		return nil, errf(operr.CodeIdempotencyKeyExpired, "Idempotency-Key %q was used longer ago than keys are kept (agent.idempotency_window) and its answer is gone: look the payment up (GET /v1/payments?reference=...) and use a new key only for a new operation", ik.Key)
	}
	if err != nil {
		return nil, err
	}
	if r.Hash != ik.Hash {
		return nil, errf(operr.CodeIdempotencyConflict, "Idempotency-Key %q was already used with a different request", ik.Key)
	}
	return r, nil
}

func (e *Engine) remember(tx *store.Tx, ik IdemKey, paymentID, refundID string, status int) error {
	if ik.Key == "" {
		return nil
	}
	return tx.PutIdem(ik.Key, &store.Idem{Hash: ik.Hash, PaymentID: paymentID, RefundID: refundID, Status: status, CreatedAt: e.now()})
}

// checkRunning refuses work that must be sent while Run is not running: a
// payment committed as processing without its driver would, after a
// restart, only be queried (it may have been sent), never sent.
func (e *Engine) checkRunning() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.running {
		return errf(operr.CodeNotRunning, "the payment engine is not running (starting or shutting down); try again")
	}
	return nil
}

// MaxAmount is the largest payment, in minor units (the gateway takes at
// most 12 digits; this is 99,999,999.99).
const MaxAmount = 9_999_999_999

// CreateRequest starts a payment (POST /v1/payments).
type CreateRequest struct {
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	Mode      string `json:"mode"`
	Wallet    string `json:"wallet"`
	Reference string `json:"reference"`
	AuthCode  string `json:"auth_code"`
	// Tip is added to Amount (cents): the customer is charged both.
	Tip int64 `json:"tip"`
	// Replace: a scan payment without a code replaces the one already
	// waiting for a code (which is cancelled first) instead of a payment_waiting refusal.
	Replace bool `json:"replace"`
	// Operator is the cashier who takes the payment (recorded on it);
	// GatewayOperator is sent to OTTPay as operator_id ("" the gateway's).
	Operator        string `json:"operator"`
	GatewayOperator string `json:"-"`
	// TipApprover is the manager whose PIN approved a tip above
	// Options.TipMaxPercent; the API sets it once it checked the PIN.
	TipApprover string `json:"-"`
}

func (e *Engine) validateCreate(r *CreateRequest) (wallet string, err error) {
	if r.Amount <= 0 {
		return "", errf(operr.CodeInvalidAmount, "amount must be a positive integer number of cents, got %d", r.Amount)
	}
	if r.Amount > MaxAmount {
		return "", errf(operr.CodeInvalidAmount, "amount %d is more than the %d cents a payment may be", r.Amount, int64(MaxAmount))
	}
	if r.Currency == "" {
		r.Currency = e.o.Currency
	}
	if r.Currency != e.o.Currency {
		return "", errf(operr.CodeCurrencyMismatch, "currency %q does not match the merchant account's %s", r.Currency, e.o.Currency)
	}
	if err := e.tipRules().Check(r.Amount, r.Tip, r.TipApprover); err != nil {
		return "", err
	}
	if strings.ContainsFunc(r.Reference, unicode.IsControl) {
		return "", errf(operr.CodeInvalidReference, "reference has control characters; it is printed on receipts and exported")
	}
	if err := checkReference(r.Reference); err != nil {
		return "", err
	}
	switch r.Mode {
	case "scan":
		if r.AuthCode != "" {
			w, ok := paycode.Classify(r.AuthCode)
			if !ok {
				return "", errf(operr.CodeInvalidCode, "auth_code %s is not a WeChat Pay, Alipay or UnionPay payment code", paycode.Mask(r.AuthCode))
			}
			if r.Wallet != "" && r.Wallet != w {
				return "", errf(operr.CodeInvalidWallet, "wallet %q does not match the payment code, which is %s", r.Wallet, w)
			}
			return w, nil
		}
		if r.Wallet != "" && r.Wallet != "wechat" && r.Wallet != "alipay" && r.Wallet != "unionpay" {
			return "", errf(operr.CodeInvalidWallet, "wallet must be wechat, alipay or unionpay, got %q", r.Wallet)
		}
		return r.Wallet, nil
	case "qr":
		if r.AuthCode != "" {
			return "", errf(operr.CodeInvalidField, "auth_code is for scan payments only")
		}
		if r.Wallet != "wechat" && r.Wallet != "alipay" && r.Wallet != "unionpay" {
			return "", errf(operr.CodeInvalidWallet, "a qr payment needs wallet wechat, alipay or unionpay, got %q", r.Wallet)
		}
		return r.Wallet, nil
	case "":
		return "", errf(operr.CodeInvalidMode, "mode is required: scan or qr")
	}
	return "", errf(operr.CodeInvalidMode, "mode must be scan or qr, got %q", r.Mode)
}

// CreatePayment persists a new payment and starts it: a scan payment with
// no code waits in awaiting_code; a scan payment with a code and every qr
// payment go to the gateway. It returns after at most Options.APIWait with
// the payment as it then is (a qr payment normally with its code_url).
// replayed is true when the Idempotency-Key was seen before.
func (e *Engine) CreatePayment(ctx context.Context, r CreateRequest, ik IdemKey) (p *Payment, replayed bool, err error) {
	return e.createPayment(ctx, r, ik, true)
}

func (e *Engine) createPayment(ctx context.Context, r CreateRequest, ik IdemKey, wait bool) (p *Payment, replayed bool, err error) {
	wallet, err := e.validateCreate(&r)
	if err != nil {
		return nil, false, err
	}
	if err := e.checkRunning(); err != nil {
		return nil, false, err
	}
	if err := e.auth.Refuse(); err != nil {
		return nil, false, err
	}
	var rec *store.Payment
	err = e.st.Update(func(tx *store.Tx) error {
		// The store may run this more than once (group commit redoes a
		// batch when another change in it fails after writing): what it
		// reports is set by its last run only.
		replayed, rec = false, nil
		old, err := replay(tx, ik)
		if err != nil {
			return err
		}
		if old != nil {
			replayed = true
			rec, err = tx.Payment(old.PaymentID)
			return err
		}
		if err := e.checkClockPlausible(); err != nil {
			return err
		}
		rec = e.newPayment(tx, r.Mode, wallet, r.Amount, r.Currency, r.Reference, r.AuthCode)
		rec.Operator, rec.GatewayOperator, rec.Tip = r.Operator, r.GatewayOperator, r.Tip
		if rec.DuplicateOf, err = e.dups.Of(tx, r.Amount); err != nil {
			return err
		}
		if rec.Shift, err = e.shiftNo(tx); err != nil {
			return err
		}
		if rec.State == AwaitingCode {
			if err := e.oneWaiter(tx, rec.ID, r.Replace); err != nil {
				return err
			}
		}
		if r.AuthCode != "" {
			if err := e.useCode(tx, r.AuthCode, rec.ID); err != nil {
				return err
			}
		}
		if err := e.remember(tx, ik, rec.ID, "", 201); err != nil {
			return err
		}
		return e.putPayment(tx, rec, "")
	})
	if err != nil {
		return nil, false, err
	}
	if !replayed && rec.State == Processing {
		e.spawn(rec.ID, true)
	}
	if wait {
		if rec, err = e.waitAnswer(ctx, rec); err != nil {
			return nil, replayed, err
		}
	}
	return publicPayment(rec), replayed, nil
}

// oneWaiter enforces that one scan payment at a time waits for a code:
// another one waiting is payment_waiting, naming it, unless replace, which cancels it
// in the same transaction. Inside a write transaction the open-payment
// index, with the changes sharing the transaction (Tx.Uncommitted), is
// exact: every earlier commit has been applied to it.
func (e *Engine) oneWaiter(tx *store.Tx, newID string, replace bool) error {
	ids, stale := e.waiters()
	// Changes committed with this one (group commit) are not in the index
	// yet: their payments may wait for a code too.
	for _, ev := range tx.Uncommitted() {
		if p, ok := ev.Value.(*store.Payment); ok && p.State == AwaitingCode && !slices.Contains(ids, p.ID) {
			ids = append(ids, p.ID)
		}
	}
	for _, id := range stale {
		p, err := tx.Payment(id)
		if err != nil || p.State != AwaitingCode {
			continue
		}
		from := p.State
		p.State = Cancelled
		p.Error = &store.Error{Code: "no_code", Message: fmt.Sprintf("no payment code arrived within %s; nothing was charged", e.o.AwaitCodeTimeout)}
		if err := e.putPayment(tx, p, from); err != nil {
			return err
		}
	}
	for _, id := range ids {
		p, err := tx.Payment(id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if p.State != AwaitingCode {
			continue
		}
		if !replace {
			return errf(operr.CodePaymentWaiting, "payment %s (%d %s) is already waiting for a payment code: give it the code, cancel it, or create this one with \"replace\": true",
				p.ID, p.Amount, p.Currency)
		}
		from := p.State
		p.State, p.CancelRequested = Cancelled, true
		p.Error = &store.Error{Code: "replaced", Message: "replaced by payment " + newID + " before a code arrived; nothing was charged"}
		if err := e.putPayment(tx, p, from); err != nil {
			return err
		}
	}
	return nil
}

// useCode refuses a payment code another payment already used within
// CodeReuseWindow (a wallet charges a code once; sending it under a second
// order id could charge twice), and records this use. It runs in the
// transaction that commits the payment as processing, before any send.
func (e *Engine) useCode(tx *store.Tx, code, id string) error {
	u, err := tx.CodeUsed(code)
	if err != nil {
		return err
	}
	// A code in the index is refused whatever its age on the wall clock:
	// a wallet's code is valid for about a minute, so a code seen again a
	// day later is the same code (a collision of 18+ random digits is not
	// a real case), and the wall clock can jump. The index forgets a use
	// only by compaction, after CodeReuseWindow, which a clock jump holds.
	if u != nil && u.PaymentID != id {
		return errf(operr.CodeCodeAlreadyUsed, "payment code %s was already used by payment %s: a payment code pays once; ask the customer to refresh the code in their wallet",
			paycode.Mask(code), u.PaymentID)
	}
	return tx.MarkCodeUsed(code, id, e.now())
}

func (e *Engine) newPayment(tx *store.Tx, mode, wallet string, amount int64, currency, ref, code string) *store.Payment {
	now := e.now()
	p := &store.Payment{
		ID: newID("pay_", now), OrderID: newOrderID(tx, 'P', now), Reference: ref, Mode: mode, Wallet: wallet,
		Amount: amount, Currency: currency, State: AwaitingCode, CreatedAt: now, Refunds: []store.Refund{},
	}
	if mode == "qr" {
		p.State = Processing
	}
	if code != "" {
		p.State, p.AuthCode, p.AuthCodeMasked, p.CodeAt = Processing, code, paycode.Mask(code), now
	}
	return p
}

// waitAnswer waits (up to APIWait) for what a caller wants to see first: a
// qr payment's code_url, or a scan payment leaving processing.
func (e *Engine) waitAnswer(ctx context.Context, p *store.Payment) (*store.Payment, error) {
	if p.State != Processing && p.State != Queued {
		return p, nil
	}
	return e.waitFor(ctx, p.ID, e.o.APIWait, func(p *store.Payment) bool {
		if p.State != Processing {
			return true
		}
		return p.Mode == "qr" && p.CodeURL != ""
	})
}

// Payment returns one payment.
func (e *Engine) Payment(id string) (*Payment, error) {
	p, err := e.payment(id)
	if err != nil {
		return nil, err
	}
	return publicPayment(p), nil
}

// GiveCode gives a scan payment in awaiting_code its payment code
// (POST /v1/payments/{id}/code, and scans routed by HandleScan).
func (e *Engine) GiveCode(ctx context.Context, id, code string, ik IdemKey) (*Payment, error) {
	return e.giveCode(ctx, id, code, ik, true)
}

func (e *Engine) giveCode(ctx context.Context, id, code string, ik IdemKey, wait bool) (*Payment, error) {
	code = strings.TrimSpace(code)
	wallet, ok := paycode.Classify(code)
	if !ok {
		return nil, errf(operr.CodeInvalidCode, "%s is not a WeChat Pay, Alipay or UnionPay payment code", paycode.Mask(code))
	}
	if err := e.checkRunning(); err != nil {
		return nil, err
	}
	if err := e.auth.Refuse(); err != nil {
		return nil, err
	}
	started := false
	rec, err := e.mutate(id, func(tx *store.Tx, p *store.Payment) error {
		started = false // set by the last run only (group commit may redo it)
		old, err := replay(tx, ik)
		if err != nil {
			return err
		}
		if old != nil {
			return errNoChange
		}
		if p.Mode != "scan" {
			return errf(operr.CodeInvalidState, "payment %s is a qr payment; it takes no code", id)
		}
		if p.State != AwaitingCode {
			return errf(operr.CodeInvalidState, "payment %s is %s, not awaiting_code", id, p.State)
		}
		if e.waitedTooLong(id) {
			return errf(operr.CodeInvalidState, "payment %s waited longer than %s for a code and is being cancelled; start a new payment", id, e.o.AwaitCodeTimeout)
		}
		if p.Wallet != "" && p.Wallet != wallet {
			return errf(operr.CodeInvalidWallet, "the code is a %s code but the payment is for %s", wallet, p.Wallet)
		}
		if err := e.checkClockPlausible(); err != nil {
			return err
		}
		if err := e.useCode(tx, code, id); err != nil {
			return err
		}
		p.State, p.Wallet, p.AuthCode, p.AuthCodeMasked, p.CodeAt = Processing, wallet, code, paycode.Mask(code), e.now()
		started = true
		return e.remember(tx, ik, id, "", 200)
	})
	if errors.Is(err, errNoChange) {
		rec, err = e.payment(id)
	}
	if err != nil {
		if e.waitedTooLong(id) {
			e.expireAwaiting(id)
		}
		return nil, err
	}
	if started {
		e.spawn(id, true)
	}
	if wait {
		if rec, err = e.waitAnswer(ctx, rec); err != nil {
			return nil, err
		}
	}
	return publicPayment(rec), nil
}

// mutateRetry is mutate for a gateway answer that must be recorded: a
// journal error (not a refusal of the change) is counted and the write
// tried again, a few times, before it is given up to recovery (the
// payment then stays in its state, and is queried at the next start).
func (e *Engine) mutateRetry(id string, fn mutation) (*store.Payment, error) {
	var err error
	for i, wait := range []time.Duration{0, 10 * time.Millisecond, 100 * time.Millisecond, time.Second} {
		time.Sleep(wait)
		var rec *store.Payment
		rec, err = e.mutate(id, fn)
		var oe *OpError
		if err == nil || errors.Is(err, errNoChange) || errors.As(err, &oe) {
			return rec, err
		}
		if i < 3 {
			e.storeError("payment "+id+": will retry", err)
		}
	}
	return nil, err
}

// waitedTooLong reports whether a payment in awaiting_code has waited
// AwaitCodeTimeout (monotonic) for its code.
func (e *Engine) waitedTooLong(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	since, ok := e.awaitMono[id]
	return ok && e.mono()-since >= e.o.AwaitCodeTimeout
}

// mutate with errNoChange support: returns the unchanged record.
func (e *Engine) mutateOrSame(id string, fn mutation) (*store.Payment, error) {
	rec, err := e.mutate(id, fn)
	if errors.Is(err, errNoChange) {
		return e.payment(id)
	}
	return rec, err
}

// Cancel is the cashier stopping the wait (POST /v1/payments/{id}/cancel).
// awaiting_code and queued payments (nothing reached the gateway) are
// cancelled at once; a processing payment's driver stops waiting and
// queries once (cancelled only if the gateway confirms the order closed or
// failed; in_doubt otherwise; paid -> refunded automatically -> reversed).
func (e *Engine) Cancel(ctx context.Context, id string, ik IdemKey) (*Payment, error) {
	signal := false
	rec, err := e.mutateOrSame(id, func(tx *store.Tx, p *store.Payment) error {
		signal = false // set by the last run only (group commit may redo it)
		old, err := replay(tx, ik)
		if err != nil {
			return err
		}
		if old != nil {
			return errNoChange
		}
		switch p.State {
		case AwaitingCode:
			p.State = Cancelled
		case Processing, Queued:
			signal = true
		case InDoubt:
		default:
			return errf(operr.CodeInvalidState, "payment %s is already %s", id, p.State)
		}
		p.CancelRequested = true
		return e.remember(tx, ik, id, "", 200)
	})
	if err != nil {
		return nil, err
	}
	if signal {
		e.mu.Lock()
		f := e.flows[id]
		e.mu.Unlock()
		if f != nil {
			f.requestCancel()
		}
		rec, err = e.waitFor(ctx, id, e.o.APIWait, func(p *store.Payment) bool {
			return p.State != Processing && p.State != Queued
		})
		if err != nil {
			return nil, err
		}
	}
	return publicPayment(rec), nil
}

// Reprint queues a receipt for a final payment (POST /v1/payments/{id}/receipt).
func (e *Engine) Reprint(id string) (*Payment, error) {
	if e.o.Printer == nil {
		return nil, errf(operr.CodeNoPrinter, "no printer is configured")
	}
	var rec *store.Payment
	err := e.st.Update(func(tx *store.Tx) error {
		p, err := tx.Payment(id)
		if errors.Is(err, store.ErrNotFound) {
			return errf(operr.CodeNotFound, "no payment %s", id)
		}
		if err != nil {
			return err
		}
		if !p.State.Final() {
			return errf(operr.CodeInvalidState, "payment %s is %s; a receipt is printed once it is final", id, p.State)
		}
		rec = p
		now := e.now()
		return tx.AddJob(&store.Job{Kind: store.JobReceipt, PaymentID: id, Reprint: true, NextAt: now, CreatedAt: now})
	})
	if err != nil {
		return nil, err
	}
	e.kickOutbox()
	return publicPayment(rec), nil
}

// Sync makes every outbox job due now and wakes the worker (POST /v1/sync).
func (e *Engine) Sync() (int, error) {
	n := 0
	err := e.st.Update(func(tx *store.Tx) (err error) {
		n, err = e.dueNow(tx, "")
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("agent: sync: %w", err)
	}
	e.kickOutbox()
	return n, nil
}

// dueNow makes the outbox jobs of one payment (every job when paymentID
// is "") due now, and counts them.
func (e *Engine) dueNow(tx *store.Tx, paymentID string) (int, error) {
	jobs, err := tx.Jobs()
	if err != nil {
		return 0, err
	}
	n, now := 0, e.now()
	for _, j := range jobs {
		if paymentID != "" && j.PaymentID != paymentID {
			continue
		}
		if j.NextAt.After(now) {
			j.NextAt = now
			if err := tx.PutJob(j); err != nil {
				return 0, err
			}
		}
		n++
	}
	return n, nil
}

// ReceiptFor is payment id's receipt as it would be printed now.
func (e *Engine) ReceiptFor(id string) (slip.Receipt, error) {
	p, err := e.payment(id)
	if err != nil {
		return slip.Receipt{}, err
	}
	return e.Receipt(p, false), nil
}

// QueryOrder asks the gateway for an order (STATUS_QUERY), counted in the
// gateway metrics: agent/books reconciles a Z report's shift with it.
func (e *Engine) QueryOrder(ctx context.Context, orderID string, amount, tip int64) (*gateway.Result, error) {
	return e.gw.QueryOrder(ctx, orderID, amount, tip)
}

// Recheck makes the outbox jobs of one payment due now and wakes the
// worker: an in-doubt payment a reconciliation found paid is refunded by
// its reconciliation job at once.
func (e *Engine) Recheck(paymentID string) error {
	err := e.st.Update(func(tx *store.Tx) error { _, err := e.dueNow(tx, paymentID); return err })
	e.kickOutbox()
	return err
}
