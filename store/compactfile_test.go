package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fragmented writes a journal at path whose older half was removed by
// the retention compaction: half its pages are free. It returns the ids
// of the payments kept. The journal is built once per test process
// (built): a dozen tests start from it.
func fragmented(t testing.TB, path string) []string {
	t.Helper()
	return fragmentedJournal.copyTo(t, path, buildFragmented)
}

var fragmentedJournal = &built{name: "fragmented"}

// buildFragmented writes the journal fragmented copies at path.
func buildFragmented(t testing.TB, path string) []string {
	t.Helper()
	s, err := Open(path, Options{CompactFree: -1})
	if err != nil {
		t.Fatal(err)
	}
	old := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Records are stored compressed: their pads do not compress (noise).
	var kept []string
	for b := range 10 {
		err := s.Update(func(tx *Tx) error {
			for i := range 200 {
				n := b*200 + i
				at := old.Add(time.Duration(n) * time.Minute)
				if n >= 1000 {
					at = at.AddDate(0, 3, 0)
				}
				id := fmt.Sprintf("pay_%06d", n)
				if err := tx.PutPayment(&Payment{ID: id, OrderID: "O" + id, State: Succeeded, CreatedAt: at, UpdatedAt: at,
					Error: &Error{Code: "x", Message: noise(n) + noise(n+20000)}}); err != nil {
					return err
				}
				if _, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
					return fmt.Appendf(nil, `{"seq":%d,"kind":"payment.updated","at":%q,"pad":%q}`, seq, at.Format(time.RFC3339Nano), noise(n+5000)+noise(n+30000)), nil
				}); err != nil {
					return err
				}
				if n >= 1000 {
					kept = append(kept, id)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Compact(old.AddDate(0, 2, 0)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return kept
}

func TestCompactFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "posagent.db")
	kept := fragmented(t, path)
	keys, _ := os.ReadFile(KeysPath(path))
	before := mustCopy(t, path, filepath.Join(dir, "before.db"))

	// Refused while another process holds the journal.
	s, err := Open(path, Options{CompactFree: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CompactFile(path, Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Fatalf("compact while held: %v, want ErrLocked", err)
	}
	var lastSeq uint64
	s.View(func(tx *Tx) error { lastSeq = tx.LastEventSeq(); return nil })
	s.Close()

	res, err := CompactFile(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Recorded || res.After >= res.Before || res.FreeBefore == 0 {
		t.Fatalf("result %+v: want a smaller file and the compaction recorded", res)
	}
	t.Logf("compacted %d -> %d bytes (%d free before)", res.Before, res.After, res.FreeBefore)
	if k, _ := os.ReadFile(KeysPath(path)); !bytes.Equal(k, keys) {
		t.Error("the key file changed")
	}
	if _, err := os.Stat(path + ".compact-tmp"); !os.IsNotExist(err) {
		t.Errorf("temporary copy left behind: %v", err)
	}
	// The compacted journal opens (its mark agrees), holds every record,
	// and its event sequence goes on.
	if s, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	err = s.View(func(tx *Tx) error {
		for _, id := range kept {
			if _, err := tx.Payment(id); err != nil {
				return err
			}
		}
		evs, err := tx.Events(lastSeq, 0, 0)
		if err != nil {
			return err
		}
		if len(evs) != 1 || !strings.Contains(string(evs[0].Data), `"journal.compacted"`) || evs[0].Seq != lastSeq+1 {
			return fmt.Errorf("events after the compaction: %d, want one journal.compacted at %d", len(evs), lastSeq+1)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// The journal from before the compaction, put back, is behind the mark.
	os.Rename(before, path)
	if _, err := Open(path, Options{}); !errors.Is(err, ErrRolledBack) {
		t.Fatalf("the pre-compaction copy put back: %v, want ErrRolledBack", err)
	}
}

// Open compacts by itself when the free pages pass the threshold.
func TestOpenCompactsFreePages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	kept := fragmented(t, path)
	s := open(t, path, Options{CompactFree: 64 << 10})
	s.View(func(tx *Tx) error {
		if tx.LastEventSeq() != 2001 {
			t.Errorf("last event %d, want 2001 (journal.compacted)", tx.LastEventSeq())
		}
		if _, err := tx.Payment(kept[len(kept)-1]); err != nil {
			t.Error(err)
		}
		return nil
	})
	// Below the threshold: left alone.
	path2 := filepath.Join(t.TempDir(), "posagent.db")
	fragmented(t, path2)
	s2 := open(t, path2, Options{})
	s2.View(func(tx *Tx) error {
		if tx.LastEventSeq() != 2000 {
			t.Errorf("a journal with less than DefaultCompactFree free was compacted")
		}
		return nil
	})
}

func mustCopy(t testing.TB, from, to string) string {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return to
}

// BenchmarkCompactFile: rewriting a journal of 2,000 payments and events
// whose older half the retention compaction removed (about half its pages
// free), checks and comparison included.
func BenchmarkCompactFile(b *testing.B) {
	dir := b.TempDir()
	src := filepath.Join(dir, "src.db")
	fragmented(b, src)
	keys, _ := os.ReadFile(KeysPath(src))
	for i := range b.N {
		b.StopTimer()
		path := filepath.Join(dir, fmt.Sprintf("run%d.db", i))
		mustCopy(b, src, path)
		os.WriteFile(KeysPath(path), keys, 0o600)
		b.StartTimer()
		res, err := CompactFile(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Before)/1e6, "before-MB")
		b.ReportMetric(float64(res.After)/1e6, "after-MB")
	}
}

// noise is 300 letters and digits that do not compress (records are
// stored compressed: a test that needs their size pads them with this).
func noise(n int) string {
	r := rand.New(rand.NewPCG(uint64(n), 1))
	b := make([]byte, 300)
	for i := range b {
		b[i] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[r.IntN(62)]
	}
	return string(b)
}
