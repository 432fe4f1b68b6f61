package offline

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/store"
	"github.com/posagent/posagent/store/archive"
	"github.com/posagent/posagent/store/check"
)

// TestRollbackDetected: an older copy of the journal put back in place, an
// empty file, a missing file and another journal are each refused with
// the file untouched, until a technician accepts.
func TestRollbackDetected(t *testing.T) {
	for _, tc := range []struct {
		name    string
		replace func(t *testing.T, path, older, other string)
		reason  string
	}{
		{"older copy", func(t *testing.T, path, older, _ string) { copyFile(t, older, path) }, "went back in time"},
		{"zero length", func(t *testing.T, path, _, _ string) { os.WriteFile(path, nil, 0o600) }, "empty (0 bytes)"},
		{"missing", func(t *testing.T, path, _, _ string) { os.Remove(path) }, "missing"},
		{"another journal", func(t *testing.T, path, _, other string) { copyFile(t, other, path) }, "replaced by another journal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "posagent.db")
			s, err := store.Open(path, store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			takePayments(t, s, 0, 5)
			s.Close()
			older := filepath.Join(dir, "older.db")
			copyFile(t, path, older)
			s, _ = store.Open(path, store.Options{})
			takePayments(t, s, 5, 5)
			s.Close()
			other := journal(t, t.TempDir(), 3)
			tc.replace(t, path, older, other)
			var before [32]byte
			if _, err := os.Stat(path); err == nil {
				before = hashFile(t, path)
			}
			_, err = store.Open(path, store.Options{})
			var re *store.RollbackError
			if !errors.As(err, &re) || !errors.Is(err, store.ErrRolledBack) {
				t.Fatalf("Open: got %v, want a RollbackError", err)
			}
			if !strings.Contains(err.Error(), tc.reason) || !strings.Contains(err.Error(), "accept-rollback") {
				t.Errorf("message %q", err)
			}
			if _, err := os.Stat(path); err == nil && hashFile(t, path) != before {
				t.Fatal("store.Open modified the file")
			} else if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			r, err := AcceptRollback(path, store.Options{}, "test")
			if err != nil || r == nil {
				t.Fatalf("accept: %v %v", r, err)
			}
			s, err = store.Open(path, store.Options{})
			if err != nil {
				t.Fatalf("after accept: %v", err)
			}
			defer s.Close()
			s.View(func(tx *store.Tx) error {
				if seq := tx.LastEventSeq(); seq != 21 {
					t.Errorf("event sequence after accept %d, want 21 (past the 20 announced)", seq)
				}
				evs, _ := tx.Events(20, 0, 0)
				if len(evs) != 1 || !bytes.Contains(evs[0].Data, []byte(`"kind":"journal.rollback_accepted"`)) {
					t.Errorf("accept event: %v", evs)
				}
				return nil
			})
			if rep, _ := check.CheckFile(path, store.CheckOptions{LockTimeout: time.Millisecond}); rep != nil && rep.Damaged() {
				t.Errorf("after accept: %v", rep.Findings)
			}
		})
	}
}

// TestRestore: refused while the journal is open; afterwards the journal
// in place is kept aside, the restore is an event, and the event sequence
// does not go back.
func TestRestore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "posagent.db")
	s, _ := store.Open(path, store.Options{})
	takePayments(t, s, 0, 4)
	bk := filepath.Join(dir, "b.db")
	if _, err := s.BackupFile(bk); err != nil {
		t.Fatal(err)
	}
	takePayments(t, s, 4, 4)
	if _, err := Restore(path, bk, store.Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("restore while open: %v", err)
	}
	s.Close()
	res, err := Restore(path, bk, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rollback == nil || res.Replaced == "" {
		t.Errorf("result %+v", res)
	}
	if rep, err := check.CheckFile(res.Replaced, store.CheckOptions{}); err != nil || rep.Payments != 8 {
		t.Errorf("the replaced journal was not kept: %v %v", rep, err)
	}
	s, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.View(func(tx *store.Tx) error {
		evs, _ := tx.Events(16, 0, 0)
		if tx.LastEventSeq() != 17 || len(evs) != 1 || !bytes.Contains(evs[0].Data, []byte("journal.restored")) {
			t.Errorf("after restore: seq %d, events %v", tx.LastEventSeq(), evs)
		}
		return nil
	})
}

// takePayments writes n payments the way the agent does: created with a
// code, an event and an idempotency key; then final (odd ones stay open,
// with an outbox query job), each step its own transaction.
func takePayments(t testing.TB, s *store.Store, from, n int) []string {
	t.Helper()
	at := time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC)
	var ids []string
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("pay_%08d", i)
		ids = append(ids, id)
		p := &store.Payment{ID: id, OrderID: fmt.Sprintf("P%08d", i), Mode: "scan", Wallet: "wechat", Amount: int64(100 + i), Currency: "CAD",
			State: store.Processing, AuthCode: code(i), AuthCodeMasked: code(i)[:4] + "**********" + code(i)[14:], CreatedAt: at, UpdatedAt: at,
			History: []store.HistoryEntry{{State: "processing", At: at}}, Refunds: []store.Refund{}}
		err := s.Update(func(tx *store.Tx) error {
			if err := tx.PutPayment(p); err != nil {
				return err
			}
			if err := tx.PutIdem("idem-"+id, &store.Idem{Hash: "h", PaymentID: id, CreatedAt: at}); err != nil {
				return err
			}
			_, err := tx.AppendEvent(event("payment.updated", at))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Update(func(tx *store.Tx) error {
			if i%2 == 0 {
				p.State = store.Succeeded
				p.Refunds = []store.Refund{{ID: "ref_" + id, OrderID: "R" + p.OrderID, Amount: 50, State: store.RefundSucceeded, CreatedAt: at, UpdatedAt: at}}
			} else {
				p.State = store.InDoubt
				if err := tx.AddJob(&store.Job{Kind: store.JobQuery, PaymentID: id, NextAt: at, CreatedAt: at}); err != nil {
					return err
				}
			}
			p.History = append(p.History, store.HistoryEntry{State: string(p.State), At: at})
			if err := tx.PutPayment(p); err != nil {
				return err
			}
			_, err := tx.AppendEvent(event("payment.updated", at))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// journal makes a real journal of n payments in dir and closes it.

// TestRestoreArchive: an archive is not restored in place of the journal,
// and the refusal writes to neither file.
func TestRestoreArchive(t *testing.T) {
	dir := t.TempDir()
	path := journal(t, dir, 4)
	out := filepath.Join(dir, "a.db")
	if _, err := archive.Archive(path, out, time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), store.CheckOptions{}); err != nil {
		t.Fatal(err)
	}
	ah, jh := hashFile(t, out), hashFile(t, path)
	if _, err := Restore(path, out, store.Options{}); !errors.Is(err, store.ErrArchive) {
		t.Errorf("Restore of an archive: %v, want ErrArchive", err)
	}
	if hashFile(t, out) != ah || hashFile(t, path) != jh {
		t.Error("Restore wrote to the archive or the journal")
	}
}

// code returns a distinct, valid-looking WeChat payment code.
func code(i int) string { return fmt.Sprintf("13%016d", 4567890000000000+i) }

func event(kind string, at time.Time) func(uint64) ([]byte, error) {
	return func(seq uint64) ([]byte, error) {
		return json.Marshal(map[string]any{"seq": seq, "kind": kind, "at": at})
	}
}

// journal makes a real journal of n payments in dir and closes it.
func journal(t testing.TB, dir string, n int) string {
	t.Helper()
	path := filepath.Join(dir, "posagent.db")
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	takePayments(t, s, 0, n)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func hashFile(t testing.TB, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
