package store

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/store/check"
)

// Guarded retention removes an old final payment only once it is in a Z
// report, in a verified backup and, when a feed registered, acknowledged
// by it; each condition alone holds it.
func TestGuardedRetention(t *testing.T) {
	dir := t.TempDir()
	s := open(t, filepath.Join(dir, "j.db"), Options{GuardRetention: true})
	old := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	cut := old.Add(24 * time.Hour)
	id := IDAt(old) + "aaaaaaa"
	count := func() (pays, evs int) {
		s.View(func(tx *Tx) error {
			tx.ForEachPayment(false, "", func(*Payment) (bool, error) { pays++; return true, nil })
			e, _ := tx.Events(0, 0, 0)
			evs = len(e)
			return nil
		})
		return
	}
	compact := func(step string, wantGone bool) {
		t.Helper()
		if _, err := s.Compact(cut); err != nil {
			t.Fatal(err)
		}
		pays, evs := count()
		if gone := pays == 0 && evs == 0; gone != wantGone {
			t.Fatalf("%s: %d payments and %d events left, want removed %v", step, pays, evs, wantGone)
		}
	}
	err := s.Update(func(tx *Tx) error {
		if err := tx.NewShift(&Shift{No: 1, OpenedAt: old}); err != nil {
			return err
		}
		p := &Payment{ID: id, OrderID: "O1", State: Succeeded, Amount: 100, Currency: "CAD", CreatedAt: old, UpdatedAt: old, Shift: 1}
		if err := tx.PutPayment(p); err != nil {
			return err
		}
		_, err := tx.AppendEventAbout(id, nil, event("payment.updated", old))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	compact("open shift, no backup", false)
	err = s.Update(func(tx *Tx) error {
		sh, err := tx.Shift(1)
		if err != nil {
			return err
		}
		sh.ClosedAt, sh.Z = old.Add(time.Hour), 1
		return tx.PutShift(sh)
	})
	if err != nil {
		t.Fatal(err)
	}
	compact("in a Z report, no backup", false)
	if err := s.Update(func(tx *Tx) error { return tx.SetFeedAck(0) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.BackupNow(BackupOptions{Dir: filepath.Join(dir, "backups")}); err != nil {
		t.Fatal(err)
	}
	compact("in a Z report and a backup, a feed that acknowledged nothing", false)
	if err := s.Update(func(tx *Tx) error { return tx.SetFeedAck(1) }); err != nil {
		t.Fatal(err)
	}
	compact("in a Z report, a backup, acknowledged", true)
	rep, err := check.CheckFile(filepath.Join(dir, "j.db"), CheckOptions{LockTimeout: time.Millisecond})
	if err == nil && rep.Damaged() {
		t.Errorf("the journal after retention: %+v", rep.Findings)
	}
}

// A payment in a Z report whose last event came after the newest verified
// backup stays.
func TestGuardedRetentionWaitsForTheBackup(t *testing.T) {
	dir := t.TempDir()
	s := open(t, filepath.Join(dir, "j.db"), Options{GuardRetention: true})
	old := time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)
	if _, err := s.BackupNow(BackupOptions{Dir: filepath.Join(dir, "backups")}); err != nil {
		t.Fatal(err)
	}
	id := IDAt(old) + "bbbbbbb"
	err := s.Update(func(tx *Tx) error {
		if err := tx.NewShift(&Shift{No: 1, OpenedAt: old, ClosedAt: old.Add(time.Hour), Z: 1}); err != nil {
			return err
		}
		if err := tx.PutPayment(&Payment{ID: id, OrderID: "O1", State: Succeeded, CreatedAt: old, UpdatedAt: old, Shift: 1}); err != nil {
			return err
		}
		_, err := tx.AppendEventAbout(id, nil, event("payment.updated", old))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Compact(old.Add(24 * time.Hour))
	if err != nil || res.Payments != 0 || res.Events != 0 {
		t.Fatalf("compact before a backup holds the payment: %+v %v", res, err)
	}
}

// ForgetCodes forgets exactly the uses older than its cut, round after
// round, while it skips reading the uses when none can be that old.
func TestForgetCodesRounds(t *testing.T) {
	s := open(t, "", Options{})
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	mark := func(code string, at time.Time) {
		t.Helper()
		if err := s.Update(func(tx *Tx) error { return tx.MarkCodeUsed(code, "pay_"+code, at) }); err != nil {
			t.Fatal(err)
		}
	}
	forget := func(cut time.Time, want int) {
		t.Helper()
		if n, err := s.ForgetCodes(cut); err != nil || n != want {
			t.Fatalf("ForgetCodes(%s) = %d, %v; want %d", cut.Format(time.TimeOnly), n, err, want)
		}
	}
	mark("134567890123456781", t0.Add(2*time.Hour))
	mark("134567890123456782", t0) // older than the first: the oldest moves back
	mark("134567890123456783", t0.Add(4*time.Hour))
	forget(t0, 0)
	forget(t0.Add(time.Hour), 1)
	forget(t0.Add(time.Hour), 0)
	forget(t0.Add(3*time.Hour), 1)
	forget(t0.Add(5*time.Hour), 1)
	mark("134567890123456784", t0.Add(6*time.Hour))
	forget(t0.Add(5*time.Hour), 0)
	forget(t0.Add(7*time.Hour), 1)
}
