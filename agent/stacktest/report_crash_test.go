package stacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/agent/books"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/internal/agenttest"
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
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	bg := context.Background()
	seen := map[uint64]string{} // Z number -> checksum
	code := 7000
	for round := 0; round < 12; round++ {
		c := startChild(t, dir, path, sim.url, round)
		pos := c.pos(t, tr)
		for i := 0; i < 15; i++ { // payments of the open shift (the first opens it)
			code++
			ctx, status := agenttest.Status(bg)
			req := client.PaymentRequest{Amount: int64(1000 + i*100), Mode: "scan", AuthCode: wechatCode(code)}
			if _, err := pos.CreatePayment(ctx, req, client.Key(fmt.Sprintf("k%d", rand.Int64()))); status() != 201 {
				c.kill()
				t.Fatalf("round %d: pay: %d %v", round, status(), err)
			}
		}
		done := make(chan struct{})
		go func() { defer close(done); pos.CloseShift(bg, "", false) }()
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
