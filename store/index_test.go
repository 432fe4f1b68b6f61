package store

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/posagent/posagent/store/check"
)

// The payment indexes follow every change, answer by state in id order
// both ways, are checked by CheckFile, and are built for a journal that
// has none.
func TestPaymentIndexes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC)
	put := func(i int, st State) {
		t.Helper()
		p := &Payment{ID: fmt.Sprintf("pay_%04d", i), OrderID: fmt.Sprintf("P%04d", i), Mode: "scan", Amount: 1, Currency: "CAD", State: st, CreatedAt: at, UpdatedAt: at}
		if err := s.Update(func(tx *Tx) error { return tx.PutPayment(p) }); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 10 {
		put(i, Processing)
	}
	for i := range 10 {
		switch {
		case i%3 == 0:
			put(i, Failed)
		case i%3 == 1:
			put(i, Succeeded)
		}
	}
	ids := func(st State, reverse bool, after string) []string {
		var out []string
		s.View(func(tx *Tx) error {
			return tx.PaymentsIn(st, reverse, after, func(p *Payment) (bool, error) { out = append(out, p.ID); return true, nil })
		})
		return out
	}
	if got, want := ids(Failed, false, ""), []string{"pay_0000", "pay_0003", "pay_0006", "pay_0009"}; !slices.Equal(got, want) {
		t.Errorf("failed, oldest first: %v, want %v", got, want)
	}
	if got, want := ids(Failed, true, "pay_0006"), []string{"pay_0003", "pay_0000"}; !slices.Equal(got, want) {
		t.Errorf("failed, newest first after pay_0006: %v, want %v", got, want)
	}
	if got, want := ids(Processing, true, ""), []string{"pay_0008", "pay_0005", "pay_0002"}; !slices.Equal(got, want) {
		t.Errorf("processing, newest first: %v, want %v", got, want)
	}
	var counts map[State]int
	s.View(func(tx *Tx) error { counts = tx.Counts(); return nil })
	if counts[Failed] != 4 || counts[Succeeded] != 3 || counts[Processing] != 3 {
		t.Errorf("counts %v", counts)
	}
	if res, err := s.Compact(at.Add(time.Hour)); err != nil || res.Payments != 7 {
		t.Fatalf("compact: %+v %v", res, err)
	}
	var openIDs []string
	s.View(func(tx *Tx) error {
		counts = tx.Counts()
		return tx.OpenPayments(func(p *Payment) error { openIDs = append(openIDs, p.ID); return nil })
	})
	if counts[Failed] != 0 || counts[Processing] != 3 || len(openIDs) != 3 {
		t.Errorf("after compaction: counts %v, open %v", counts, openIDs)
	}
	// An older journal: no indexes. Open builds them.
	s.Update(func(tx *Tx) error {
		tx.tx.DeleteBucket(bByState)
		tx.tx.DeleteBucket(bPayState)
		return tx.tx.Bucket(bMeta).Delete(kIndex)
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := check.CheckFile(path, CheckOptions{})
	if err != nil || rep.Damaged() {
		t.Fatalf("a journal without indexes: %v %v", err, rep.Findings)
	}
	if s, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	if got := ids(Processing, false, ""); len(got) != 3 {
		t.Errorf("after the rebuild: %v", got)
	}
	// A wrong counter is damage the check finds.
	s.Update(func(tx *Tx) error { return tx.tx.Bucket(bMeta).Put([]byte(kCount+"failed"), u64(9)) })
	s.Close()
	if rep, _ = check.CheckFile(path, CheckOptions{}); !rep.Damaged() {
		t.Errorf("a wrong counter passes the check: %v", rep.Findings)
	}
}

func TestIDAt(t *testing.T) {
	at := time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC)
	id := IDAt(at)
	if len(id) != 17 || IDAt(at.Add(-time.Nanosecond)) >= id || IDAt(at.Add(time.Nanosecond)) <= id {
		t.Errorf("IDAt(%v) = %q", at, id)
	}
}
