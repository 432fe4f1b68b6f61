package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// Concurrent changes share commits; each caller gets its own answer, a
// change that fails (with or without writing) leaves no trace, and
// OnCommit sees every event once, in sequence order.
func TestGroupCommit(t *testing.T) {
	var mu sync.Mutex
	var seen []uint64
	s := open(t, "", Options{OnCommit: func(evs []Event) {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range evs {
			seen = append(seen, e.Seq)
		}
	}})
	now := time.Now()
	errBoom := errors.New("boom")
	const n = 300
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("pay_%04d", i)
			errs[i] = s.Update(func(tx *Tx) error {
				if i%7 == 3 {
					return errBoom // before any write
				}
				p := &Payment{ID: id, OrderID: "P" + id, Mode: "scan", Amount: 1, Currency: "CAD", State: Processing}
				if err := tx.PutPayment(p); err != nil {
					return err
				}
				if _, err := tx.AppendEventWith(p, event("payment.updated", now)); err != nil {
					return err
				}
				if i%11 == 5 {
					return errBoom // after writing: its writes must vanish
				}
				return nil
			})
		}()
	}
	wg.Wait()
	want := 0
	for i, err := range errs {
		id := fmt.Sprintf("pay_%04d", i)
		failing := i%7 == 3 || i%11 == 5
		if failing != errors.Is(err, errBoom) || (!failing && err != nil) {
			t.Fatalf("change %d: %v", i, err)
		}
		err = s.View(func(tx *Tx) error { _, err := tx.Payment(id); return err })
		if failing != errors.Is(err, ErrNotFound) {
			t.Errorf("payment %s after its change (failing %v): %v", id, failing, err)
		}
		if !failing {
			want++
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != want {
		t.Fatalf("OnCommit saw %d events, want %d", len(seen), want)
	}
	for i, seq := range seen {
		if seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d: not in order or a gap (%v)", i, seq, seen[:i+1])
		}
	}
}

// A change sees the uncommitted events of the changes before it in its
// transaction, and the value each was appended with.
func TestUncommitted(t *testing.T) {
	s := open(t, "", Options{})
	err := s.Update(func(tx *Tx) error {
		if _, err := tx.AppendEventWith("first", event("x", time.Now())); err != nil {
			return err
		}
		u := tx.Uncommitted()
		if len(u) != 1 || u[0].Value != "first" {
			t.Errorf("Uncommitted = %+v", u)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
