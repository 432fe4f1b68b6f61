package refund

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/store"
)

// Engine is what the desk needs of the payment engine (package agent,
// through an unexported adapter): the payment record and the transaction
// that changes it, what a refund's transaction stamps on it, the outbox's
// bookkeeping of a job, and the engine's names for the gateway's answers.
type Engine interface {
	// Payment reads payment id (not_found when there is none).
	Payment(id string) (*store.Payment, error)
	// Mutate changes payment id in one journal transaction: fn, then the
	// engine's check of the payment's move, its history, the record and
	// its payment.updated event. An error of fn is returned as it is.
	Mutate(id string, fn func(tx *store.Tx, p *store.Payment) error) (*store.Payment, error)
	// WaitFor waits until cond holds for payment id, d passes or ctx
	// ends, and returns the payment as it then is.
	WaitFor(ctx context.Context, id string, d time.Duration, cond func(*store.Payment) bool) (*store.Payment, error)

	// Replay checks an idempotency key in tx: the stored answer when the
	// key was seen with the same request, nil when it is new, a refusal
	// when it was seen with another (or expired). Remember stores this
	// request's answer under the key.
	Replay(tx *store.Tx, k Key) (*store.Idem, error)
	Remember(tx *store.Tx, k Key, paymentID, refundID string, status int) error
	// NewIDs are a new refund's id and its gateway order id (unused in tx).
	NewIDs(tx *store.Tx, at time.Time) (id, orderID string)
	// ShiftNo is the number of the open shift, opening one when none is.
	ShiftNo(tx *store.Tx) (uint64, error)
	// CheckClock refuses money work while the wall clock is implausible.
	CheckClock() error
	// Resolved journals a payment.resolved event for p, in tx.
	Resolved(tx *store.Tx, p *store.Payment, reason string) error

	// Answer is a gateway call's result as kept on jobs (decisions read
	// it, never error text); Refusal is the engine's code (declined,
	// wrong_password, ...) and message of a final refusal.
	Answer(action string, res *gateway.Result, err error) *store.Answer
	Refusal(err error) (code, msg string)

	// RetryJob records a failed attempt of job j (with its answer) and
	// schedules the next one on the retry schedule (Options.RetryBackoff).
	RetryJob(j *store.Job, why error, a *store.Answer)
	// Kick wakes the outbox.
	Kick()
	// StoreError logs and counts a journal error no caller can be given.
	StoreError(op string, err error)
}

// Clock is the engine's clock as the desk reads it.
type Clock interface {
	// Now is the wall clock in UTC, for stamps.
	Now() time.Time
	// Mono is the monotonic reading: spans inside this process.
	Mono() time.Duration
	// Age is how long ago a stamp was, never below zero.
	Age(t time.Time) time.Duration
	// OlderThan reports whether a stamp is at least d old, or in the
	// future (written before the wall clock went back: it cannot judge).
	OlderThan(t time.Time, d time.Duration) bool
}

// Gateway is the (metered) gateway: a refund, and the original order's
// STATUS_QUERY that reports what was refunded of it.
type Gateway interface {
	Refund(ctx context.Context, r gateway.RefundRequest) (*gateway.Result, error)
	QueryOrder(ctx context.Context, orderID string, amount, tip int64) (*gateway.Result, error)
}

// Auth is the proof of the gateway's credentials (agent/gwauth.Watch).
type Auth interface {
	// Refuse is the error for work that must not be sent while the
	// credentials are refused, or nil.
	Refuse() error
	// SoundAfter reports whether a probe started at or after the
	// monotonic reading t proved the channel sound.
	SoundAfter(ctx context.Context, t time.Duration) bool
}

// Options configure a Desk. The durations are the engine's (agent.Timing,
// scaled).
type Options struct {
	Engine  Engine       // required
	Clock   Clock        // required
	Store   *store.Store // required: the engine's journal
	Gateway Gateway      // required
	Auth    Auth         // required
	Logger  *slog.Logger // nil: discard

	// RetryBackoff is the schedule a refund's send and settling are tried
	// on (its steps, the last repeated).
	RetryBackoff []time.Duration
	// Jitter spreads a delay the desk schedules itself (a reversal made
	// again) as the outbox spreads its retries.
	Jitter func(time.Duration) time.Duration
	// APIWait is how long a refund asked for waits for its answer.
	APIWait time.Duration
	// RefundSettle is how long an in-doubt refund is given to show on its
	// original order before it is called not made.
	RefundSettle time.Duration
	// ReversalEscalate: an automatic refund not made for this long makes
	// the payment say so (reversal_stuck).
	ReversalEscalate time.Duration
	// PrintReceipts queues a receipt for each refund that succeeds.
	PrintReceipts bool
}

// Key is an Idempotency-Key with the hash of the request it came with
// (agent.IdemKey).
type Key struct {
	Key  string
	Hash string
}

// By is who asked for a refund: the operator, the OTTPay operator_id
// sent for them, and the manager who approved it. Unapproved, when set,
// bounds a refund without an approver (Limits).
type By struct {
	Operator, GatewayOperator, Approver string
	Unapproved                          *Limits
}

// Limits bound what may be refunded without a manager's approval
// (By.Unapproved). They are judged inside the transaction that records
// the refund, against what the journal holds at that moment, so that
// refunds split into small ones, sent at once, or asked as "all" cannot
// pass a limit that one refund could not.
type Limits struct {
	// PerPayment: what one payment may be refunded in all without a
	// manager's approval, this refund included (refunds.approval_above;
	// 0: nothing; negative: no limit).
	PerPayment int64
	// PerShift: what the open shift may refund in all without approval,
	// this refund included (refunds.unapproved_per_shift; 0: no limit).
	PerShift int64
}

// ResolveRequest settles an in-doubt refund by hand
// (POST /v1/payments/{id}/refunds/{refund}/resolve).
type ResolveRequest struct {
	// Outcome is "made" (the portal shows it: succeeded) or "not_made"
	// (failed: nothing was refunded).
	Outcome  string `json:"outcome"`
	Reason   string `json:"reason"`
	Operator string `json:"operator"`
}

// Desk takes a payment's refunds, sends them one at a time and settles
// each from the gateway's answers (or a manager's word). Create with New;
// the engine's outbox runs its jobs (Send).
type Desk struct {
	o     Options
	eng   Engine
	clock Clock
	st    *store.Store
	gw    Gateway
	auth  Auth
	log   *slog.Logger

	mu sync.Mutex
	// sent: per refund, the monotonic reading when its last send ended
	// (or, after a restart, when this process first judged it): an
	// in-doubt refund is called not made only RefundSettle after it on
	// this clock too, never on the wall clock alone.
	sent map[string]time.Duration
}

// New checks the options and returns a desk.
func New(o Options) (*Desk, error) {
	if o.Engine == nil || o.Clock == nil || o.Store == nil || o.Gateway == nil || o.Auth == nil {
		return nil, errors.New("refund: new: Options.Engine, Clock, Store, Gateway and Auth are required")
	}
	if len(o.RetryBackoff) == 0 || o.Jitter == nil {
		return nil, errors.New("refund: new: Options.RetryBackoff and Jitter are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Desk{o: o, eng: o.Engine, clock: o.Clock, st: o.Store, gw: o.Gateway, auth: o.Auth, log: o.Logger,
		sent: map[string]time.Duration{}}, nil
}

// errNoChange: a change that leaves the payment as it is (not committed).
var errNoChange = errors.New("refund: no change")

// mutateOrSame is Engine.Mutate that returns the payment unchanged when
// fn made no change.
func (d *Desk) mutateOrSame(id string, fn func(tx *store.Tx, p *store.Payment) error) (*store.Payment, error) {
	rec, err := d.eng.Mutate(id, fn)
	if errors.Is(err, errNoChange) {
		return d.eng.Payment(id)
	}
	return rec, err
}
