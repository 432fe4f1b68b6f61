package stacktest

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"

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
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer hc.CloseIdleConnections()
	answered := map[string]agent.State{} // payment id -> state in its 201
	var mu sync.Mutex
	base := rand.IntN(1 << 30)
	n := 0
	for round := range 3 {
		c := startChild(t, dir, path, sim.url, round)
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
					body := fmt.Sprintf(`{"amount":1000,"mode":"scan","auth_code":%q}`, code)
					req, _ := http.NewRequest("POST", c.base+"/v1/payments", strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set("Idempotency-Key", "crash-"+code)
					resp, err := hc.Do(req)
					if err != nil {
						return // killed
					}
					raw, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					var p struct {
						ID    string      `json:"id"`
						State agent.State `json:"state"`
					}
					if resp.StatusCode == 201 && json.Unmarshal(raw, &p) == nil && p.ID != "" {
						mu.Lock()
						answered[p.ID] = p.State
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
		hc.CloseIdleConnections()
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
