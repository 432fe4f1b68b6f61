package agent

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/store"
)

// dupEngine is an engine on a new journal, not running (duplicateOf and
// putPayment need no gateway).
func dupEngine(t testing.TB) *Engine {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "posagent.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	gw, hc := newGatewayClient(t, "http://127.0.0.1:1")
	t.Cleanup(hc.CloseIdleConnections)
	e, err := New(Options{Gateway: gw, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// putStates writes a new payment for amount through each state in turn.
func putStates(t testing.TB, e *Engine, amount int64, states ...State) *store.Payment {
	t.Helper()
	var p *store.Payment
	err := e.st.Update(func(tx *store.Tx) error {
		p = e.newPayment(tx, "scan", "", amount, "CAD", "", "")
		from := State("")
		for _, st := range states {
			p.State = st
			if err := e.putPayment(tx, p, from); err != nil {
				return err
			}
			from = st
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func findDup(t testing.TB, e *Engine, amount int64) string {
	t.Helper()
	var id string
	if err := e.st.View(func(tx *store.Tx) (err error) { id, err = e.duplicateOf(tx, amount); return err }); err != nil {
		t.Fatal(err)
	}
	return id
}

// duplicateOf against the journal as committed: among many failed
// payments of other amounts it names the newest failed or in-doubt one of
// the amount, and not one that was in doubt and has since been paid, nor
// one created before the window; the candidates it keeps are bounded.
func TestDuplicateOfCandidates(t *testing.T) {
	e := dupEngine(t)
	for i := range 300 {
		putStates(t, e, int64(50000+i), Processing, Failed)
	}
	older := putStates(t, e, 700, Processing, Failed)
	newer := putStates(t, e, 700, Processing, InDoubt)
	putStates(t, e, 700, Processing, Succeeded)
	if got := findDup(t, e, 700); got != newer.ID {
		t.Fatalf("got %q, want the newest in doubt %s (older failed %s)", got, newer.ID, older.ID)
	}
	// The in-doubt one is paid after all: the failed one is left.
	err := e.st.Update(func(tx *store.Tx) error {
		p, err := tx.Payment(newer.ID)
		if err != nil {
			return err
		}
		p.State = Succeeded
		return e.putPayment(tx, p, InDoubt)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := findDup(t, e, 700); got != older.ID {
		t.Fatalf("after the in-doubt one was paid: got %q, want %s", got, older.ID)
	}
	if got := findDup(t, e, 701); got != "" {
		t.Fatalf("another amount: got %q", got)
	}
	// Past the window nothing is a candidate any more.
	e.o.DuplicateWindow = time.Nanosecond
	time.Sleep(time.Millisecond)
	if got := findDup(t, e, 700); got != "" {
		t.Fatalf("past the window: got %q", got)
	}
	if n := e.dups.n; n > 310 {
		t.Fatalf("%d candidates kept", n)
	}
}

// BenchmarkDuplicateOf: the possible-duplicate lookup that runs inside the
// commit of every new payment, with N failed payments of other amounts in
// the window (a busy lane at 2 % declines makes some 3,000 in 10 minutes).
// It should cost the payments of the same amount, not the window's.
func BenchmarkDuplicateOf(b *testing.B) {
	for _, n := range []int{0, 1000, 10000} {
		b.Run(fmt.Sprintf("failed=%d", n), func(b *testing.B) {
			e := dupEngine(b)
			for i := range n {
				putStates(b, e, int64(10000+i), Failed)
			}
			b.ResetTimer()
			for range b.N {
				if id := findDup(b, e, 5); id != "" {
					b.Fatalf("found %s", id)
				}
			}
		})
	}
}
