package stacktest

import (
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"

	"github.com/posagent/posagent/store"
)

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
		Amount: 1000, Currency: "CAD", State: agent.Succeeded, CreatedAt: at, UpdatedAt: at,
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
	a := startAgent(t, path, gw, agent.Options{Clock: clk, Rand: func() float64 { return 0.75 }})
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
