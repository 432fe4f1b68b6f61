package books

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/slip"
	"github.com/posagent/posagent/store"
)

// Engine is what the books need of the payment engine (*agent.Engine).
type Engine interface {
	// QueryOrder asks the gateway for an order (STATUS_QUERY), counted in
	// the engine's gateway metrics.
	QueryOrder(ctx context.Context, orderID string, amount, tip int64) (*gateway.Result, error)
	// Recheck makes the follow-up jobs of a payment due now: an in-doubt
	// payment the reconciliation found paid is refunded by the engine.
	Recheck(paymentID string) error
	// StoreError logs a journal error and counts it (metrics).
	StoreError(op string, err error)
}

// Clock is the books' clock: the engine's (agent.Clock).
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// Printer prints and draws reports with the printer's own profile (paper,
// language, font).
type Printer interface {
	PrintReport(ctx context.Context, r slip.Report) error
	RenderReport(r slip.Report) ([]byte, error)
}

// Options configure the books. Durations are taken as given (the daemon
// passes agent.Timing's, scaled): zero is none.
type Options struct {
	Store  *store.Store // required: the engine's journal
	Engine Engine       // required
	Clock  Clock        // nil: real time
	Logger *slog.Logger // nil: discard

	Merchant string         // printed on reports
	Currency string         // ISO 4217 of the merchant account
	Lane     string         // the terminal (gateway terminal_no) shifts belong to
	Location *time.Location // the shop's time zone (nil: time.Local)
	// CloseAt is the local time of day ("03:00") at which a shift still
	// open is closed with its Z report ("": never).
	CloseAt string
	// ReconcileRate is how many STATUS_QUERY a second the reconciliation
	// after each Z report sends (reports.reconcile_rate; 0: none by itself,
	// and one asked for by hand sends 5 a second).
	ReconcileRate float64
	// ReconcileSpread: the reconciliation after a Z report starts after
	// a random delay up to this, so that a fleet of terminals closing at
	// the same minute does not query OTTPay at once (0: at once).
	ReconcileSpread time.Duration
	// Printer prints reports (nil: they are not printed); PrintTimeout
	// bounds one print (0: none).
	Printer      Printer
	PrintTimeout time.Duration
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Books are the shifts of one lane, their X and Z reports (late
// settlements included) and the reconciliation of each Z report with the
// gateway. Create with New; Run closes shifts at Options.CloseAt and owns
// the reconciliations started in the background.
type Books struct {
	o     Options
	st    *store.Store
	eng   Engine
	clock Clock
	log   *slog.Logger

	mu      sync.Mutex
	runCtx  context.Context
	running bool
	wg      sync.WaitGroup
}

// New checks the options and returns the books; nothing runs until Run.
func New(o Options) (*Books, error) {
	if o.Store == nil || o.Engine == nil {
		return nil, errors.New("books: new: Options.Store and Options.Engine are required")
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Books{o: o, st: o.Store, eng: o.Engine, clock: o.Clock, log: o.Logger}, nil
}

// Run closes a shift still open at Options.CloseAt and reconciles each Z
// report in the background until ctx ends, then waits for the
// reconciliations it started. Cancellation is not an error.
func (b *Books) Run(ctx context.Context) error {
	b.mu.Lock()
	if b.running {
		b.mu.Unlock()
		return errors.New("books: run: already running")
	}
	b.runCtx, b.running = ctx, true
	b.mu.Unlock()
	b.shiftLoop(ctx)
	<-ctx.Done()
	b.mu.Lock()
	b.running = false
	b.mu.Unlock()
	b.wg.Wait()
	return nil
}

func (b *Books) now() time.Time { return b.clock.Now().UTC() }

// Location is the shop's time zone.
func (b *Books) Location() *time.Location {
	if b.o.Location != nil {
		return b.o.Location
	}
	return time.Local
}

func errf(code operr.Code, format string, args ...any) *operr.Error {
	return operr.Errorf(code, format, args...)
}
