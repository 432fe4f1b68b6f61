package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/store/check"
)

// ExpireIdem removes the keys stored before its cut and leaves
// tombstones: an expired key reads ErrIdemExpired, a kept one its answer,
// an unknown one ErrNotFound; the journal checks sound; the retention
// compaction removes the tombstones after the cut it is given.
func TestExpireIdem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	put := func(key string, at time.Time) {
		t.Helper()
		err := s.Update(func(tx *Tx) error {
			return tx.PutIdem(key, &Idem{Hash: "h-" + key, PaymentID: "pay_" + key, Status: 201, CreatedAt: at})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	read := func(key string) (*Idem, error) {
		var r *Idem
		err := s.View(func(tx *Tx) (err error) { r, err = tx.Idem(key); return err })
		return r, err
	}
	put("old", t0)
	put("new", t0.Add(2*time.Hour))
	if n, err := s.ExpireIdem(t0); err != nil || n != 0 {
		t.Fatalf("nothing older than the oldest: %d, %v", n, err)
	}
	if n, err := s.ExpireIdem(t0.Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("expire: %d, %v", n, err)
	}
	if _, err := read("old"); !errors.Is(err, ErrIdemExpired) {
		t.Fatalf("expired key: %v", err)
	}
	if r, err := read("new"); err != nil || r.PaymentID != "pay_new" {
		t.Fatalf("kept key: %+v %v", r, err)
	}
	if _, err := read("never"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
	// The oldest stamp moved on: the same cut reads nothing again.
	var oldest time.Time
	s.View(func(tx *Tx) error { return oldest.UnmarshalBinary(tx.tx.Bucket(bMeta).Get(kIdemOldest)) })
	if !oldest.Equal(t0.Add(2 * time.Hour)) {
		t.Fatalf("oldest kept %v", oldest)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if rep, err := check.CheckFile(path, CheckOptions{}); err != nil || rep.Damaged() {
		t.Fatalf("check: %+v %v", rep, err)
	}
	s = open(t, path, Options{})
	// Retention past the day the key expired removes its tombstone.
	if _, err := s.Compact(t0.Add(72 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := read("old"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after retention: %v", err)
	}
}
