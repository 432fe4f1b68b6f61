package agent

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/posagent/posagent/agent/clockwatch"
	"github.com/posagent/posagent/agent/dupguard"
	"github.com/posagent/posagent/agent/events"
	"github.com/posagent/posagent/agent/gwauth"
	"github.com/posagent/posagent/agent/gwmeter"
	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/agent/outbox"
	"github.com/posagent/posagent/agent/rate"
	"github.com/posagent/posagent/agent/refund"
	"github.com/posagent/posagent/agent/route"
	"github.com/posagent/posagent/agent/view"
	"github.com/posagent/posagent/agent/walletside"
	"github.com/posagent/posagent/store"
)

// Engine is the payment daemon's core: the payment state machine and its
// flows, recovery, and what the outbox's jobs do. It uses parts that keep
// their own state behind their own locks: the event bus (agent/events),
// the outbox's pool (agent/outbox), where a scan goes with the cart and
// its tips (agent/route's Intake, over the engine through intakeEngine),
// the possible-duplicate warning (agent/dupguard), the gateway's meter
// (agent/gwmeter), the credentials' watch (agent/gwauth), the exchange
// rate (agent/rate), the clock watch (agent/clockwatch); it reads the device registry it is given
// (Options.Devices). Shifts and reports are agent/books, built over the
// engine. Create with New, then Run.
type Engine struct {
	o      Options
	rates  *rate.Keeper // the exchange rate to CNY
	st     *store.Store
	gw     *gwmeter.Meter    // the gateway, measured
	auth   *gwauth.Watch     // the gateway's credentials, proven
	watch  *clockwatch.Watch // the wall clock against the monotonic one
	log    *slog.Logger
	clock  Clock
	bus    *events.Bus
	pool   *outbox.Pool    // runs the outbox jobs
	intake *route.Intake   // where a scan goes; the cart and its tips
	dups   *dupguard.Guard // the possible-duplicate warning
	view   *view.Reader    // the read side: status, lists, audit trail, metrics

	refunds *refund.Desk // takes, sends and settles refunds (agent/refund)

	// mu guards everything below.
	mu        sync.Mutex
	runCtx    context.Context
	running   bool
	wg        sync.WaitGroup
	flows     map[string]*flow
	active    map[string]activeInfo                       // non-final payments
	waiting   map[string]map[chan *store.Payment]struct{} // waitFor: payment id -> its waiters
	quit      chan struct{}                               // closed when Run returns (ends SSE streams)
	quitOnce  sync.Once
	ready     chan struct{} // closed once Run has recovered and takes payments
	readyOnce sync.Once
	// clock bookkeeping (clock.go)
	monoOrigin time.Duration // MonoClock reading at New
	realOrigin time.Time     // Clock.Now at New, with Go's monotonic reading
	wallOrigin time.Time     // the same, wall reading only
	awaitMono  map[string]time.Duration
	// notFoundSince: per reconciliation job, the monotonic reading of the
	// first of its consecutive "no such order" answers (neverReached).
	notFoundSince map[uint64]time.Duration
	storeErrs     int // store errors logged (metrics)
	// contradicted counts resolutions by hand the gateway contradicted.
	contradicted int
}

type activeInfo struct {
	state   State
	created time.Time
}

// flow is one running payment driver.
type flow struct {
	id  string
	run context.Context // Run's context: its end stops the driver between steps
	// ctx carries gateway calls: cancelled by the cashier's cancel, and
	// ShutdownGrace after Run's end, so that a call in flight at SIGTERM
	// still gets its answer recorded.
	ctx    context.Context
	abort  context.CancelFunc
	cancel chan struct{} // closed on cashier cancel
	poke   chan struct{} // a verified call-back: poll now (buffered 1)
	once   sync.Once
	// Monotonic bookkeeping: the code's age when the driver started, and
	// the monotonic reading then; the QR window's end.
	codeAge0   time.Duration
	mono0      time.Duration
	qrDeadline time.Duration
}

func (f *flow) requestCancel() {
	f.once.Do(func() { close(f.cancel); f.abort() })
}

// New checks the options and returns an engine; nothing runs until Run.
func New(opts Options) (*Engine, error) {
	if opts.Gateway == nil {
		return nil, errors.New("agent: new: Options.Gateway is required")
	}
	if opts.Store == nil {
		return nil, errors.New("agent: new: Options.Store is required")
	}
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	for _, c := range opts.TipChoices {
		if c > opts.TipMaxPercent {
			return nil, fmt.Errorf("agent: new: the tip suggestion %d %% is above TipMaxPercent %d %%", c, opts.TipMaxPercent)
		}
	}
	if len(opts.Currency) != 3 || strings.ToUpper(opts.Currency) != opts.Currency {
		return nil, fmt.Errorf("agent: new: currency %q is not an ISO 4217 code like CAD", opts.Currency)
	}
	e := &Engine{
		o: opts, st: opts.Store, log: opts.Logger, clock: opts.Clock,
		flows: map[string]*flow{}, active: map[string]activeInfo{},
		waiting: map[string]map[chan *store.Payment]struct{}{},
		quit:    make(chan struct{}), ready: make(chan struct{}),
	}
	e.dups = dupguard.New(opts.DuplicateWindow, e.now)
	e.intake = e.newIntake()
	e.gw = gwmeter.New(opts.Gateway, e.clock.Now)
	fetcher, _ := opts.Gateway.(rate.Fetcher)
	e.rates = rate.New(rate.Options{Store: e.st, Gateway: fetcher, Currency: opts.Currency, Every: opts.RateEvery,
		Now: e.clock.Now, After: e.clock.After, StoreError: e.storeError, Logger: e.log})
	e.auth = e.newAuth()
	e.gw.Watch(e.auth.Suspect, e.auth.Status)
	var err error
	if e.refunds, err = e.newDesk(); err != nil {
		return nil, err
	}
	e.pool = outbox.New(outbox.Options{Store: e.st, Run: e.runJob, Workers: opts.OutboxWorkers,
		Horizon: opts.longestBackoff(), Now: e.now, After: e.clock.After, OnError: e.storeError,
		Retry: opts.RetryBackoff[0], Logger: e.log})
	e.realOrigin = e.clock.Now()
	e.wallOrigin = e.realOrigin.Round(0)
	if mc, ok := e.clock.(MonoClock); ok {
		e.monoOrigin = mc.Mono()
	}
	e.awaitMono = map[string]time.Duration{}
	e.notFoundSince = map[uint64]time.Duration{}
	var last uint64
	if err := e.st.View(func(tx *store.Tx) error { last = tx.LastEventSeq(); return nil }); err != nil {
		return nil, fmt.Errorf("agent: new: %w", err)
	}
	e.bus = events.New(e.st, last)
	e.st.SetOnCommit(e.onCommit)
	// The in-memory index of open payments (scan routing, status), from
	// the journal's open-payment index: it costs the open payments only.
	err = e.st.View(func(tx *store.Tx) error {
		return tx.OpenPayments(func(p *store.Payment) error {
			e.active[p.ID] = activeInfo{p.State, p.CreatedAt}
			if p.State == AwaitingCode {
				// Waiting since before this start: its wait so far by
				// the wall clock, never less than zero.
				e.awaitMono[p.ID] = e.mono() - e.ageOf(p.CreatedAt)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("agent: new: %w", err)
	}
	if err := e.st.View(e.dups.Load); err != nil {
		return nil, fmt.Errorf("agent: new: %w", err)
	}
	// The newest stamp in the journal: a wall clock behind it is not believed.
	var newest time.Time
	err = e.st.View(func(tx *store.Tx) error {
		evs, err := tx.Events(max(last, 1)-1, 0, 1)
		if err != nil || len(evs) == 0 {
			return err
		}
		var ev struct {
			At time.Time `json:"at"`
		}
		if json.Unmarshal(evs[0].Data, &ev) == nil {
			newest = ev.At
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("agent: new: %w", err)
	}
	e.watch = clockwatch.New(clockwatch.Options{Now: e.clock.Now, Mono: e.mono, After: e.clock.After, Every: opts.JumpCheck,
		NotBefore: opts.NotBefore, Newest: newest, OnJump: e.onJump})
	e.view = view.New(view.Options{Store: e.st, Meter: e.gw, Live: e.live})
	return e, nil
}

func (e *Engine) onCommit(evs []store.Event) {
	// The open-payment index follows the journal in commit order (OnCommit
	// calls are serialised), so it never sees an older state after a newer
	// one. Each payment's waiters get the record as committed.
	for _, ev := range evs {
		p, ok := ev.Value.(*store.Payment)
		if !ok {
			continue
		}
		e.mu.Lock()
		e.trackLocked(p.ID, p.State, p.CreatedAt)
		for ch := range e.waiting[p.ID] {
			select { // keep only the newest
			case <-ch:
			default:
			}
			ch <- p
		}
		e.mu.Unlock()
	}
	e.bus.Publish(evs)
	e.kickOutbox() // a commit may have queued a job
}

// Run drives the engine until ctx ends: it recovers every open payment,
// runs the outbox worker (reconciler, refunds, receipts) and compaction,
// and waits for every goroutine it started. Cancellation is not an error.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.running {
		e.mu.Unlock()
		return errors.New("agent: run: already running")
	}
	e.runCtx, e.running = ctx, true
	e.mu.Unlock()

	if err := e.recover(); err != nil {
		e.storeError("recovery", err)
	}
	e.readyOnce.Do(func() { close(e.ready) })
	e.wg.Add(6)
	go func() { defer e.wg.Done(); e.auth.Run(ctx) }()
	go func() { defer e.wg.Done(); e.rates.Run(ctx) }()
	go func() { defer e.wg.Done(); e.pool.Run(ctx) }()
	go func() { defer e.wg.Done(); e.compactLoop(ctx) }()
	go func() { defer e.wg.Done(); e.watch.Run(ctx) }()
	go func() { defer e.wg.Done(); e.intake.Run(ctx) }()

	<-ctx.Done()
	e.mu.Lock()
	e.running = false
	e.mu.Unlock()
	e.quitOnce.Do(func() { close(e.quit) })
	e.wg.Wait()
	return nil
}

// Ready is closed once Run has started and recovered the open payments:
// from then on payments are accepted (before, they are refused with
// not_running, of kind unavailable). Start serving the API after it, or
// accept those refusals.
func (e *Engine) Ready() <-chan struct{} { return e.ready }

// Done is closed when Run has returned (event streams end with it).
func (e *Engine) Done() <-chan struct{} { return e.quit }

// Clock is the engine's clock (Options.Clock, or the real one).
func (e *Engine) Clock() Clock { return e.clock }

// Mono is the engine's monotonic reading: it never goes back and ignores
// wall-clock jumps (rate limits and lock-outs are timed by it).
func (e *Engine) Mono() time.Duration { return e.mono() }

// Currency is the merchant account's currency (ISO 4217).
func (e *Engine) Currency() string { return e.o.Currency }

// recover picks up every non-final payment: processing and queued ones are
// driven on (a processing payment may have been sent: it is only queried);
// in-doubt ones get a reconciliation job if they have none.
func (e *Engine) recover() error {
	var open []*store.Payment
	var jobs []*store.Job
	err := e.st.View(func(tx *store.Tx) error {
		var err error
		if jobs, err = tx.Jobs(); err != nil {
			return err
		}
		return tx.OpenPayments(func(p *store.Payment) error {
			open = append(open, p)
			return nil
		})
	})
	if err != nil {
		return err
	}
	hasJob := map[string]bool{}
	for _, j := range jobs {
		if j.Kind == store.JobQuery || j.Kind == store.JobRefund {
			hasJob[j.PaymentID] = true
		}
	}
	for _, p := range open {
		switch p.State {
		case Processing, Queued:
			e.log.Info("agent: recovering payment", "id", p.ID, "state", p.State, "order_id", p.OrderID)
			e.spawn(p.ID, false)
		case InDoubt:
			if !hasJob[p.ID] {
				err := e.st.Update(func(tx *store.Tx) error {
					return tx.AddJob(&store.Job{Kind: store.JobQuery, PaymentID: p.ID, NextAt: e.now(), CreatedAt: e.now()})
				})
				if err != nil {
					e.storeError("recover: queue reconciliation", err)
				}
			}
		}
	}
	e.awaitingCode() // cancels those that waited too long for a code
	e.noteStartGap()
	e.kickOutbox()
	return nil
}

// spawn starts the driver of a payment unless one is running (or the
// engine is not running: Run's recovery will pick the payment up).
func (e *Engine) spawn(id string, fresh bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.running || e.flows[id] != nil {
		return
	}
	ctx, abort := context.WithCancel(context.WithoutCancel(e.runCtx))
	grace := e.o.ShutdownGrace
	stopGrace := context.AfterFunc(e.runCtx, func() { time.AfterFunc(grace, abort) })
	f := &flow{id: id, run: e.runCtx, ctx: ctx, abort: abort, cancel: make(chan struct{}), poke: make(chan struct{}, 1)}
	e.flows[id] = f
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer func() {
			stopGrace()
			abort()
			e.mu.Lock()
			delete(e.flows, id)
			e.mu.Unlock()
		}()
		e.drive(f, fresh)
	}()
}

func (e *Engine) kickOutbox() { e.pool.Kick() }

// ---- mutations ----

// mutation is what a change to one payment does inside its transaction.
type mutation func(tx *store.Tx, p *store.Payment) error

// mutate loads payment id, applies fn, checks the state transition, records
// history, writes the record and its payment.updated event in one
// transaction. It returns the record as committed.
func (e *Engine) mutate(id string, fn mutation) (*store.Payment, error) {
	var out *store.Payment
	err := e.st.Update(func(tx *store.Tx) error {
		p, err := tx.Payment(id)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errf(operr.CodeNotFound, "no payment %s", id)
			}
			return err
		}
		from := p.State
		if err := fn(tx, p); err != nil {
			return err
		}
		out = p
		return e.putPayment(tx, p, from)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// putPayment writes p (whose previous state is from) and its event.
func (e *Engine) putPayment(tx *store.Tx, p *store.Payment, from State) error {
	now := e.now()
	e.watch.NoteStamp(now)
	if from != "" && !CanTransition(from, p.State) && !contradicts(from, p) {
		return errf(operr.CodeInvalidState, "payment %s is %s and cannot become %s", p.ID, from, p.State)
	}
	if from != p.State || len(p.History) == 0 {
		p.History = appendHistory(p.History, p.State, now, p.Attempts)
		p.Reason = "" // what it waited for belongs to the state it left
	}
	p.UpdatedAt = now
	if p.Refunds == nil {
		p.Refunds = []store.Refund{}
	}
	walletside.Keep(p)
	walletside.ReadTradeTime(p.WalletSide, e.o.GatewayZone)
	if from != p.State && p.State.Final() && e.o.AutoPrint && e.o.Printer != nil &&
		(p.State == Succeeded || p.State == Reversed) {
		if err := tx.AddJob(&store.Job{Kind: store.JobReceipt, PaymentID: p.ID, NextAt: now, CreatedAt: now}); err != nil {
			return err
		}
	}
	if err := tx.PutPayment(p); err != nil {
		return err
	}
	e.dups.Note(p, now)
	pub := publicPayment(p)
	_, err := tx.AppendEventAbout(p.ID, snapshot(p), func(seq uint64) ([]byte, error) {
		return json.Marshal(Event{Seq: seq, Kind: KindPaymentUpdated, At: now, Payment: pub})
	})
	return err
}

// appendHistory records a state change. A send retried while the gateway
// cannot be reached goes queued -> processing -> queued on every retry:
// the history keeps its one queued entry, with the number of retries
// (attempts), instead of a new pair each time.
func appendHistory(h []store.HistoryEntry, st State, at time.Time, attempts int) []store.HistoryEntry {
	n := len(h)
	if st == Queued && n >= 2 && h[n-1].State == string(Processing) && h[n-2].State == string(Queued) {
		h = h[:n-1]
		h[n-2].Retries = attempts
		return h
	}
	return append(h, store.HistoryEntry{State: string(st), At: at})
}

// snapshot copies p as committed, for OnCommit and the waiters (who only
// read it): the caller may go on changing p.
func snapshot(p *store.Payment) *store.Payment {
	c := *p
	c.History = slices.Clone(p.History)
	c.Refunds = slices.Clone(p.Refunds)
	return &c
}

// trackLocked updates the open-payment index (e.mu held).
func (e *Engine) trackLocked(id string, st State, created time.Time) {
	if st.Final() {
		delete(e.active, id)
	} else {
		e.active[id] = activeInfo{st, created}
	}
	if st != AwaitingCode {
		delete(e.awaitMono, id)
	} else if _, ok := e.awaitMono[id]; !ok {
		e.awaitMono[id] = e.mono() // its wait for a code starts now
	}
}

// appendEvent journals a non-payment event in its own transaction.
func (e *Engine) appendEvent(ev Event) error {
	return e.st.Update(func(tx *store.Tx) error {
		_, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
			ev.Seq = seq
			return json.Marshal(ev)
		})
		return err
	})
}

// payment reads one record.
func (e *Engine) payment(id string) (*store.Payment, error) {
	var p *store.Payment
	err := e.st.View(func(tx *store.Tx) error {
		var err error
		p, err = tx.Payment(id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, errf(operr.CodeNotFound, "no payment %s", id)
	}
	return p, err
}

// waitFor waits until cond holds for payment id, d passes or ctx ends, and
// returns the payment as it then is. It reads the journal once; then each
// commit of this payment (and only this one) hands it the record.
func (e *Engine) waitFor(ctx context.Context, id string, d time.Duration, cond func(*store.Payment) bool) (*store.Payment, error) {
	ch := make(chan *store.Payment, 1)
	e.mu.Lock()
	ws := e.waiting[id]
	if ws == nil {
		ws = map[chan *store.Payment]struct{}{}
		e.waiting[id] = ws
	}
	ws[ch] = struct{}{}
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(ws, ch)
		if len(ws) == 0 {
			delete(e.waiting, id)
		}
		e.mu.Unlock()
	}()
	// Registered before reading: a commit after this read reaches ch.
	p, err := e.payment(id)
	if err != nil || cond(p) {
		return p, err
	}
	deadline := e.clock.After(d)
	for {
		select {
		case q := <-ch:
			p = q
			if cond(p) {
				return p, nil
			}
		case <-deadline:
			return p, nil
		case <-ctx.Done():
			return p, nil
		}
	}
}

// ---- ids ----

const base36 = "0123456789abcdefghijklmnopqrstuvwxyz"

func randChars(n int, alphabet string) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

// newID is a time-ordered id: prefix + 13 base-36 digits of nanoseconds + 6 random.
func newID(prefix string, t time.Time) string {
	ts := strconv.FormatInt(t.UnixNano(), 36)
	return prefix + strings.Repeat("0", 13-len(ts)) + ts + randChars(6, base36)
}

// newOrderID is an OTTPay order id: 20 letters and digits, generated here:
// kind letter (P payment, R refund) + yymmddHHMMSS + 7 random.
func newOrderID(tx *store.Tx, kind byte, t time.Time) string {
	for {
		id := string(kind) + t.UTC().Format("060102150405") + randChars(7, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
		if !tx.OrderUsed(id) {
			return id
		}
	}
}
