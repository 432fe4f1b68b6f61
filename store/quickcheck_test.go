package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/store/check"
)

// quick: Open takes the quick check at any size.
var quick = Options{FullCheckBelow: -1}

// mixedJournal writes a journal whose first payments are open (in doubt,
// with query jobs) or final, followed by final payments only (with an
// event each), so that some payment pages hold no record the start reads.
// It is built once per test process (built): some twenty tests and
// subtests start from it.
func mixedJournal(t *testing.T) (path string, final []string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "posagent.db")
	return path, mixed.copyTo(t, path, buildMixed)
}

var mixed = &built{name: "mixed"}

// buildMixed writes the journal mixedJournal copies at path.
func buildMixed(t testing.TB, path string) (final []string) {
	t.Helper()
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	takePayments(t, s, 0, 10)
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	err = s.Update(func(tx *Tx) error { // receipts for the open payments: the outbox takes pages of its own
		for i := range 25 {
			if err := tx.AddJob(&Job{Kind: JobReceipt, PaymentID: fmt.Sprintf("pay_%08d", 2*(i%5)+1), NextAt: at, CreatedAt: at}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	pad := strings.Repeat("y", 400)
	err = s.Update(func(tx *Tx) error {
		for i := range 200 {
			id := fmt.Sprintf("pay_9%07d", i)
			final = append(final, id)
			p := &Payment{ID: id, OrderID: fmt.Sprintf("F%07d", i), Mode: "scan", Amount: 100, Currency: "CAD", State: Succeeded,
				CreatedAt: at, UpdatedAt: at, Error: &Error{Code: "none", Message: pad}}
			if err := tx.PutPayment(p); err != nil {
				return err
			}
			if _, err := tx.AppendEvent(event("payment.updated", at)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return final
}

// recordAt is the file offset of the value of key in bucket.
func recordAt(t *testing.T, path, bucket string, key []byte) int64 {
	t.Helper()
	for _, pi := range pagesOf(t, path, "leaf", bucket) {
		recs, err := check.PageRecords(path, pi.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range recs {
			if bytes.Equal(e.Key, key) {
				return e.ValueAt
			}
		}
	}
	t.Fatalf("%s %s: not found", bucket, key)
	return 0
}

// spoil overwrites the first byte of a record's value: it no longer decodes.
func spoil(t *testing.T, path, bucket string, key []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt([]byte{0xff}, recordAt(t, path, bucket, key)); err != nil {
		t.Fatal(err)
	}
}

func readVerified(t *testing.T, path string) *Verified {
	t.Helper()
	m, err := readMark(MarkPath(path))
	if err != nil || m == nil {
		t.Fatalf("mark: %v %v", m, err)
	}
	return m.Verified
}

// A record the start does not read is damaged: the quick check lets the
// journal open, the check in the background finds the damage, and the
// mark keeps the last verified state.
func TestBackgroundCheckFindsWhatQuickCheckSkips(t *testing.T) {
	path, final := mixedJournal(t)
	victim := final[len(final)-20]
	spoil(t, path, "payments", []byte(victim))
	if _, err := Open(path, Options{FullCheck: true}); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "payments "+victim) {
		t.Fatalf("the full check: %v, want the damaged record", err)
	}
	before := readVerified(t, path)
	s, rep, err := OpenReport(path, quick)
	if err != nil {
		t.Fatalf("quick start: %v", err)
	}
	if !rep.Quick || rep.Open != 5 || rep.Jobs != 30 {
		t.Errorf("quick report: quick %v, open %d, jobs %d; want quick, 5 open, 30 jobs", rep.Quick, rep.Open, rep.Jobs)
	}
	if st := s.CheckStatus(); st.State != CheckPending || s.Damage() != nil {
		t.Fatalf("before the check in the background: %+v, %v", st, s.Damage())
	}
	if err := s.RunCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := s.CheckStatus()
	if st.State != CheckDamaged || len(st.Findings) == 0 || st.Findings[0].Key != victim {
		t.Fatalf("after the check: %+v", st)
	}
	derr := s.Damage()
	if !errors.Is(derr, ErrCorrupt) || !strings.Contains(derr.Error(), "payments "+victim) || !strings.Contains(derr.Error(), "posagent journal") {
		t.Fatalf("Damage: %v", derr)
	}
	s.Update(func(tx *Tx) error { _, err := tx.AppendEvent(event("x", time.Now())); return err })
	s.Close()
	if after := readVerified(t, path); after == nil || after.TxID != before.TxID {
		t.Errorf("the mark's verified state moved from %+v to %+v on a damaged journal", before, after)
	}
}

// Damage in what the start reads still stops the start, the file untouched.
func TestQuickCheckRefusesWhatStartReads(t *testing.T) {
	for _, tc := range []struct {
		name, bucket string
		key          []byte
		want         string
	}{
		{"an open payment", "payments", []byte("pay_00000003"), "payments pay_00000003: record unreadable"},
		{"an outbox job", "outbox", u64(2), "outbox #2: job unreadable"},
		{"the newest event", "events", u64(220), "events #220: event unreadable"},
		{"an open payment's state entry", "pay_state", []byte("pay_00000005"), "pay_state pay_00000005"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, _ := mixedJournal(t)
			spoil(t, path, tc.bucket, tc.key)
			hash := hashFile(t, path)
			_, rep, err := OpenReport(path, quick)
			var de *DamageError
			if !errors.As(err, &de) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v, want a DamageError with %q", err, tc.want)
			}
			if rep.Quick {
				t.Error("the damage is reported by the quick check, not by the full check that follows it")
			}
			if hashFile(t, path) != hash {
				t.Error("a refused journal was modified")
			}
			// What the quick check alone found.
			qrep, full, err := check.Quick(path, CheckOptions{}, readVerified(t, path), 0)
			if err != nil || full || !qrep.Damaged() {
				t.Fatalf("quick check alone: %v full %v err %v", qrep, full, err)
			}
		})
	}
}

// A journal put back older than its mark is refused on the quick path too.
func TestQuickCheckSeesRollback(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "posagent.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	takePayments(t, s, 0, 5)
	s.Close()
	older := filepath.Join(dir, "older.db")
	copyFile(t, path, older)
	s, err = Open(path, quick)
	if err != nil {
		t.Fatal(err)
	}
	takePayments(t, s, 5, 5)
	s.Close()
	copyFile(t, older, path)
	_, rep, err := OpenReport(path, quick)
	if !errors.Is(err, ErrRolledBack) || !strings.Contains(err.Error(), "went back in time") {
		t.Fatalf("Open: %v, want a rollback", err)
	}
	if !rep.Quick {
		t.Error("the rollback was found by the full check, not by the quick one")
	}
}

// The check in the background reads one transaction's state while commits
// go on, finds it sound, and moves the mark's verified state to it; the
// next start is quick and the journal still checks in full.
func TestBackgroundCheckUnderLoad(t *testing.T) {
	path, _ := mixedJournal(t)
	s, err := Open(path, quick)
	if err != nil {
		t.Fatal(err)
	}
	before := readVerified(t, path)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		takePayments(t, s, 100, 40)
	}()
	if err := s.RunCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	st := s.CheckStatus()
	if st.State != CheckVerified || st.VerifiedTxID <= before.TxID {
		t.Fatalf("after the check: %+v (verified before: txid %d)", st, before.TxID)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if v := readVerified(t, path); v == nil || v.TxID != st.VerifiedTxID {
		t.Errorf("mark: verified %+v, want txid %d", v, st.VerifiedTxID)
	}
	s, rep, err := OpenReport(path, quick)
	if err != nil || !rep.Quick {
		t.Fatalf("next start: quick %v, %v", rep != nil && rep.Quick, err)
	}
	s.Close()
	if rep, err := check.CheckFile(path, CheckOptions{}); err != nil || rep.Damaged() {
		t.Fatalf("full check: %v %v", rep, err)
	}
}

// Close stops a check in the background (the next start checks again).
func TestCloseStopsBackgroundCheck(t *testing.T) {
	path, _ := mixedJournal(t)
	s, err := Open(path, quick)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.RunCheck(ctx); err != nil {
		t.Fatal(err)
	}
	if st := s.CheckStatus(); st.State != CheckPending || st.Error != "" {
		t.Errorf("a cancelled check: %+v, want pending", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.RunCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
}
