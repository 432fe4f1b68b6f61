package dupguard

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/store"
)

// lane is a journal on a real bbolt file, a Guard over it and a clock the
// test moves.
type lane struct {
	st  *store.Store
	g   *Guard
	at  time.Time
	seq int
}

func newLane(t testing.TB, window time.Duration) *lane {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "posagent.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	l := &lane{st: st, at: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}
	l.g = New(window, l.now)
	return l
}

func (l *lane) now() time.Time { return l.at }

// put writes a new payment for amount through each state in turn, each
// write noted as the engine's payment write notes it.
func (l *lane) put(t testing.TB, amount int64, states ...store.State) *store.Payment {
	t.Helper()
	l.at = l.at.Add(time.Millisecond)
	l.seq++
	p := &store.Payment{ID: store.IDAt(l.at) + fmt.Sprintf("%06d", l.seq), OrderID: fmt.Sprintf("P%019d", l.seq),
		Mode: "scan", Amount: amount, Currency: "CAD", CreatedAt: l.at, Refunds: []store.Refund{}}
	for _, st := range states {
		l.set(t, p, st)
	}
	return p
}

func (l *lane) set(t testing.TB, p *store.Payment, st store.State) {
	t.Helper()
	p.State = st
	err := l.st.Update(func(tx *store.Tx) error {
		if err := tx.PutPayment(p); err != nil {
			return err
		}
		l.g.Note(p, l.now())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (l *lane) find(t testing.TB, g *Guard, amount int64) string {
	t.Helper()
	var id string
	if err := l.st.View(func(tx *store.Tx) (err error) { id, err = g.Of(tx, amount); return err }); err != nil {
		t.Fatal(err)
	}
	return id
}

// Of against the journal as committed: among many failed payments of
// other amounts it names the newest failed or in-doubt one of the amount,
// and not one that was in doubt and has since been paid, nor one created
// before the window; the candidates it keeps are bounded.
func TestOfCandidates(t *testing.T) {
	l := newLane(t, 10*time.Minute)
	for i := range 300 {
		l.put(t, int64(50000+i), store.Processing, store.Failed)
	}
	older := l.put(t, 700, store.Processing, store.Failed)
	newer := l.put(t, 700, store.Processing, store.InDoubt)
	l.put(t, 700, store.Processing, store.Succeeded)
	if got := l.find(t, l.g, 700); got != newer.ID {
		t.Fatalf("got %q, want the newest in doubt %s (older failed %s)", got, newer.ID, older.ID)
	}
	// The in-doubt one is paid after all: the failed one is left.
	l.set(t, newer, store.Succeeded)
	if got := l.find(t, l.g, 700); got != older.ID {
		t.Fatalf("after the in-doubt one was paid: got %q, want %s", got, older.ID)
	}
	if got := l.find(t, l.g, 701); got != "" {
		t.Fatalf("another amount: got %q", got)
	}
	// A guard loaded from the journal at a start knows the same.
	loaded := New(10*time.Minute, l.now)
	if err := l.st.View(loaded.Load); err != nil {
		t.Fatal(err)
	}
	if got := l.find(t, loaded, 700); got != older.ID {
		t.Fatalf("loaded from the journal: got %q, want %s", got, older.ID)
	}
	// Past the window nothing is a candidate any more.
	l.at = older.CreatedAt.Add(10*time.Minute + time.Nanosecond)
	if got := l.find(t, l.g, 700); got != "" {
		t.Fatalf("past the window: got %q", got)
	}
	if n := l.g.n; n > 310 {
		t.Fatalf("%d candidates kept", n)
	}
	// A payment written failed after its window is not kept at all.
	kept := l.g.n
	l.g.Note(&store.Payment{ID: older.ID + "x", Amount: 700, State: store.Failed, CreatedAt: older.CreatedAt}, l.now())
	if l.g.n != kept {
		t.Fatalf("a payment created before the window was kept (%d -> %d)", kept, l.g.n)
	}
}

// A zero window turns the guard off: nothing is kept, loaded or named.
func TestOff(t *testing.T) {
	l := newLane(t, 0)
	l.put(t, 700, store.Processing, store.Failed)
	if err := l.st.View(l.g.Load); err != nil {
		t.Fatal(err)
	}
	if got := l.find(t, l.g, 700); got != "" || l.g.n != 0 {
		t.Fatalf("an off guard named %q (%d kept)", got, l.g.n)
	}
}

// The guard keeps no more than the window's failed and in-doubt
// payments: a lane failing all day sweeps what fell out of the window.
func TestSweep(t *testing.T) {
	g := New(time.Minute, time.Now)
	at := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for i := range 5000 {
		at = at.Add(time.Second)
		g.Note(&store.Payment{ID: fmt.Sprintf("pay_%08d", i), Amount: int64(i % 7), State: store.Failed, CreatedAt: at}, at)
	}
	if g.n > 2*60+64+1 {
		t.Fatalf("%d candidates kept for a window of 60", g.n)
	}
}

func TestWarnings(t *testing.T) {
	if w := Warnings(&store.Payment{Amount: 1250, Currency: "CAD"}); w != nil {
		t.Fatalf("no duplicate: %+v", w)
	}
	w := Warnings(&store.Payment{Amount: 1250, Currency: "CAD", DuplicateOf: "pay_1"})
	if len(w) != 1 || w[0].Code != "possible_duplicate" || w[0].PaymentID != "pay_1" ||
		!strings.Contains(w[0].Message, "12.50 CAD") || !strings.Contains(w[0].Message, "pay_1") {
		t.Fatalf("warning: %+v", w)
	}
}

// BenchmarkOf: the possible-duplicate lookup that runs inside the commit
// of every new payment, with N failed payments of other amounts in the
// window (a busy lane at 2 % declines makes some 3,000 in 10 minutes). It
// should cost the payments of the same amount, not the window's.
func BenchmarkOf(b *testing.B) {
	for _, n := range []int{0, 1000, 10000} {
		b.Run(fmt.Sprintf("failed=%d", n), func(b *testing.B) {
			l := newLane(b, 10*time.Hour)
			for i := range n {
				l.put(b, int64(10000+i), store.Failed)
			}
			b.ResetTimer()
			for range b.N {
				if id := l.find(b, l.g, 5); id != "" {
					b.Fatalf("found %s", id)
				}
			}
		})
	}
}
