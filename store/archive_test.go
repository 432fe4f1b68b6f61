package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/store/archive"
	"github.com/posagent/posagent/store/check"
)

// Archive writes the final payments created before the cut and the events
// stamped before it: events stored as deltas come out whole and byte for
// byte, accepted gaps come along, open payments stay out, the journal is
// only read, and the archive checks clean and reads back.
func TestArchive(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	cut := t0.Add(10 * time.Hour)
	final := func(i int) bool { return i%4 != 1 }
	for i := range 20 {
		at := t0.Add(time.Duration(i) * time.Hour)
		id := IDAt(at) + "aaaaaaa"
		err := s.Update(func(tx *Tx) error {
			st := Succeeded
			if !final(i) {
				st = Processing
			}
			p := &Payment{ID: id, OrderID: "O" + id, State: st, Amount: int64(100 + i), Currency: "CAD", CreatedAt: at, UpdatedAt: at}
			if i == 2 {
				p.Refunds = []Refund{{ID: "r1", OrderID: "R" + id, Amount: 10, State: RefundPending, CreatedAt: at, UpdatedAt: at}}
			}
			if err := tx.PutPayment(p); err != nil {
				return err
			}
			for h := range 3 { // deltas of each other
				if _, err := tx.AppendEventAbout(id, nil, func(seq uint64) ([]byte, error) {
					return payEvent(seq, id, at, "processing", h+1, "note"), nil
				}); err != nil {
					return err
				}
			}
			if i == 4 {
				return tx.SkipTo(tx.LastEventSeq() + 5) // an accepted gap
			}
			_, err := tx.AppendAudit(at, event(KindAudit, at))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var live []Event
	deltas := 0
	s.View(func(tx *Tx) error {
		live, _ = tx.Events(0, 0, 0)
		tx.tx.Bucket(bEvents).ForEach(func(_, v []byte) error {
			if storedDelta(v) {
				deltas++
			}
			return nil
		})
		return nil
	})
	if deltas == 0 {
		t.Fatal("no event stored as a delta: the test proves nothing")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	out := filepath.Join(dir, "a.db")
	res, err := archive.Archive(path, out, cut, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("Archive modified the journal")
	}
	// 10 payments before the cut: 0..9, of which 1, 5, 9 are open and 2 has
	// an open refund.
	if res.Payments != 6 || res.NotFinal != 4 || res.Orders != 6 {
		t.Fatalf("archived %d payments (%d orders), %d not final; want 6 (6), 4", res.Payments, res.Orders, res.NotFinal)
	}
	rep, err := check.CheckFile(out, CheckOptions{})
	if err != nil || rep.Damaged() || rep.Payments != 6 || rep.Open != 0 {
		t.Fatalf("check of the archive: %v %+v", err, rep)
	}
	if rep.ArchiveBefore == nil || !rep.ArchiveBefore.Equal(cut) {
		t.Errorf("the check of the archive says archive before %v, want %s", rep.ArchiveBefore, cut)
	}
	// The agent does not run on an archive, nor writes to it (nor is one
	// restored in place of the journal: store/offline's TestRestoreArchive).
	ah, _ := os.ReadFile(out)
	if _, err := Open(out, Options{}); !errors.Is(err, ErrArchive) {
		t.Errorf("Open of an archive: %v, want ErrArchive", err)
	}
	if b, _ := os.ReadFile(out); !bytes.Equal(b, ah) {
		t.Error("Open wrote to the archive")
	}
	r, err := OpenReader(out, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	err = r.View(func(tx *Tx) error {
		if got := tx.ArchivedBefore(); !got.Equal(cut) {
			t.Errorf("ArchivedBefore %s, want %s", got, cut)
		}
		var ids []string
		tx.ForEachPayment(false, "", func(p *Payment) (bool, error) {
			ids = append(ids, p.ID)
			if !p.CreatedAt.Before(cut) || !p.State.Final() {
				t.Errorf("archived %s: created %s, %s", p.ID, p.CreatedAt, p.State)
			}
			if got, err := tx.PaymentIDByOrder(p.OrderID); err != nil || got != p.ID {
				t.Errorf("order %s: %q %v", p.OrderID, got, err)
			}
			return true, nil
		})
		evs, _ := tx.Events(0, 0, 0)
		n := 0
		for _, ev := range live {
			if strings.Contains(string(ev.Data), `"at":"`+cut.Format(time.RFC3339)) {
				break
			}
			if n >= len(evs) || evs[n].Seq != ev.Seq || !bytes.Equal(evs[n].Data, ev.Data) {
				t.Fatalf("archived event %d differs from the journal's event #%d", n, ev.Seq)
			}
			n++
		}
		if n != len(evs) || n != res.Events {
			t.Errorf("archived %d events (reported %d), the journal has %d before the cut", len(evs), res.Events, n)
		}
		audits := 0
		tx.AuditEvents(time.Time{}, 0, func(Event) error { audits++; return nil })
		if audits != 9 { // hours 0..9 but 4
			t.Errorf("%d audit events in the archive's index, want 9", audits)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Archive refuses an existing file, a journal another process holds, and
// a damaged journal, and leaves no file behind.
func TestArchiveRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "j.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "a.db")
	if _, err := archive.Archive(path, out, time.Now(), CheckOptions{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Errorf("held journal: %v, want ErrLocked", err)
	}
	s.Close()
	os.WriteFile(out, []byte("x"), 0o600)
	if _, err := archive.Archive(path, out, time.Now(), CheckOptions{}); err == nil || !strings.Contains(err.Error(), "the file exists") {
		t.Errorf("existing out: %v", err)
	}
	os.Remove(out)
	os.WriteFile(path, bytes.Repeat([]byte("not a journal "), 1000), 0o600)
	if _, err := archive.Archive(path, out, time.Now(), CheckOptions{}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("damaged journal: %v, want ErrCorrupt", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "a.db*")); len(m) > 0 {
		t.Errorf("refused archives left %v", m)
	}
}
