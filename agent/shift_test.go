package agent

import (
	"path/filepath"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/posagent/posagent/store"
)

func TestLastBoundary(t *testing.T) {
	tor, err := time.LoadLocation("America/Toronto") // time/tzdata is linked in: never missing
	if err != nil {
		t.Fatal(err)
	}
	at := 3 * time.Hour
	for _, c := range []struct{ now, want string }{
		{"2026-11-30T09:00:00Z", "2026-11-30T03:00:00-05:00"}, // 04:00 in Toronto: today's 03:00
		{"2026-11-30T07:59:00Z", "2026-11-29T03:00:00-05:00"}, // 02:59 in Toronto: yesterday's
		{"2026-11-30T08:00:00Z", "2026-11-30T03:00:00-05:00"}, // exactly 03:00
		{"2026-03-08T12:00:00Z", "2026-03-08T03:00:00-04:00"}, // DST starts at 02:00 that night
	} {
		now, _ := time.Parse(time.RFC3339, c.now)
		want, _ := time.Parse(time.RFC3339, c.want)
		if got := lastBoundary(now, tor, at); !got.Equal(want) {
			t.Errorf("lastBoundary(%s) = %s, want %s", c.now, got, want)
		}
	}
	for _, bad := range []string{"3", "24:00", "03:5", "ab:cd", "03:60"} {
		if _, err := parseCloseAt(bad); err == nil {
			t.Errorf("close_at %q accepted", bad)
		}
	}
}

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
	o := reportOptions()
	o.CloseAt = "03:00"
	a := startAgent(t, path, gw, o)
	deadline := time.Now().Add(30 * time.Second)
	for {
		zs, err := a.e.ZList(0)
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
	z := a.report("GET", "/v1/reports/z/1")
	if !z.Shift.AutoClosed || z.Shift.OpenedBy != "mia" || z.Payments.Count != 0 {
		t.Fatalf("Z %+v", z)
	}
	if sh, _ := a.e.CurrentShift(); sh != nil {
		t.Fatalf("a shift is still open: %+v", sh)
	}
}
