package route

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDecide(t *testing.T) {
	for _, c := range []struct {
		waiting    int
		cartStarts bool
		want       Target
	}{
		{0, false, Nobody},
		{0, true, FromCart},
		{1, false, Waiting},
		{1, true, Ambiguous}, // a waiting payment and the cart: which sale is the customer paying?
		{2, false, Ambiguous},
		{2, true, Ambiguous},
		{7, false, Ambiguous},
	} {
		if got := Decide(c.waiting, c.cartStarts); got != c.want {
			t.Errorf("Decide(%d, %v) = %s, want %s", c.waiting, c.cartStarts, got, c.want)
		}
	}
}

func TestCanStart(t *testing.T) {
	for _, c := range []struct {
		name string
		cart *Cart
		auto bool
		want bool
	}{
		{"no cart", nil, true, false},
		{"auto-start off", &Cart{Amount: 100}, false, false},
		{"an amount", &Cart{Amount: 100}, true, true},
		{"no amount", &Cart{}, true, false},
		{"tip prompt unanswered", &Cart{Amount: 100, TipPrompt: true}, true, false},
		{"tip prompt answered", &Cart{Amount: 100, TipPrompt: true, TipChosen: true}, true, true},
	} {
		if got := c.cart.CanStart(c.auto); got != c.want {
			t.Errorf("%s: CanStart = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestDedupeWindow(t *testing.T) {
	d := NewDedupe(2 * time.Second)
	ms := time.Millisecond
	steps := []struct {
		code   string
		at     time.Duration
		repeat bool
	}{
		{"A", 0, false},
		{"A", 1999 * ms, true},  // inside the window
		{"B", 1999 * ms, false}, // another code
		{"A", 2000 * ms, false}, // the window runs from the first scan
		{"A", 3000 * ms, true},
		{"A", 1000 * ms, false}, // a reading before the last (never from a monotonic clock): not a repeat
	}
	for i, s := range steps {
		if got := d.Repeat(s.code, s.at); got != s.repeat {
			t.Errorf("step %d: Repeat(%s, %v) = %v, want %v", i, s.code, s.at, got, s.repeat)
		}
	}
}

// Dedupe forgets old codes once it holds more than maxSeen, and keeps the
// ones inside the window.
func TestDedupeIsBounded(t *testing.T) {
	d := NewDedupe(time.Second)
	for i := range 10 * maxSeen {
		d.Repeat(fmt.Sprint(i), time.Duration(i)*time.Second)
	}
	if n := len(d.seen); n > maxSeen+1 {
		t.Fatalf("%d codes remembered, want at most %d", n, maxSeen+1)
	}
	last := fmt.Sprint(10*maxSeen - 1)
	if !d.Repeat(last, time.Duration(10*maxSeen-1)*time.Second) {
		t.Fatal("the newest code was forgotten")
	}
}

func TestSlotLifetime(t *testing.T) {
	s := NewCartSlot(10 * time.Minute)
	if s.Current(0) != nil || s.Expired(0) {
		t.Fatal("a new slot holds a cart")
	}
	mustSet(t, s, Cart{Amount: 1250, Currency: "CAD"}, time.Minute)
	c := s.Current(10*time.Minute + time.Minute - 1)
	if c == nil || c.Amount != 1250 {
		t.Fatalf("cart before its end: %+v", c)
	}
	c.Amount = 1 // a copy: the slot is unchanged
	if s.Current(2*time.Minute).Amount != 1250 {
		t.Fatal("Current handed out the slot's own cart")
	}
	if s.Current(11*time.Minute) != nil || !s.Expired(11*time.Minute) {
		t.Fatal("the cart outlived its timeout")
	}
	if _, err := s.Take(c, 11*time.Minute); !errors.Is(err, ErrChanged) {
		t.Fatalf("took an expired cart: %v", err)
	}
	if err := s.Clear(); err != nil || s.Expired(11*time.Minute) {
		t.Fatalf("a cleared slot is expired (%v)", err)
	}
}

func mustSet(t *testing.T, s *CartSlot, c Cart, mono time.Duration) {
	t.Helper()
	if _, err := s.Set(c, mono); err != nil {
		t.Fatal(err)
	}
}

// Take hands the cart to one payment: only the cart it was read as (a
// cart set or updated in between is not taken), and only once. While it
// is taken nothing changes it and no other Take has it; Done ends it for
// good, Release gives the same cart back.
func TestSlotTakeOnce(t *testing.T) {
	s := NewCartSlot(time.Hour)
	mustSet(t, s, Cart{Amount: 100}, 0)
	first := s.Current(0)
	mustSet(t, s, Cart{Amount: 200}, 0) // the POS changed the amount
	if _, err := s.Take(first, 0); !errors.Is(err, ErrChanged) {
		t.Fatalf("took a cart that was replaced: %v", err)
	}
	second := s.Current(0)
	if _, err := s.Update(0, func(c *Cart) error { c.Tip = 30; return nil }); err != nil { // a tip chosen again
		t.Fatal(err)
	}
	if _, err := s.Take(second, 0); !errors.Is(err, ErrChanged) {
		t.Fatalf("took a cart whose tip changed since it was read: %v", err)
	}
	third := s.Current(0)
	got, err := s.Take(third, 0)
	if err != nil || got.Amount != 200 || got.Tip != 30 {
		t.Fatalf("Take: %+v %v", got, err)
	}
	if _, err := s.Take(third, 0); !errors.Is(err, ErrBusy) {
		t.Fatalf("a second Take of a taken cart: %v", err)
	}
	if s.Current(0) != nil || !s.Busy() || s.Expired(2*time.Hour) {
		t.Fatal("a taken cart is still offered (or expires)")
	}
	if _, err := s.Set(Cart{Amount: 999}, 0); !errors.Is(err, ErrBusy) {
		t.Fatalf("Set on a taken cart: %v", err)
	}
	if err := s.Clear(); !errors.Is(err, ErrBusy) {
		t.Fatalf("Clear on a taken cart: %v", err)
	}
	if _, err := s.Update(0, func(c *Cart) error { c.Tip = 1; return nil }); !errors.Is(err, ErrBusy) {
		t.Fatalf("Update on a taken cart: %v", err)
	}
	s.Release() // the payment was refused: the same cart is due again
	if c := s.Current(0); c == nil || c.Amount != 200 || c.Tip != 30 || s.Busy() {
		t.Fatalf("released: %+v", c)
	}
	if _, err := s.Take(third, 0); err != nil { // it is the same cart
		t.Fatalf("Take after Release: %v", err)
	}
	s.Done()
	if s.Current(0) != nil || s.Busy() {
		t.Fatal("a paid cart is still due")
	}
	if _, err := s.Take(third, 0); !errors.Is(err, ErrChanged) {
		t.Fatalf("took a paid cart: %v", err)
	}
	s.Release() // a stray Release (a scan that never took) brings nothing back
	if s.Current(0) != nil {
		t.Fatal("Release brought back a paid cart")
	}
}

// Concurrent takes of one cart: exactly one wins.
func TestSlotTakeRace(t *testing.T) {
	for range 200 {
		s := NewCartSlot(time.Hour)
		mustSet(t, s, Cart{Amount: 100}, 0)
		c := s.Current(0)
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.Take(c, 0); err == nil {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if n := wins.Load(); n != 1 {
			t.Fatalf("%d takes of one cart won", n)
		}
	}
}

func TestSlotUpdate(t *testing.T) {
	s := NewCartSlot(time.Hour)
	refuse := errors.New("refused")
	if _, err := s.Update(0, func(c *Cart) error {
		if c != nil {
			t.Error("an empty slot handed a cart to Update")
		}
		return refuse
	}); err != refuse {
		t.Fatalf("Update on an empty slot: %v", err)
	}
	if _, err := s.Update(0, func(c *Cart) error { return nil }); !errors.Is(err, ErrChanged) || s.Current(0) != nil {
		t.Fatalf("Update stored a cart into an empty slot: %v", err)
	}
	mustSet(t, s, Cart{Amount: 100}, 0)
	got, err := s.Update(0, func(c *Cart) error { c.Tip, c.TipChosen = 15, true; return nil })
	if err != nil || got.Tip != 15 || s.Current(0).Tip != 15 {
		t.Fatalf("Update: %+v %v", got, err)
	}
	// The cart changes while fn runs: the answer is to another amount.
	_, err = s.Update(0, func(c *Cart) error { mustSet(t, s, Cart{Amount: 999}, 0); c.Tip = 1; return nil })
	if !errors.Is(err, ErrChanged) || s.Current(0).Tip != 0 || s.Current(0).Amount != 999 {
		t.Fatalf("Update across a change: %v, cart %+v", err, s.Current(0))
	}
	// The cart is taken while fn runs.
	_, err = s.Update(0, func(c *Cart) error {
		if _, err := s.Take(s.Current(0), 0); err != nil {
			t.Fatal(err)
		}
		c.Tip = 2
		return nil
	})
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("Update across a Take: %v", err)
	}
	s.Release()
	if _, err := s.Update(0, func(c *Cart) error { return refuse }); err != refuse || s.Current(0).Amount != 999 || s.Current(0).Tip != 0 {
		t.Fatal("a refused update changed the cart")
	}
}
