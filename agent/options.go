package agent

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/store"
)

// Gateway is what the engine needs of the OTTPay client; *gateway.Client
// satisfies it. The rule of package gateway applies: err == nil means Paid.
type Gateway interface {
	PassivePay(ctx context.Context, r gateway.PayRequest) (*gateway.Result, error)
	ActivePay(ctx context.Context, r gateway.QRRequest) (*gateway.Result, error)
	Query(ctx context.Context, orderID string) (*gateway.Result, error)
	Refund(ctx context.Context, r gateway.RefundRequest) (*gateway.Result, error)
}

// ReceiptPrinter prints a receipt (printer package implementations).
type ReceiptPrinter interface {
	PrintReceipt(ctx context.Context, r printer.Receipt) error
}

// Clock is the engine's time source; flows depend on it.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
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
	RetryBackoff     []time.Duration // refunds and receipts (3s, 15s, 1m, 5m, 15m, 1h; then the last)
	APIWait          time.Duration   // how long a POST waits for a qr code_url or a quick final answer (3 s)
	DedupWindow      time.Duration   // the same code within this is one scan (2 s)
	SSEPing          time.Duration   // ": ping" comment on idle event streams (15 s)
	PrintTimeout     time.Duration   // one receipt print attempt (30 s)
	Retention        time.Duration   // final, synced payments older than this are compacted (90 days; <0: never)
	CompactEvery     time.Duration   // (24 h)
	TimeScale        float64         // multiplies every duration above (default 1)

	Printer       ReceiptPrinter // nil = no printer
	AutoPrint     bool           // queue a receipt when a payment or refund becomes final
	RenderReceipt func(printer.Receipt) ([]byte, error)
	ReceiptFooter []string

	Mount         map[string]http.Handler // extra routes behind the same auth ("/display/")
	APIToken      string                  // non-empty: every request needs Authorization: Bearer <token>
	ScanAutoStart bool                    // a payment code with no waiting payment starts one for the cart amount
	Version       string
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
	d(&o.CodeValidity, 60*time.Second)
	d(&o.OfflineRetry, 3*time.Second)
	d(&o.QRPollEvery, 2*time.Second)
	d(&o.QRWindow, 3*time.Minute)
	d(&o.APIWait, 3*time.Second)
	d(&o.DedupWindow, 2*time.Second)
	d(&o.SSEPing, 15*time.Second)
	d(&o.PrintTimeout, 30*time.Second)
	d(&o.Retention, 90*24*time.Hour)
	d(&o.CompactEvery, 24*time.Hour)
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
		s := func(v *time.Duration) { *v = time.Duration(float64(*v) * o.TimeScale) }
		for _, v := range []*time.Duration{&o.ScanFirstPoll, &o.ScanFirstPollOnErr, &o.ScanPollEvery, &o.ScanPollWindow,
			&o.CodeValidity, &o.OfflineRetry, &o.QRPollEvery, &o.QRWindow, &o.APIWait, &o.DedupWindow, &o.CompactEvery, &o.SSEPing, &o.PrintTimeout} {
			s(v)
		}
		if o.Retention > 0 {
			s(&o.Retention)
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
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// backoff returns the n-th delay (n from 0) of a schedule, repeating the last.
func backoff(sched []time.Duration, n int) time.Duration {
	if n >= len(sched) {
		n = len(sched) - 1
	}
	if n < 0 {
		n = 0
	}
	return sched[n]
}
