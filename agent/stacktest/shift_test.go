package stacktest

import (
	"context"
	"path/filepath"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/posagent/posagent/store"
)

// A shift still open past reports.close_at (the daemon was off at 03:00)
// is closed when the agent starts, with its Z report.
func TestShiftClosesByItselfAtCloseAt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = st.Update(func(tx *store.Tx) error {
		return tx.NewShift(&store.Shift{Lane: "LANE1", OpenedAt: time.Now().Add(-26 * time.Hour), OpenedBy: "mia"})
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	bo := reportBooks()
	bo.CloseAt = "03:00"
	a := startAgent(t, path, gw, reportOptions(), APIConf{Books: bo})
	deadline := time.Now().Add(30 * time.Second)
	for {
		zs, err := a.bk.ZList(0)
		if err != nil {
			t.Fatal(err)
		}
		if len(zs) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the shift open since yesterday was not closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	z, err := a.pos.ZReport(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if !z.Shift.AutoClosed || z.Shift.OpenedBy != "mia" || z.Payments.Count != 0 {
		t.Fatalf("Z %+v", z)
	}
	if sh, _ := a.bk.CurrentShift(); sh != nil {
		t.Fatalf("a shift is still open: %+v", sh)
	}
}
