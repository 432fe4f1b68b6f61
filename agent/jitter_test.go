package agent

import (
	"math/rand/v2"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/store"
)

// Each delay the outbox schedules is spread by BackoffJitter either way,
// drawn from the injected random source; the clock-went-back horizon
// covers the longest delay with its jitter.
func TestBackoffJitter(t *testing.T) {
	var r float64
	o := Options{Rand: func() float64 { return r }}
	o.setDefaults()
	for _, c := range []struct {
		r    float64
		want time.Duration
	}{{0, 8 * time.Second}, {0.25, 9 * time.Second}, {0.5, 10 * time.Second}, {0.75, 11 * time.Second}} {
		r = c.r
		if got := o.jitter(10 * time.Second); got != c.want {
			t.Errorf("jitter(10s) with rand %v = %v, want %v", c.r, got, c.want)
		}
	}
	if h, want := o.longestBackoff(), 24*time.Hour*12/10; h != want {
		t.Errorf("horizon %v, want %v (the longest delay and its jitter)", h, want)
	}
	off := Options{BackoffJitter: -1, Rand: func() float64 { return 0 }}
	off.setDefaults()
	if got := off.jitter(10 * time.Second); got != 10*time.Second {
		t.Errorf("no jitter: %v", got)
	}
	// A real source spreads over the whole range, within its bounds.
	o.Rand = rand.New(rand.NewPCG(14, 14)).Float64
	lo, hi := time.Hour, time.Duration(0)
	for range 1000 {
		d := o.jitter(10 * time.Second)
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 8*time.Second || hi > 12*time.Second || lo > 8100*time.Millisecond || hi < 11900*time.Millisecond {
		t.Errorf("1000 draws spread over %v..%v, want about 8s..12s", lo, hi)
	}
}

// A refund the gateway never received is rescheduled after its backoff
// step with the jitter drawn from the engine's random source.
func TestRetryJittered(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close() // connection refused: nothing is ever sent
	gw, hc := newGatewayClient(t, dead)
	defer hc.CloseIdleConnections()
	clk := &manualClock{now: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)}
	path := filepath.Join(t.TempDir(), "posagent.db")
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := clk.Now().Add(-time.Minute)
	p := &store.Payment{ID: newID("pay_", at), OrderID: "P000000000001", Mode: "scan", Wallet: "alipay",
		Amount: 1000, Currency: "CAD", State: Succeeded, CreatedAt: at, UpdatedAt: at,
		History: []store.HistoryEntry{{State: "succeeded", At: at}},
		Refunds: []store.Refund{{ID: newID("ref_", at), OrderID: "R000000000001", Amount: 1000,
			State: store.RefundPending, CreatedAt: at, UpdatedAt: at}}}
	err = st.Update(func(tx *store.Tx) error {
		if err := putBenchPayment(tx, p, at); err != nil {
			return err
		}
		return tx.AddJob(&store.Job{Kind: store.JobRefund, PaymentID: p.ID, RefundID: p.Refunds[0].ID, NextAt: at, CreatedAt: at})
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	a := startAgent(t, path, gw, Options{Clock: clk, Rand: func() float64 { return 0.75 }})
	var job *store.Job
	waitFor(t, "the first attempt to be recorded", func() bool {
		a.st.View(func(tx *store.Tx) error {
			jobs, err := tx.Jobs()
			if err == nil && len(jobs) == 1 && jobs[0].Attempts == 1 {
				job = jobs[0]
			}
			return nil
		})
		return job != nil
	})
	// The second step of the default schedule (15 s), 10% later.
	if got, want := job.NextAt.Sub(clk.Now()), 16500*time.Millisecond; got != want {
		t.Errorf("next attempt in %v, want %v", got, want)
	}
}
