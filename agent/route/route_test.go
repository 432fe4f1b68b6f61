package route

import (
	"errors"
	"fmt"
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
	s := NewSlot(10 * time.Minute)
	if s.Current(0) != nil || s.Expired(0) {
		t.Fatal("a new slot holds a cart")
	}
	s.Set(Cart{Amount: 1250, Currency: "CAD"}, time.Minute)
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
	s.Clear()
	if s.Expired(11 * time.Minute) {
		t.Fatal("a cleared slot is expired")
	}
}

// Take removes only the cart a payment was started from; a cart set in
// between stays. Restore puts a cart back only into an empty slot.
func TestSlotTakeAndRestore(t *testing.T) {
	s := NewSlot(time.Hour)
	exp1, exp2 := time.Unix(1, 0), time.Unix(2, 0)
	s.Set(Cart{Amount: 100, ExpiresAt: &exp1}, 0)
	first := s.Current(0)
	s.Set(Cart{Amount: 200, ExpiresAt: &exp2}, 0) // the POS changed the amount
	if s.Take(first) {
		t.Fatal("took a cart that was replaced")
	}
	second := s.Current(0)
	if !s.Take(second) || s.Current(0) != nil {
		t.Fatal("did not take the cart the payment started from")
	}
	s.Restore(second)
	if c := s.Current(0); c == nil || c.Amount != 200 {
		t.Fatalf("restored: %+v", c)
	}
	s.Restore(first) // not empty: stays
	if s.Current(0).Amount != 200 {
		t.Fatal("Restore overwrote a cart")
	}
}

func TestSlotUpdate(t *testing.T) {
	s := NewSlot(time.Hour)
	refuse := errors.New("refused")
	if _, err := s.Update(0, func(c *Cart) error {
		if c != nil {
			t.Error("an empty slot handed a cart to Update")
		}
		return refuse
	}); err != refuse {
		t.Fatalf("Update on an empty slot: %v", err)
	}
	s.Set(Cart{Amount: 100}, 0)
	got, err := s.Update(0, func(c *Cart) error { c.Tip, c.TipChosen = 15, true; return nil })
	if err != nil || got.Tip != 15 || s.Current(0).Tip != 15 {
		t.Fatalf("Update: %+v %v", got, err)
	}
	// The cart changes while fn runs: the answer is to another amount.
	_, err = s.Update(0, func(c *Cart) error { s.Set(Cart{Amount: 999}, 0); c.Tip = 1; return nil })
	if !errors.Is(err, ErrChanged) || s.Current(0).Tip != 0 || s.Current(0).Amount != 999 {
		t.Fatalf("Update across a change: %v, cart %+v", err, s.Current(0))
	}
	if _, err := s.Update(0, func(c *Cart) error { return refuse }); err != refuse || s.Current(0).Amount != 999 {
		t.Fatal("a refused update changed the cart")
	}
}
