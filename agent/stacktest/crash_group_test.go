package stacktest

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/internal/agenttest"

	"github.com/posagent/posagent/store"
)

// TestCrashDuringGroupCommit kills the daemon with SIGKILL while many
// requests share commits, then checks that every payment answered 201 is
// in the journal after restart, in the state it was answered with when
// that state was final: a shared fsync answers no one early.
func TestCrashDuringGroupCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: real processes")
	}
	sim := startSim(t, "")
	dir := t.TempDir()
	path := filepath.Join(dir, "posagent.db")
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	answered := map[string]agent.State{} // payment id -> state in its 201
	var mu sync.Mutex
	base := rand.IntN(1 << 30)
	n := 0
	for round := range 3 {
		c := startChild(t, dir, path, sim.url, round)
		pos := c.pos(t, tr)
		mu.Lock()
		before := len(answered)
		mu.Unlock()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := range 48 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					code := alipayCode(base + round*1_000_000 + g*10_000 + i)
					ctx, status := agenttest.Status(context.Background())
					p, err := pos.CreatePayment(ctx, client.PaymentRequest{Amount: 1000, Mode: "scan", AuthCode: code}, client.Key("crash-"+code))
					var ae *client.Error
					if err != nil && !errors.As(err, &ae) {
						return // killed
					}
					if status() == 201 && err == nil && p.ID != "" {
						mu.Lock()
						answered[p.ID] = agent.State(p.State)
						mu.Unlock()
					}
				}
			}()
		}
		// Kill once answers are flowing (a loaded machine, -race, can take
		// seconds to answer the first), a random moment later: commits are
		// being shared by the 48 clients then.
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			mu.Lock()
			got := len(answered) > before
			mu.Unlock()
			if got {
				break
			}
		}
		time.Sleep(time.Duration(50+rand.IntN(400)) * time.Millisecond)
		c.kill()
		close(stop)
		wg.Wait()
		tr.CloseIdleConnections()
	}
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatalf("the journal after the crashes: %v", err)
	}
	defer st.Close()
	err = st.View(func(tx *store.Tx) error {
		for id, s := range answered {
			p, err := tx.Payment(id)
			if err != nil {
				t.Errorf("payment %s was answered 201 (%s) but is not in the journal: %v", id, s, err)
				continue
			}
			n++
			if s.Final() && p.State != s {
				t.Errorf("payment %s was answered %s but the journal says %s", id, s, p.State)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Check(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d payments answered 201 over 3 crashes, all in the journal", n)
	if n == 0 {
		t.Fatal("no payment was answered: the test proved nothing")
	}
}
