package stacktest

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/agent/books"
	"github.com/posagent/posagent/store"
)

// A Z report survives a SIGKILL during its creation: after each kill the
// journal has either the whole report (matching its checksum, its shift
// closed and pointing at it) or nothing of it (the shift still open), and
// a Z number once seen is never given to another report.
func TestZReportSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: real processes")
	}
	sim := startSim(t, "")
	dir := t.TempDir()
	path := filepath.Join(dir, "posagent.db")
	hc := &http.Client{Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	post := func(url, body string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("k%d", rand.Int64()))
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	seen := map[uint64]string{} // Z number -> checksum
	code := 7000
	for round := 0; round < 12; round++ {
		c := startChild(t, dir, path, sim.url, round)
		for i := 0; i < 15; i++ { // payments of the open shift (the first opens it)
			code++
			if s, m := post(c.base+"/v1/payments", fmt.Sprintf(`{"amount":%d,"mode":"scan","auth_code":%q}`, 1000+i*100, wechatCode(code))); s != 201 {
				c.kill()
				t.Fatalf("round %d: pay: %d %v", round, s, m)
			}
		}
		done := make(chan struct{})
		go func() { defer close(done); post(c.base+"/v1/shifts/close", `{}`) }()
		time.Sleep(time.Duration(rand.IntN(2500)) * time.Microsecond)
		c.kill()
		<-done

		st, err := store.Open(path, store.Options{LockTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		err = st.View(func(tx *store.Tx) error {
			zs, err := tx.ZList(0)
			if err != nil {
				return err
			}
			for _, z := range zs {
				full, err := tx.Z(z.No)
				if err != nil {
					return fmt.Errorf("Z %d: %w", z.No, err)
				}
				if old, ok := seen[z.No]; ok && old != full.SHA256 {
					return fmt.Errorf("Z %d changed or was reused: %s then %s", z.No, old, full.SHA256)
				}
				seen[z.No] = full.SHA256
				sh, err := tx.Shift(z.Shift)
				if err != nil || sh.Open() || sh.Z != z.No {
					return fmt.Errorf("Z %d: its shift %+v (%v) is not closed by it", z.No, sh, err)
				}
				var rep books.Report
				if err := json.Unmarshal(full.Report, &rep); err != nil || rep.Z != z.No || rep.Payments.Count == 0 {
					return fmt.Errorf("Z %d: report %+v (%v)", z.No, rep, err)
				}
			}
			if len(zs) != len(seen) || tx.LastZ() < uint64(len(seen)) {
				return fmt.Errorf("%d Z reports in the journal, %d seen, last number %d", len(zs), len(seen), tx.LastZ())
			}
			if open, _ := tx.OpenShift(); open != nil && open.Z != 0 {
				return fmt.Errorf("open shift %+v has a Z report", open)
			}
			return nil
		})
		if cerr := st.Check(); cerr != nil {
			t.Errorf("round %d: %v", round, cerr)
		}
		st.Close()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	if len(seen) == 0 {
		t.Log("no close committed before its kill in any round")
	}
	t.Logf("%d Z reports committed across 12 kills", len(seen))
}
