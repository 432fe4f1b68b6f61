package agent

import (
	"context"
	"errors"
	"time"

	"github.com/posagent/posagent/agent/walletside"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/paycode"
	"github.com/posagent/posagent/store"
)

// failCode maps a final gateway refusal to the payment's error.code.
func failCode(rsp string) string {
	switch rsp {
	case gateway.CodeFail:
		return "declined"
	case gateway.CodePwdIncorrect:
		return "wrong_password"
	case gateway.CodeParamInvalid, gateway.CodeParamError:
		return "invalid_code"
	case gateway.CodeOrderTypeError:
		return "wallet_not_supported"
	case "invalid_request":
		return "invalid_request"
	}
	return "declined"
}

// statusCode maps a final order_status (Query answered Failed) to error.code.
func statusCode(orderStatus string) string {
	if orderStatus == gateway.StatusOrderClosed {
		return "order_closed"
	}
	return "declined"
}

func gwError(err error) (code, msg string) {
	var ge *gateway.Error
	if errors.As(err, &ge) {
		msg = ge.Message
		if msg == "" {
			msg = ge.Code
		}
		if ge.Code == "" && errors.Is(err, gateway.ErrNotSent) {
			// Refused by the client before any I/O (a bad request).
			return "invalid_request", err.Error()
		}
		return ge.Code, msg
	}
	return "", ""
}

// answerOf turns a gateway call's result into the structured answer kept
// on payments and jobs: decisions read it, never error text.
func answerOf(action string, res *gateway.Result, err error, at time.Time) *store.Answer {
	a := &store.Answer{Action: action, Sent: !errors.Is(err, gateway.ErrNotSent), Outcome: gateway.OutcomeOf(err).String(), At: at}
	if res != nil {
		a.RspCode, a.OrderStatus, a.Answered = res.Code, res.OrderStatus, true
		a.Wallet = walletside.Of(res)
	}
	var ge *gateway.Error
	if errors.As(err, &ge) {
		if ge.Code != "" {
			a.RspCode = ge.Code
		}
		// A refusal the gateway sent (a code, nothing unverified) is an answer.
		a.Answered = ge.Code != "" && !errors.Is(err, gateway.ErrUnverified) && !errors.Is(err, gateway.ErrNotSent)
	}
	if err != nil && !errors.As(err, &ge) {
		a.Answered = false
	}
	if errors.Is(err, gateway.ErrNotSent) && a.Outcome == gateway.Unknown.String() {
		a.Outcome = "not_sent"
	}
	return a
}

// note records a gateway answer on the payment (no state change).
func (e *Engine) note(id string, a *store.Answer) { e.noteWaiting(id, a, "") }

// noteWaiting records an answer and what the payment now waits for (a
// reason such as ReasonWaitingForCustomer; "" keeps the one it has).
func (e *Engine) noteWaiting(id string, a *store.Answer, reason string) {
	_, err := e.mutate(id, func(tx *store.Tx, p *store.Payment) error {
		if p.State.Final() {
			return errNoChange
		}
		p.Answer = a
		if reason != "" {
			p.Reason = reason
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNoChange) {
		e.storeError("record answer", err)
	}
}

type wake int

const (
	wakeTimer wake = iota
	wakeCancel
	wakeStop
)

// sleep waits d, the cashier's cancel or the engine's end. A poke (a
// verified call-back) ends the wait early, as a timer would.
func (e *Engine) sleep(f *flow, d time.Duration) wake {
	if d < 0 {
		d = 0
	}
	select {
	case <-f.run.Done():
		return wakeStop
	default:
	}
	select {
	case <-f.cancel:
		return wakeCancel
	default:
	}
	select {
	case <-e.clock.After(d):
		return wakeTimer
	case <-f.poke:
		return wakeTimer
	case <-f.cancel:
		return wakeCancel
	case <-f.run.Done():
		return wakeStop
	}
}

func (f *flow) cancelled() bool {
	select {
	case <-f.cancel:
		return true
	default:
		return false
	}
}

// step is where a flow goes next; each step's function returns the one
// after it, stepDone when the flow has nothing left to do.
type step uint8

const (
	stepDone   step = iota
	stepSend        // send the payment (PASSIVEPAY or ACTIVEPAY)
	stepPoll        // query it until it is final or the window ends
	stepQueued      // nothing reached the gateway: retry while the code is valid
	stepCancel      // the cashier stopped waiting: one last query decides
)

func (s step) String() string {
	switch s {
	case stepDone:
		return "done"
	case stepSend:
		return "send"
	case stepPoll:
		return "poll"
	case stepQueued:
		return "queued"
	case stepCancel:
		return "cancel"
	}
	return "unknown"
}

// drive runs one payment until it is final or in doubt (then the outbox's
// reconciler owns it). fresh: the state change to processing was just
// committed and nothing was sent yet; otherwise (recovery) a processing
// payment may have been sent and is only ever queried.
func (e *Engine) drive(f *flow, fresh bool) {
	p, err := e.payment(f.id)
	if err != nil {
		e.storeError("drive "+f.id+": load", err)
		return
	}
	// Windows run on the monotonic clock from here; a recovered payment's
	// age so far comes from the wall clock, clamped at zero.
	f.mono0 = e.mono()
	if !fresh {
		f.codeAge0 = e.ageOf(codeAt(p))
	}
	if p.Mode == "qr" {
		left := e.o.QRWindow
		if !p.QRExpiresAt.IsZero() {
			left = min(left, max(0, p.QRExpiresAt.Sub(e.now())))
		} else if !fresh {
			left = max(0, e.o.QRWindow-e.ageOf(p.CreatedAt))
		}
		f.qrDeadline = f.mono0 + left
	}
	if p.CancelRequested {
		f.requestCancel()
	}
	var next step
	switch {
	case p.State == Queued && p.CancelRequested:
		e.finish(f, Cancelled, nil)
		return
	case p.State == Queued:
		next = stepQueued
	case p.State == Processing && p.CancelRequested && fresh:
		e.finish(f, Cancelled, nil) // cancelled before anything was sent
		return
	case p.State == Processing && p.CancelRequested:
		next = stepCancel
	case p.State == Processing && fresh:
		next = stepSend
	case p.State == Processing:
		next = stepPoll
	default:
		return
	}
	delay := time.Duration(0)
	for next != stepDone {
		if f.run.Err() != nil {
			return
		}
		switch next {
		case stepSend:
			if p.Mode == "qr" {
				next = e.sendQR(f, p)
			} else {
				next, delay = e.sendScan(f, p)
			}
		case stepQueued:
			next = e.waitQueued(f, p)
		case stepPoll:
			if p.Mode == "qr" {
				next = e.pollQR(f)
			} else {
				next = e.pollScan(f, p, delay)
			}
		case stepCancel:
			e.cancelQuery(f)
			next = stepDone
		}
		if next != stepDone {
			if p, err = e.payment(f.id); err != nil {
				return
			}
		}
	}
}

// finish moves the payment to a final (or in-doubt) state; a, when not
// nil, is the gateway answer that decided it.
func (e *Engine) finish(f *flow, to State, perr *store.Error, a ...*store.Answer) {
	_, err := e.mutateRetry(f.id, func(tx *store.Tx, p *store.Payment) error {
		if p.State.Final() || p.State == to {
			return errNoChange
		}
		p.State, p.Error = to, perr
		if len(a) > 0 && a[0] != nil {
			p.Answer = a[0]
		}
		if to == InDoubt {
			return e.addQueryJob(tx, p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errNoChange) {
		e.storeError("payment "+f.id+" to "+string(to), err)
	}
}

// codeAge is how long ago the flow's payment code arrived (monotonic).
func (e *Engine) codeAge(f *flow) time.Duration { return f.codeAge0 + e.mono() - f.mono0 }

// paid records a Paid answer: succeeded, or, when the cashier had already
// abandoned the sale, in_doubt with an automatic refund (then reversed).
func (e *Engine) paid(f *flow, late bool, a *store.Answer) {
	_, err := e.mutateRetry(f.id, func(tx *store.Tx, p *store.Payment) error {
		if p.State.Final() {
			return errNoChange
		}
		p.LastOutcome, p.Answer = "paid", a
		if late || p.CancelRequested {
			return e.refunds.Reverse(tx, p)
		}
		p.State, p.Error = Succeeded, nil
		return nil
	})
	if err != nil && !errors.Is(err, errNoChange) {
		e.storeError("payment "+f.id+" paid", err)
	}
}

// addQueryJob schedules the reconciler's first query of an in-doubt
// payment: after the first delay of the schedule, and for a scan payment
// not before the wallets have closed an order nobody paid (WalletsClose
// after its code), so that the query finds an answer.
func (e *Engine) addQueryJob(tx *store.Tx, p *store.Payment) error {
	jobs, err := tx.Jobs()
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.PaymentID == p.ID && j.Kind == store.JobQuery {
			return nil
		}
	}
	now := e.now()
	next := now.Add(e.o.jitter(backoff(e.o.ReconcileBackoff, 0)))
	if p.Mode == "scan" {
		// codeAt is wall-clock time: bounded by now, a clock step never
		// pushes the query further out than WalletsClose.
		from := codeAt(p)
		if from.After(now) {
			from = now
		}
		closed := from.Add(e.o.WalletsClose)
		if closed.After(next) {
			next = closed
		}
	}
	return tx.AddJob(&store.Job{Kind: store.JobQuery, PaymentID: p.ID, NextAt: next, CreatedAt: now})
}

// sendScan sends PASSIVEPAY once (the payment is processing, committed).
// An answer that arrives during shutdown (within ShutdownGrace) is still
// recorded; only the next step is left to recovery.
func (e *Engine) sendScan(f *flow, p *store.Payment) (next step, delay time.Duration) {
	e.log.Info("agent: scan send", "id", p.ID, "order_id", p.OrderID, "amount", p.Amount, "code", paycode.Mask(p.AuthCode))
	res, err := e.gw.PassivePay(f.ctx, gateway.PayRequest{OrderID: p.OrderID, Amount: p.Amount, AuthCode: p.AuthCode, Wallet: gateway.Wallet(p.Wallet), OperatorID: p.GatewayOperator,
		Tip: p.Tip, SaleNum: p.Reference})
	a := answerOf(gateway.ActionPassivePay, res, err, e.now())
	stopping := f.run.Err() != nil
	switch {
	case err == nil:
		e.paid(f, f.cancelled(), a)
		return stepDone, 0
	case gateway.OutcomeOf(err) == gateway.Failed:
		code, msg := gwError(err)
		e.finish(f, Failed, &store.Error{Code: failCode(code), Message: msg}, a)
		return stepDone, 0
	case errors.Is(err, gateway.ErrNotSent):
		if f.cancelled() {
			e.finish(f, Cancelled, nil, a)
			return stepDone, 0
		}
		_, err2 := e.mutate(f.id, func(tx *store.Tx, p *store.Payment) error {
			p.State, p.LastOutcome, p.Answer = Queued, "not sent: "+err.Error(), a
			return nil
		})
		if err2 != nil {
			e.storeError("queue payment", err2)
			return stepDone, 0
		}
		if stopping {
			return stepDone, 0
		}
		return stepQueued, 0
	}
	if stopping {
		return stepDone, 0 // recovery queries it
	}
	if a.RspCode == gateway.CodeProcessing {
		// The wallet asks the customer to confirm (a password, or a
		// confirmation above a limit or after several payments a day).
		e.noteWaiting(f.id, a, ReasonWaitingForCustomer)
	} else {
		e.note(f.id, a)
	}
	if f.cancelled() {
		return stepCancel, 0
	}
	e.log.Info("agent: scan outcome unknown; polling", "id", p.ID, "order_id", p.OrderID, "err", err)
	if a.RspCode == gateway.CodeProcessing {
		return stepPoll, e.o.ScanFirstPoll
	}
	return stepPoll, e.o.ScanFirstPollOnErr
}

func codeAt(p *store.Payment) time.Time {
	if p.CodeAt.IsZero() {
		return p.CreatedAt
	}
	return p.CodeAt
}

// waitQueued retries a queued payment (nothing reached the gateway) with
// the same order id until the code's validity window ends: then expired.
func (e *Engine) waitQueued(f *flow, p *store.Payment) step {
	wait := min(e.o.OfflineRetry, e.o.CodeValidity-e.codeAge(f))
	switch e.sleep(f, wait) {
	case wakeStop:
		return stepDone
	case wakeCancel:
		e.finish(f, Cancelled, nil)
		return stepDone
	}
	if e.codeAge(f) >= e.o.CodeValidity {
		e.finish(f, Expired, &store.Error{Code: "code_expired",
			Message: "the gateway could not be reached while the payment code was valid; nothing was charged"})
		return stepDone
	}
	_, err := e.mutate(f.id, func(tx *store.Tx, p *store.Payment) error {
		if p.State != Queued {
			return errNoChange
		}
		p.State = Processing
		p.Attempts++
		return nil
	})
	if err != nil {
		return stepDone
	}
	return stepSend
}

// pollScan queries an order whose outcome is unknown until the polling
// window (from the code's arrival) ends; then it is in doubt.
func (e *Engine) pollScan(f *flow, p *store.Payment, delay time.Duration) step {
	for {
		wait := min(delay, e.o.ScanPollWindow-e.codeAge(f))
		switch e.sleep(f, wait) {
		case wakeStop:
			return stepDone
		case wakeCancel:
			return stepCancel
		}
		res, err := e.gw.QueryOrder(f.ctx, p.OrderID, p.Amount, p.Tip)
		a := answerOf(gateway.ActionStatusQuery, res, err, e.now())
		switch gateway.QueryOutcome(err) {
		case gateway.Paid:
			e.paid(f, f.cancelled(), a)
			return stepDone
		case gateway.Failed:
			st := ""
			if res != nil {
				st = res.OrderStatus
			}
			to := Failed
			if f.cancelled() {
				to = Cancelled
			}
			e.finish(f, to, &store.Error{Code: statusCode(st), Message: "the gateway reports the order " + st}, a)
			return stepDone
		}
		if f.run.Err() != nil {
			return stepDone
		}
		if f.cancelled() {
			return stepCancel
		}
		if e.codeAge(f) >= e.o.ScanPollWindow {
			e.log.Info("agent: scan outcome still unknown after the polling window; in doubt", "id", p.ID, "order_id", p.OrderID)
			e.finish(f, InDoubt, &store.Error{Code: "outcome_unknown", Message: "no final answer within the polling window; reconciling in the background"}, a)
			return stepDone
		}
		delay = e.o.ScanPollEvery
	}
}

// cancelQuery: the cashier stopped waiting. Query once: paid -> automatic
// refund (reversed); closed or failed -> cancelled; else in_doubt.
func (e *Engine) cancelQuery(f *flow) {
	p, err := e.payment(f.id)
	if err != nil || p.State.Final() {
		return
	}
	qctx, cancel := context.WithCancel(context.WithoutCancel(f.run))
	stop := context.AfterFunc(f.run, func() { time.AfterFunc(e.o.ShutdownGrace, cancel) })
	res, err := e.gw.QueryOrder(qctx, p.OrderID, p.Amount, p.Tip)
	stop()
	cancel()
	a := answerOf(gateway.ActionStatusQuery, res, err, e.now())
	switch gateway.QueryOutcome(err) {
	case gateway.Paid:
		e.paid(f, true, a)
	case gateway.Failed:
		e.finish(f, Cancelled, nil, a)
	default:
		if f.run.Err() != nil {
			return // recovery picks it up (the cancel is journaled)
		}
		msg := "cancelled while the outcome was unknown; reconciling in the background"
		if p.Reason == ReasonWaitingForCustomer {
			msg = MsgCancelledWaiting
		}
		e.finish(f, InDoubt, &store.Error{Code: "outcome_unknown", Message: msg}, a)
	}
}

// sendQR sends ACTIVEPAY and stores the code_url.
func (e *Engine) sendQR(f *flow, p *store.Payment) step {
	e.log.Info("agent: qr send", "id", p.ID, "order_id", p.OrderID, "amount", p.Amount, "wallet", p.Wallet)
	res, err := e.gw.ActivePay(f.ctx, gateway.QRRequest{OrderID: p.OrderID, Amount: p.Amount, Wallet: gateway.Wallet(p.Wallet), CallbackURL: e.o.CallbackURL, OperatorID: p.GatewayOperator,
		Tip: p.Tip})
	a := answerOf(gateway.ActionActivePay, res, err, e.now())
	switch {
	case err != nil && gateway.OutcomeOf(err) == gateway.Failed:
		code, msg := gwError(err)
		e.finish(f, Failed, &store.Error{Code: failCode(code), Message: msg}, a)
		return stepDone
	case errors.Is(err, gateway.ErrNotSent):
		e.finish(f, Failed, &store.Error{Code: "gateway_unreachable", Message: "the gateway could not be reached; nothing was charged"}, a)
		return stepDone
	}
	if f.run.Err() != nil {
		return stepDone
	}
	if f.cancelled() {
		return stepCancel
	}
	f.qrDeadline = e.mono() + e.o.QRWindow
	_, err2 := e.mutate(f.id, func(tx *store.Tx, p *store.Payment) error {
		if p.State != Processing {
			return errNoChange
		}
		if err == nil && res != nil {
			p.CodeURL = res.CodeURL
		}
		p.Answer = a
		p.QRExpiresAt = e.now().Add(e.o.QRWindow)
		return nil
	})
	if err2 != nil {
		return stepDone
	}
	return stepPoll
}

// pollQR polls a shown QR until it is paid or the QR window ends. At the
// end (or on cancel) the QR leaves the screen (the display shows a QR only
// while the payment is processing) and one last answer decides:
//
//	paid            -> succeeded (at the window's end) / automatic refund (after a cancel)
//	closed, failure -> cancelled (nothing can be charged any more)
//	notpay, unknown -> in_doubt: a customer can still pay a QR they scanned,
//	                   so the reconciler keeps querying; a late payment is
//	                   refunded automatically (reversed)
func (e *Engine) pollQR(f *flow) step {
	p, err := e.payment(f.id)
	if err != nil {
		return stepDone
	}
	for {
		switch e.sleep(f, min(e.o.QRPollEvery, f.qrDeadline-e.mono())) {
		case wakeStop:
			return stepDone
		case wakeCancel:
			return stepCancel
		}
		res, err := e.gw.QueryOrder(f.ctx, p.OrderID, p.Amount, p.Tip)
		a := answerOf(gateway.ActionStatusQuery, res, err, e.now())
		switch gateway.QueryOutcome(err) {
		case gateway.Paid:
			e.paid(f, f.cancelled(), a)
			return stepDone
		case gateway.Failed:
			e.finish(f, Cancelled, nil, a)
			return stepDone
		}
		if f.run.Err() != nil {
			return stepDone
		}
		if f.cancelled() {
			return stepCancel
		}
		if e.mono() >= f.qrDeadline {
			e.finish(f, InDoubt, &store.Error{Code: "qr_not_paid", Message: "the QR was not paid within its window; still reconciling, a late payment is refunded"}, a)
			return stepDone
		}
	}
}
