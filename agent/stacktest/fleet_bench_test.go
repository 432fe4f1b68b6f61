package stacktest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"

	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/store"
)

// hitCounter counts the requests reaching a handler per time bucket.
type hitCounter struct {
	h      http.Handler
	t0     time.Time
	bucket time.Duration
	hits   []atomic.Int64
}

func (c *hitCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if i := int(time.Since(c.t0) / c.bucket); i >= 0 && i < len(c.hits) {
		c.hits[i].Add(1)
	}
	c.h.ServeHTTP(w, r)
}

// flakyFront serves a handler on a fixed address that can go away
// (connection refused, open connections closed) and come back.
type flakyFront struct {
	addr string
	h    http.Handler
	mu   sync.Mutex
	srv  *http.Server
	done chan struct{}
}

func (f *flakyFront) up() error {
	l, err := net.Listen("tcp", f.addr)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.srv, f.done = &http.Server{Handler: f.h, ReadHeaderTimeout: 10 * time.Second}, make(chan struct{})
	go func(srv *http.Server, done chan struct{}) { defer close(done); srv.Serve(l) }(f.srv, f.done)
	return nil
}

func (f *flakyFront) down() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.srv != nil {
		f.srv.Close()
		<-f.done
		f.srv = nil
	}
}

// BenchmarkFleetStampede runs a fleet of 50 agents against one simulator
// through an outage. Each agent holds 10 refunds due at the same instant,
// when the gateway is down: every agent fails them together and retries
// on the same schedule (1 s, then 2 s). The gateway comes back between the
// two retries. Without jitter the whole fleet's second retry reaches it in
// one burst; with it, the retries arrive spread over the jitter's range.
// Reported: the simulator's peak request rate (50 ms buckets) against its
// mean from its return to its last request (span-s).
func BenchmarkFleetStampede(b *testing.B) {
	for _, jit := range []float64{-1, 0.2} {
		name := fmt.Sprintf("jitter=%v", max(jit, 0))
		b.Run(name, func(b *testing.B) {
			for range b.N {
				fleetOutage(b, 50, 10, jit)
			}
		})
	}
}

func fleetOutage(b *testing.B, agents, refunds int, jit float64) {
	const bucket = 50 * time.Millisecond
	sched := []time.Duration{time.Second, time.Second, 2 * time.Second, 4 * time.Second}
	dir := b.TempDir()
	start := time.Now()
	due := start.Add(2 * time.Second) // every agent is running by then
	back := due.Add(1500 * time.Millisecond)

	so := simOptions()
	so.TimeScale = 1
	sim := ottsim.New(so)
	cnt := &hitCounter{h: sim.Handler(), t0: back, bucket: bucket, hits: make([]atomic.Int64, 400)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	front := &flakyFront{addr: l.Addr().String(), h: cnt}
	l.Close() // down from the start
	defer front.down()

	var envs []*agentEnv
	for n := range agents {
		path := filepath.Join(dir, fmt.Sprintf("lane%d.db", n))
		st, err := store.Open(path, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		at := start.Add(-time.Hour).UTC()
		err = st.Update(func(tx *store.Tx) error {
			for i := range refunds {
				at := at.Add(time.Duration(i) * time.Millisecond)
				p := &store.Payment{ID: newID("pay_", at), OrderID: fmt.Sprintf("P%04d%08d", n, i), Mode: "scan", Wallet: "alipay",
					Amount: 1000, Currency: "CAD", State: agent.Succeeded, CreatedAt: at, UpdatedAt: at,
					History: []store.HistoryEntry{{State: "succeeded", At: at}},
					Refunds: []store.Refund{{ID: newID("ref_", at), OrderID: fmt.Sprintf("R%04d%08d", n, i), Amount: 1000,
						State: store.RefundPending, CreatedAt: at, UpdatedAt: at}}}
				if err := putBenchPayment(tx, p, at); err != nil {
					return err
				}
				if err := tx.AddJob(&store.Job{Kind: store.JobRefund, PaymentID: p.ID, RefundID: p.Refunds[0].ID, NextAt: due, CreatedAt: at}); err != nil {
					return err
				}
			}
			return nil
		})
		st.Close()
		if err != nil {
			b.Fatal(err)
		}
		gw, hc := newGatewayClient(b, "http://"+front.addr)
		b.Cleanup(hc.CloseIdleConnections)
		o := agent.Options{Timing: timingWith(func(t *agent.Timing) { t.RetryBackoff = sched }), BackoffJitter: jit, Logger: testLogger(b)}
		envs = append(envs, startAgent(b, path, gw, o))
	}
	if time.Now().After(due) {
		b.Fatalf("starting %d agents took longer than %v", agents, due.Sub(start))
	}
	time.Sleep(time.Until(back))
	if err := front.up(); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, a := range envs {
		for a.e.Status().Outbox.Depth > 0 {
			if ctx.Err() != nil {
				b.Fatal(errors.New("the fleet's refunds were not done in 15 s"))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	end := int(time.Since(back)/bucket) + 1
	var total, peak int64
	for i := range min(end, len(cnt.hits)) {
		h := cnt.hits[i].Load()
		total += h
		peak = max(peak, h)
	}
	// The mean from the gateway's return to its last request.
	last := 0
	for i := range min(end, len(cnt.hits)) {
		if cnt.hits[i].Load() > 0 {
			last = i
		}
	}
	span := time.Duration(last+1) * bucket
	mean := float64(total) / span.Seconds()
	b.ReportMetric(float64(peak)/bucket.Seconds(), "peak-req/s")
	b.ReportMetric(mean, "mean-req/s")
	b.ReportMetric(float64(peak)/bucket.Seconds()/mean, "peak/mean")
	b.ReportMetric(float64(total), "requests")
	b.ReportMetric(span.Seconds(), "span-s")
	for _, a := range envs {
		a.stop()
	}
}
