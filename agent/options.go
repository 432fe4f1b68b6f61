package agent

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/posagent/posagent/agent/outbox"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/slip"
	"github.com/posagent/posagent/store"
)

// Gateway is what the engine needs of the OTTPay client; *gateway.Client
// satisfies it. The rule of package gateway applies: err == nil means Paid.
type Gateway interface {
	PassivePay(ctx context.Context, r gateway.PayRequest) (*gateway.Result, error)
	ActivePay(ctx context.Context, r gateway.QRRequest) (*gateway.Result, error)
	// QueryOrder is STATUS_QUERY of an order sent with amount and tip;
	// the answer's amounts must agree with them (amount > 0).
	QueryOrder(ctx context.Context, orderID string, amount, tip int64) (*gateway.Result, error)
	Refund(ctx context.Context, r gateway.RefundRequest) (*gateway.Result, error)
}

// ReceiptPrinter prints a receipt (printer package implementations).
type ReceiptPrinter interface {
	PrintReceipt(ctx context.Context, r slip.Receipt) error
}

// Clock is the engine's time source; flows depend on it.
//
// Now is the wall clock: it stamps records and may jump (a POS board
// without a real-time clock boots in 1970 and jumps when NTP answers).
// After is a timer on the monotonic clock. A Clock that also implements
// MonoClock gives the engine its monotonic reading; otherwise the engine
// uses Go's monotonic clock (time.Now's reading), which is what the real
// clock needs.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// MonoClock is a Clock whose monotonic reading is separate from its wall
// clock (tests that jump the wall clock implement it).
type MonoClock interface {
	// Mono is the time elapsed on the monotonic clock since an arbitrary
	// origin; it never goes back and ignores wall-clock jumps.
	Mono() time.Duration
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Options configure an Engine. Every delay is in Timing (left zero:
// DefaultTiming()); TimeScale multiplies it (tests use 0.01-0.05).
type Options struct {
	Gateway Gateway      // required
	Store   *store.Store // required; opened by the caller
	Logger  *slog.Logger // nil: discard
	Clock   Clock        // nil: real time

	Currency     string // ISO 4217 of the merchant account (default CAD)
	TerminalNo   string
	MerchantName string
	CallbackURL  string // optional call_back_url for qr orders

	// Timing is every delay of the engine (zero: DefaultTiming()), and
	// TimeScale multiplies it (Timing.Scaled; default 1).
	Timing
	TimeScale float64

	// Devices is the device registry (the daemon's devices.Registry):
	// status and metrics list it, a taken scan stamps its scanner. nil:
	// no devices.
	Devices       Devices
	Printer       ReceiptPrinter // nil = no printer
	AutoPrint     bool           // queue a receipt when a payment or refund becomes final
	ReceiptFooter []string

	ScanAutoStart bool // a payment code with no waiting payment starts one for the cart amount
	Version       string

	// FeeAllowanceBPS: the convenience fee believed from a call-back that
	// charges more than was due without naming it (gateway.FeeAllowance);
	// the same as the gateway client's (gateway.fee_allowance_bps). 0: none.
	FeeAllowanceBPS int
	// TipChoices are the tip suggestions, in percent of the amount, a cart
	// with tip_prompt shows the customer (display.tip_choices); "no tip"
	// is always offered.
	TipChoices []int
	// TipMaxPercent caps a tip at this percent of the amount (rounded as
	// a suggestion is) unless a manager approved it (tips.max_percent, 30);
	// a suggestion above it is refused by New.
	TipMaxPercent int
	// OutboxWorkers bounds the outbox jobs run at once (4).
	OutboxWorkers int
	// BackoffJitter spreads every delay the outbox schedules by up to this
	// fraction either way (0.2: a 10 s retry comes after 8 to 12 s), so
	// that a fleet of agents whose retries failed together through a
	// gateway outage does not come back in step. Zero: 0.2; negative: none.
	BackoffJitter float64
	// Rand returns a uniform number in [0, 1) for the jitter; it is called
	// from several goroutines (nil: math/rand/v2's Float64). A test seam.
	Rand func() float64
	// NotBefore is the earliest plausible wall-clock time (the build time);
	// payments are refused while the clock is earlier. Zero: 2025-01-01.
	NotBefore time.Time

	// GatewayZone is the zone of the wallet's trade_time in the gateway's
	// answers (gateway.time_zone; nil: UTC, as the simulator answers).
	GatewayZone *time.Location

	// ScanStep, nil outside tests, is called as a scan that starts a
	// payment from the cart passes a step ("cart-read": the cart was
	// read; "cart-taken": it was taken, the payment not yet recorded), so
	// that a test can interleave another request there (agent/stacktest).
	ScanStep func(step string)
}

func (o *Options) setDefaults() error {
	if o.Timing.isZero() {
		o.Timing = DefaultTiming()
	}
	if err := o.Timing.check(); err != nil {
		return err
	}
	if o.TimeScale <= 0 {
		o.TimeScale = 1
	}
	o.Timing = o.Timing.Scaled(o.TimeScale)
	if o.CodeReuseWindow < o.CodeValidity {
		o.CodeReuseWindow = o.CodeValidity
	}
	if o.Currency == "" {
		o.Currency = "CAD"
	}
	if o.TipMaxPercent <= 0 {
		o.TipMaxPercent = 30
	}
	if o.OutboxWorkers <= 0 {
		o.OutboxWorkers = 4
	}
	if o.BackoffJitter == 0 {
		o.BackoffJitter = 0.2
	}
	o.BackoffJitter = min(max(o.BackoffJitter, 0), 1)
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// longestBackoff is the longest delay the outbox ever schedules, jitter
// included (outbox.Horizon).
func (o *Options) longestBackoff() time.Duration {
	return outbox.Horizon(o.BackoffJitter, o.ReconcileBackoff, o.RetryBackoff)
}

// jitter spreads d uniformly over d*(1-BackoffJitter) to d*(1+BackoffJitter).
func (o *Options) jitter(d time.Duration) time.Duration {
	return outbox.Jitter(d, o.BackoffJitter, o.Rand())
}

// backoff returns the n-th delay (n from 0) of a schedule, repeating the last.
func backoff(sched []time.Duration, n int) time.Duration { return outbox.Backoff(sched, n) }
