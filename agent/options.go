package agent

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/posagent/posagent/agent/outbox"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/paycode"
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

// Options configure an Engine. Zero durations take the documented
// defaults; TimeScale multiplies every duration (tests use 0.01-0.05).
type Options struct {
	Gateway Gateway      // required
	Store   *store.Store // required; opened by the caller
	Logger  *slog.Logger // nil: discard
	Clock   Clock        // nil: real time

	Currency     string // ISO 4217 of the merchant account (default CAD)
	TerminalNo   string
	MerchantName string
	CallbackURL  string // optional call_back_url for qr orders

	// scan (PASSIVEPAY)
	ScanFirstPoll      time.Duration // first STATUS_QUERY after a reply (3 s)
	ScanFirstPollOnErr time.Duration // ... after a system error / no answer (5 s)
	ScanPollEvery      time.Duration // then every (3 s)
	ScanPollWindow     time.Duration // until this long after the code arrived (60 s)
	CodeValidity       time.Duration // offline window: a queued payment expires after (60 s)
	OfflineRetry       time.Duration // retry of a queued payment (3 s)
	// qr (ACTIVEPAY)
	QRPollEvery time.Duration // (2 s)
	QRWindow    time.Duration // how long the QR is shown and polled (3 min)
	// background
	ReconcileBackoff []time.Duration // in-doubt queries (2m, 10m, 1h, 6h, 24h; then the last, forever)
	// WalletsClose is how long after its code a scan order nobody paid
	// has been closed by the wallets (WeChat Pay revokes it after about
	// 45 s, Alipay closes it after 3 min; 3m30s with a margin): the first
	// query of an in-doubt scan payment comes no earlier, so that it finds
	// an answer instead of waiting for the next one (docs/payments.md).
	WalletsClose time.Duration
	RetryBackoff []time.Duration // refunds and receipts (3s, 15s, 1m, 5m, 15m, 1h; then the last)
	APIWait      time.Duration   // how long a POST waits for a qr code_url or a quick final answer (3 s)
	DedupWindow  time.Duration   // the same code within this is one scan (2 s)
	PrintTimeout time.Duration   // one receipt print attempt (30 s)
	Retention    time.Duration   // final, synced payments older than this are compacted (90 days; <0: never)
	CompactEvery time.Duration   // (24 h)
	TimeScale    float64         // multiplies every duration above (default 1)

	// Devices is the device registry (the daemon's devices.Registry):
	// status and metrics list it, a taken scan stamps its scanner. nil:
	// no devices.
	Devices       Devices
	Printer       ReceiptPrinter // nil = no printer
	AutoPrint     bool           // queue a receipt when a payment or refund becomes final
	ReceiptFooter []string

	ScanAutoStart bool // a payment code with no waiting payment starts one for the cart amount
	Version       string

	// AwaitCodeTimeout is how long a scan payment waits for its code
	// before it is cancelled with error no_code (2 min).
	AwaitCodeTimeout time.Duration
	// CartTimeout is how long an amount due set by the POS stays (10 min).
	CartTimeout time.Duration
	// DuplicateWindow: a new payment for the same amount as one that
	// failed or is in doubt within this long carries a possible_duplicate
	// warning (10 min; negative: off).
	DuplicateWindow time.Duration
	// RateEvery is how often the exchange rate to CNY is fetched
	// (EX_RATE_QUERY), at start and then each RateEvery (0: never; the
	// daemon fetches hourly); RateMaxAge is how old a rate may be and still
	// be printed as a CNY estimate (2 h).
	RateEvery, RateMaxAge time.Duration
	// IdempotencyWindow is how long an Idempotency-Key and its answer are
	// kept (24 h; negative: as long as the payment). A key replayed after
	// it is refused with 409 idempotency_key_expired, never taken anew.
	IdempotencyWindow time.Duration
	// CodeReuseWindow is how long a payment code's use is remembered to
	// refuse a second use (24 h; never less than CodeValidity).
	CodeReuseWindow time.Duration
	// RefundSettle is how long an in-doubt refund is given to show on its
	// original order before it is judged not made (10 min).
	RefundSettle time.Duration
	// ReversalEscalate: an automatic refund of a sale paid after it was
	// abandoned that is still not made this long after it started is
	// reported (error.code reversal_stuck, status, metric, alert); it goes
	// on being made again (1 h).
	ReversalEscalate time.Duration
	// AuthRecheck is how often the gateway's credentials are proven again
	// while they are refused (gateway_auth), and the least time between
	// two checks another answer triggers (30 s).
	AuthRecheck time.Duration
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
	// ShutdownGrace is how long gateway calls in flight may finish after
	// Run's context ends, so that a clean answer is recorded (10 s).
	ShutdownGrace time.Duration
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
	// JumpCheck is how often the wall clock is compared with the
	// monotonic clock to detect a jump (5 s).
	JumpCheck time.Duration
	// NotBefore is the earliest plausible wall-clock time (the build time);
	// payments are refused while the clock is earlier. Zero: 2025-01-01.
	NotBefore time.Time

	// Location is the shop's time zone (merchant.timezone): shift
	// boundaries and reports use it (nil: time.Local).
	Location *time.Location
	// GatewayZone is the zone of the wallet's trade_time in the gateway's
	// answers (gateway.time_zone; nil: UTC, as the simulator answers).
	GatewayZone *time.Location
	// CloseAt is the local time of day ("03:00") at which a shift still
	// open is closed with its Z report ("": never).
	CloseAt string
	// ReconcileRate is how many STATUS_QUERY a second a reconciliation
	// after a Z report sends (5; negative: no reconciliation by itself).
	ReconcileRate float64
	// ReconcileSpread: the reconciliation after a Z report starts after
	// a random delay up to this (10 min), so that a fleet of terminals
	// closing at the same minute does not query OTTPay at once.
	ReconcileSpread time.Duration
	// Reports prints and draws X and Z reports with the printer's profile
	// (nil: not printed).
	Reports ReportPrinter

	// ScanStep, nil outside tests, is called as a scan that starts a
	// payment from the cart passes a step ("cart-read": the cart was
	// read; "cart-taken": it was taken, the payment not yet recorded), so
	// that a test can interleave another request there (agent/stacktest).
	ScanStep func(step string)
}

func (o *Options) setDefaults() {
	d := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	if o.Currency == "" {
		o.Currency = "CAD"
	}
	d(&o.ScanFirstPoll, 3*time.Second)
	d(&o.ScanFirstPollOnErr, 5*time.Second)
	d(&o.ScanPollEvery, 3*time.Second)
	d(&o.ScanPollWindow, 60*time.Second)
	d(&o.CodeValidity, paycode.Validity)
	d(&o.OfflineRetry, 3*time.Second)
	d(&o.QRPollEvery, 2*time.Second)
	d(&o.QRWindow, 3*time.Minute)
	d(&o.WalletsClose, 3*time.Minute+30*time.Second)
	d(&o.APIWait, 3*time.Second)
	d(&o.DedupWindow, 2*time.Second)
	d(&o.PrintTimeout, 30*time.Second)
	d(&o.Retention, 90*24*time.Hour)
	d(&o.CompactEvery, 24*time.Hour)
	d(&o.AwaitCodeTimeout, 2*time.Minute)
	d(&o.CartTimeout, 10*time.Minute)
	d(&o.DuplicateWindow, 10*time.Minute)
	d(&o.RateMaxAge, 2*time.Hour)
	d(&o.CodeReuseWindow, 24*time.Hour)
	d(&o.IdempotencyWindow, 24*time.Hour)
	d(&o.RefundSettle, 10*time.Minute)
	d(&o.ReversalEscalate, time.Hour)
	d(&o.AuthRecheck, 30*time.Second)
	d(&o.ShutdownGrace, 10*time.Second)
	d(&o.JumpCheck, 5*time.Second)
	d(&o.ReconcileSpread, 10*time.Minute)
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
	if len(o.ReconcileBackoff) == 0 {
		o.ReconcileBackoff = []time.Duration{2 * time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour}
	}
	if len(o.RetryBackoff) == 0 {
		o.RetryBackoff = []time.Duration{3 * time.Second, 15 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}
	}
	if o.TimeScale <= 0 {
		o.TimeScale = 1
	}
	if o.TimeScale != 1 {
		o.scale()
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.CodeReuseWindow < o.CodeValidity {
		o.CodeReuseWindow = o.CodeValidity
	}
}

// scale multiplies every duration by TimeScale (the schedules are copied:
// the caller's slices are left as they were).
func (o *Options) scale() {
	s := func(v *time.Duration) { *v = time.Duration(float64(*v) * o.TimeScale) }
	for _, v := range []*time.Duration{&o.ScanFirstPoll, &o.ScanFirstPollOnErr, &o.ScanPollEvery, &o.ScanPollWindow,
		&o.CodeValidity, &o.OfflineRetry, &o.QRPollEvery, &o.QRWindow, &o.APIWait, &o.DedupWindow, &o.CompactEvery, &o.PrintTimeout,
		&o.AwaitCodeTimeout, &o.CartTimeout, &o.DuplicateWindow, &o.RateEvery, &o.RateMaxAge, &o.CodeReuseWindow, &o.RefundSettle, &o.ShutdownGrace, &o.JumpCheck,
		&o.ReversalEscalate, &o.AuthRecheck, &o.ReconcileSpread, &o.WalletsClose} {
		s(v)
	}
	if o.Retention > 0 {
		s(&o.Retention)
	}
	if o.IdempotencyWindow > 0 {
		s(&o.IdempotencyWindow)
	}
	rb := append([]time.Duration(nil), o.ReconcileBackoff...)
	for i := range rb {
		s(&rb[i])
	}
	o.ReconcileBackoff = rb
	tb := append([]time.Duration(nil), o.RetryBackoff...)
	for i := range tb {
		s(&tb[i])
	}
	o.RetryBackoff = tb
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
