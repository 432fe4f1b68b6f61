package outbox

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/posagent/posagent/store"
)

// Runner runs one job. It calls free once its gateway call (or print) is
// over, before it commits the outcome; free may be called more than once.
type Runner func(ctx context.Context, j *store.Job, free func())

// Options configure a Pool.
type Options struct {
	Store   *store.Store // required
	Run     Runner       // required
	Workers int          // jobs holding a worker slot at once (4)
	// Horizon: a job due further out than this was scheduled before the
	// wall clock went back, and is made due now (the longest backoff).
	Horizon time.Duration
	Now     func() time.Time                     // the wall clock (time.Now)
	After   func(time.Duration) <-chan time.Time // timers (time.After)
	OnError func(op string, err error)           // a journal error (logged and counted by the caller)
	Retry   time.Duration                        // the wait after a journal error (3 s)
	Logger  *slog.Logger                         // nil: discard
}

// committingPerWorker bounds the jobs committing their outcome, per worker.
const committingPerWorker = 4

// maxSleep bounds a sleep with nothing due.
const maxSleep = time.Hour

// Pool runs due jobs. Create with New, then Run.
type Pool struct {
	o    Options
	kick chan struct{}
	wg   sync.WaitGroup // the jobs running
	// mu guards inflight and busy.
	mu       sync.Mutex
	inflight map[uint64]bool // jobs started and not ended
	busy     int             // of them, those holding a worker slot
}

// New returns a pool; nothing runs until Run.
func New(o Options) *Pool {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Retry <= 0 {
		o.Retry = 3 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.OnError == nil {
		o.OnError = func(op string, err error) { o.Logger.Error("outbox: journal: "+op, "err", err) }
	}
	return &Pool{o: o, kick: make(chan struct{}, 1), inflight: map[uint64]bool{}}
}

// Kick makes the pool look for due jobs now (a commit may have queued one,
// or made one due). It never blocks.
func (p *Pool) Kick() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Run starts due jobs until ctx ends, then waits for the jobs it started
// (they get ctx, and end on it). Cancellation is not an error.
func (p *Pool) Run(ctx context.Context) error {
	defer p.wg.Wait()
	for {
		sleep := p.startDue(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-p.kick:
		case <-p.o.After(sleep):
		}
	}
}

// startDue starts as many due jobs as there are free workers and returns
// how long to sleep before the next is due.
func (p *Pool) startDue(ctx context.Context) time.Duration {
	if ctx.Err() != nil {
		return 0 // stopping: start nothing
	}
	p.mu.Lock()
	free := p.o.Workers - p.busy
	running := make(map[uint64]bool, len(p.inflight))
	for k := range p.inflight {
		running[k] = true
	}
	p.mu.Unlock()
	if free <= 0 {
		return maxSleep // a job's end kicks
	}
	now := p.o.Now()
	var jobs []*store.Job
	var next time.Time
	err := p.o.Store.View(func(tx *store.Tx) error {
		var err error
		jobs, next, err = tx.DueJobsExcept(now, free, func(seq uint64) bool { return running[seq] })
		return err
	})
	sleep := maxSleep
	if err != nil {
		p.o.OnError("outbox: load", err)
		sleep = p.o.Retry
	}
	if !next.IsZero() {
		if wait := next.Sub(now); wait > p.o.Horizon {
			sleep = 0 // scheduled before the clock went back: due
			p.makeDue(next)
		} else {
			sleep = min(sleep, max(0, wait))
		}
	}
	for _, j := range jobs {
		if !p.start(ctx, j) {
			break
		}
	}
	return sleep
}

// start runs j on a worker unless it is running already; false when no
// worker is free. The job stays in flight (never started twice) until it
// ends; it lets its worker slot go when it calls free, while at most
// committingPerWorker jobs per worker are committing at once (beyond, a
// job keeps its slot until it ends).
func (p *Pool) start(ctx context.Context, j *store.Job) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inflight[j.Seq] {
		return true
	}
	if p.busy >= p.o.Workers {
		return false
	}
	p.inflight[j.Seq] = true
	p.busy++
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		freed := false
		free := func() {
			p.mu.Lock()
			// In flight and not holding a slot: committing.
			if !freed && len(p.inflight)-p.busy < committingPerWorker*p.o.Workers {
				freed = true
				p.busy--
			}
			p.mu.Unlock()
			if freed {
				p.Kick()
			}
		}
		p.o.Run(ctx, j, free)
		p.mu.Lock()
		delete(p.inflight, j.Seq)
		if !freed {
			p.busy--
		}
		p.mu.Unlock()
		p.Kick()
	}()
	return true
}

// makeDue moves every job due further out than the horizon to now: they
// were scheduled before the wall clock went back.
func (p *Pool) makeDue(at time.Time) {
	err := p.o.Store.Update(func(tx *store.Tx) error {
		jobs, err := tx.Jobs()
		if err != nil {
			return err
		}
		now := p.o.Now()
		for _, j := range jobs {
			if j.NextAt.Sub(now) > p.o.Horizon {
				j.NextAt = now
				if err := tx.PutJob(j); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		p.o.OnError("outbox: make due", err)
		return
	}
	p.o.Logger.Warn("agent: outbox jobs were due further out than the longest backoff (the clock went back); made due now", "next_at", at)
}
