package agent

import (
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/posagent/posagent/paycode"
)

// Timing is every delay of the engine and of the parts the daemon builds
// beside it (agent/books, the local API), in one value. DefaultTiming has
// the documented real defaults; Scaled compresses them all at once (tests
// and the simulator run real flows 20-100 times faster). A Timing is taken
// as given: a zero duration is zero, and the fields that may be off say
// so. Options.Timing left zero is DefaultTiming().
type Timing struct {
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
	DedupWindow  time.Duration   // the same code within this is one scan (2 s; 0: off)
	PrintTimeout time.Duration   // one receipt, report or placard print attempt (30 s)
	Retention    time.Duration   // final, synced payments older than this are compacted (90 days; 0: never)
	CompactEvery time.Duration   // (24 h)
	// AwaitCodeTimeout is how long a scan payment waits for its code
	// before it is cancelled with error no_code (2 min).
	AwaitCodeTimeout time.Duration
	// CartTimeout is how long an amount due set by the POS stays (10 min).
	CartTimeout time.Duration
	// DuplicateWindow: a new payment for the same amount as one that
	// failed or is in doubt within this long carries a possible_duplicate
	// warning (10 min; 0: off).
	DuplicateWindow time.Duration
	// RateEvery is how often the exchange rate to CNY is fetched
	// (EX_RATE_QUERY), at start and then each RateEvery (0: never, the
	// default; the daemon fetches hourly); RateMaxAge is how old a rate may
	// be and still be printed as a CNY estimate (2 h).
	RateEvery, RateMaxAge time.Duration
	// IdempotencyWindow is how long an Idempotency-Key and its answer are
	// kept (24 h; 0: as long as the payment). A key replayed after it is
	// refused with 409 idempotency_key_expired, never taken anew.
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
	// ShutdownGrace is how long gateway calls in flight may finish after
	// Run's context ends, so that a clean answer is recorded (10 s).
	ShutdownGrace time.Duration
	// JumpCheck is how often the wall clock is compared with the
	// monotonic clock to detect a jump (5 s).
	JumpCheck time.Duration
	// ReconcileSpread: the reconciliation after a Z report (agent/books)
	// starts after a random delay up to this, so that a fleet of terminals
	// closing at the same minute does not query OTTPay at once (10 min;
	// 0: at once).
	ReconcileSpread time.Duration
	// SSEPing is the ": ping" the local API sends on an idle event stream
	// (15 s).
	SSEPing time.Duration
}

// DefaultTiming is the real timing of a lane, every delay at its
// documented default.
func DefaultTiming() Timing {
	return Timing{
		ScanFirstPoll: 3 * time.Second, ScanFirstPollOnErr: 5 * time.Second, ScanPollEvery: 3 * time.Second,
		ScanPollWindow: 60 * time.Second, CodeValidity: paycode.Validity, OfflineRetry: 3 * time.Second,
		QRPollEvery: 2 * time.Second, QRWindow: 3 * time.Minute,
		ReconcileBackoff: []time.Duration{2 * time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour},
		WalletsClose:     3*time.Minute + 30*time.Second,
		RetryBackoff:     []time.Duration{3 * time.Second, 15 * time.Second, time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour},
		APIWait:          3 * time.Second, DedupWindow: 2 * time.Second, PrintTimeout: 30 * time.Second,
		Retention: 90 * 24 * time.Hour, CompactEvery: 24 * time.Hour,
		AwaitCodeTimeout: 2 * time.Minute, CartTimeout: 10 * time.Minute, DuplicateWindow: 10 * time.Minute,
		RateMaxAge: 2 * time.Hour, IdempotencyWindow: 24 * time.Hour, CodeReuseWindow: 24 * time.Hour, RefundSettle: 10 * time.Minute,
		ReversalEscalate: time.Hour, AuthRecheck: 30 * time.Second, ShutdownGrace: 10 * time.Second,
		JumpCheck: 5 * time.Second, ReconcileSpread: 10 * time.Minute, SSEPing: 15 * time.Second,
	}
}

// Scaled returns t with every duration, the schedules' included,
// multiplied by scale (0.01: 100 times faster); scale <= 0 or 1 returns t
// unchanged. The schedules are copied: t's slices are left as they were.
func (t Timing) Scaled(scale float64) Timing {
	if scale <= 0 || scale == 1 {
		return t
	}
	s := func(d time.Duration) time.Duration { return time.Duration(float64(d) * scale) }
	v := reflect.ValueOf(&t).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Interface().(type) {
		case time.Duration:
			f.SetInt(int64(s(time.Duration(f.Int()))))
		case []time.Duration:
			sched := make([]time.Duration, f.Len())
			for j := range sched {
				sched[j] = s(time.Duration(f.Index(j).Int()))
			}
			f.Set(reflect.ValueOf(sched))
		}
	}
	return t
}

// check refuses a Timing the engine cannot run with: a delay that must
// pass (a poll, a window, a wait) at zero or below, or an empty schedule.
func (t Timing) check() error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"ScanFirstPoll", t.ScanFirstPoll}, {"ScanFirstPollOnErr", t.ScanFirstPollOnErr}, {"ScanPollEvery", t.ScanPollEvery},
		{"ScanPollWindow", t.ScanPollWindow}, {"CodeValidity", t.CodeValidity}, {"OfflineRetry", t.OfflineRetry},
		{"QRPollEvery", t.QRPollEvery}, {"QRWindow", t.QRWindow}, {"APIWait", t.APIWait}, {"PrintTimeout", t.PrintTimeout},
		{"CompactEvery", t.CompactEvery}, {"AwaitCodeTimeout", t.AwaitCodeTimeout}, {"CartTimeout", t.CartTimeout},
		{"RateMaxAge", t.RateMaxAge}, {"RefundSettle", t.RefundSettle}, {"ReversalEscalate", t.ReversalEscalate},
		{"AuthRecheck", t.AuthRecheck}, {"JumpCheck", t.JumpCheck}, {"SSEPing", t.SSEPing},
	} {
		if f.d <= 0 {
			return fmt.Errorf("agent: new: Timing.%s is %s: it must be more than 0 (start from DefaultTiming())", f.name, f.d)
		}
	}
	if len(t.ReconcileBackoff) == 0 || len(t.RetryBackoff) == 0 {
		return fmt.Errorf("agent: new: Timing.ReconcileBackoff and Timing.RetryBackoff need at least one delay (start from DefaultTiming())")
	}
	if t.ShutdownGrace < 0 || t.WalletsClose < 0 || t.CodeReuseWindow < 0 || t.RateEvery < 0 {
		return fmt.Errorf("agent: new: a negative delay in Timing (ShutdownGrace %s, WalletsClose %s, CodeReuseWindow %s, RateEvery %s)",
			t.ShutdownGrace, t.WalletsClose, t.CodeReuseWindow, t.RateEvery)
	}
	return nil
}

// isZero reports whether t was left unset.
func (t Timing) isZero() bool { return reflect.ValueOf(t).IsZero() }

// Timing is the engine's timing as it runs: Options.Timing (or
// DefaultTiming) scaled by Options.TimeScale. The parts the daemon builds
// beside the engine take their delays from it (agent/books, the API).
func (e *Engine) Timing() Timing {
	t := e.o.Timing
	t.ReconcileBackoff, t.RetryBackoff = slices.Clone(t.ReconcileBackoff), slices.Clone(t.RetryBackoff)
	return t
}
