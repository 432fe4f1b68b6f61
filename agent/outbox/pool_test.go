package outbox_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/posagent/posagent/agent/outbox"
	"github.com/posagent/posagent/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func journal(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "j.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func addJobs(t *testing.T, st *store.Store, n int, at time.Time) {
	t.Helper()
	err := st.Update(func(tx *store.Tx) error {
		for range n {
			if err := tx.AddJob(&store.Job{Kind: store.JobReceipt, PaymentID: "pay_x", NextAt: at, CreatedAt: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func done(st *store.Store, j *store.Job) error {
	return st.Update(func(tx *store.Tx) error { return tx.DeleteJob(j.Seq) })
}

func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second) // a hang guard, not a speed limit
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// Every due job runs exactly once, never more than Workers at a time
// before they let their slots go.
func TestPoolRunsEachJobOnceWithinItsWorkers(t *testing.T) {
	st := journal(t)
	addJobs(t, st, 40, time.Now().Add(-time.Second))
	var mu sync.Mutex
	runs := map[uint64]int{}
	var holding, most atomic.Int32
	p := outbox.New(outbox.Options{Store: st, Workers: 3, Horizon: time.Hour,
		Run: func(ctx context.Context, j *store.Job, free func()) {
			n := holding.Add(1)
			for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
			}
			time.Sleep(2 * time.Millisecond) // the "gateway call"
			holding.Add(-1)
			free()
			mu.Lock()
			runs[j.Seq]++
			mu.Unlock()
			if err := done(st, j); err != nil {
				t.Error(err)
			}
		}})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	until(t, "all 40 jobs ran", func() bool { mu.Lock(); defer mu.Unlock(); return len(runs) == 40 })
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	for seq, n := range runs {
		if n != 1 {
			t.Errorf("job %d ran %d times", seq, n)
		}
	}
	if m := most.Load(); m > 3 || m < 1 {
		t.Errorf("%d jobs held a worker at once, want 1 to 3", m)
	}
}

// A job that keeps its slot (never calls free) holds it: with one worker,
// the next job waits for it to end.
func TestPoolWaitsForAFreeWorker(t *testing.T) {
	st := journal(t)
	addJobs(t, st, 2, time.Now().Add(-time.Second))
	release := make(chan struct{})
	var started atomic.Int32
	p := outbox.New(outbox.Options{Store: st, Workers: 1, Horizon: time.Hour,
		Run: func(ctx context.Context, j *store.Job, free func()) {
			started.Add(1)
			select {
			case <-release:
			case <-ctx.Done():
				return
			}
			done(st, j)
		}})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	until(t, "the first job started", func() bool { return started.Load() == 1 })
	p.Kick()
	time.Sleep(20 * time.Millisecond)
	if n := started.Load(); n != 1 {
		t.Fatalf("%d jobs started with one worker busy", n)
	}
	close(release)
	until(t, "the second job started", func() bool { return started.Load() == 2 })
	cancel()
	<-errc
}

// A job due later runs when it is due (the pool sleeps until then), and
// one due beyond the horizon (scheduled before the wall clock went back)
// is made due now.
func TestPoolSleepsUntilDueAndDistrustsTheFarFuture(t *testing.T) {
	st := journal(t)
	now := time.Now()
	addJobs(t, st, 1, now.Add(50*time.Millisecond))
	addJobs(t, st, 1, now.Add(48*time.Hour)) // horizon 1 h
	var ran atomic.Int32
	p := outbox.New(outbox.Options{Store: st, Workers: 2, Horizon: time.Hour,
		Run: func(ctx context.Context, j *store.Job, free func()) { ran.Add(1); done(st, j) }})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- p.Run(ctx) }()
	until(t, "both jobs ran", func() bool { return ran.Load() == 2 })
	cancel()
	<-errc
	var left int
	st.View(func(tx *store.Tx) error { js, err := tx.Jobs(); left = len(js); return err })
	if left != 0 {
		t.Fatalf("%d jobs left", left)
	}
}

func TestBackoffAndJitter(t *testing.T) {
	s := []time.Duration{time.Second, 10 * time.Second, time.Minute}
	for n, want := range map[int]time.Duration{-1: time.Second, 0: time.Second, 1: 10 * time.Second, 2: time.Minute, 9: time.Minute} {
		if got := outbox.Backoff(s, n); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", n, got, want)
		}
	}
	if outbox.Backoff(nil, 3) != 0 {
		t.Error("an empty schedule gave a delay")
	}
	for _, c := range []struct {
		r    float64
		want time.Duration
	}{{0, 8 * time.Second}, {0.5, 10 * time.Second}, {0.75, 11 * time.Second}} {
		if got := outbox.Jitter(10*time.Second, 0.2, c.r); got != c.want {
			t.Errorf("Jitter(10s, 0.2, %v) = %v, want %v", c.r, got, c.want)
		}
	}
	if outbox.Jitter(10*time.Second, 0, 0.9) != 10*time.Second || outbox.Jitter(10*time.Second, -1, 0.9) != 10*time.Second {
		t.Error("no jitter changed the delay")
	}
	if h := outbox.Horizon(0.2, s, []time.Duration{2 * time.Minute}); h != 144*time.Second {
		t.Errorf("Horizon = %v, want 2m24s", h)
	}
}
