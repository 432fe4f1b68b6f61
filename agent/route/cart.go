package route

import (
	"errors"
	"sync"
	"time"
)

// Cart is the amount due set by the POS (PUT /v1/cart). It expires the
// slot's timeout after it was set.
type Cart struct {
	Amount    int64      `json:"amount"`
	Currency  string     `json:"currency"`
	Reference string     `json:"reference,omitempty"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Tip is added to Amount when the cart starts a payment.
	Tip int64 `json:"tip,omitempty"`
	// TipPrompt asks the customer to choose a tip on the display first
	// (TipChoices, percent of Amount, and "no tip"); TipChosen is set once
	// the customer (or the cashier) chose, through POST /v1/cart/tip.
	TipPrompt  bool  `json:"tip_prompt,omitempty"`
	TipChoices []int `json:"tip_choices,omitempty"`
	TipChosen  bool  `json:"tip_chosen,omitempty"`
}

// CanStart reports whether the cart may start a scan payment by itself
// (auto-start on): it has an amount, and a tip prompt has been answered.
func (c *Cart) CanStart(autoStart bool) bool {
	return autoStart && c != nil && c.Amount > 0 && !(c.TipPrompt && !c.TipChosen)
}

// Slot holds the one amount due and when it was set (monotonic).
type Slot struct {
	timeout time.Duration
	// mu guards cart and set.
	mu   sync.Mutex
	cart *Cart
	set  time.Duration
}

// NewSlot returns an empty slot whose carts live for timeout.
func NewSlot(timeout time.Duration) *Slot { return &Slot{timeout: timeout} }

func (s *Slot) liveLocked(mono time.Duration) bool {
	return s.cart != nil && mono-s.set < s.timeout
}

// Set makes c the amount due, set at mono.
func (s *Slot) Set(c Cart, mono time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cart, s.set = &c, mono
}

// Clear removes the amount due.
func (s *Slot) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cart = nil
}

// Current returns a copy of the amount due at mono, or nil (none, or
// expired).
func (s *Slot) Current(mono time.Duration) *Cart {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.liveLocked(mono) {
		return nil
	}
	c := *s.cart
	return &c
}

// Expired reports whether a cart is set and past its lifetime at mono.
func (s *Slot) Expired(mono time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cart != nil && !s.liveLocked(mono)
}

// Take removes the amount due if it is still the one c was copied from
// (the same ExpiresAt: no Set came between), for a payment to start from
// it. It reports whether it did.
func (s *Slot) Take(c *Cart) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cart == nil || c == nil || s.cart.ExpiresAt != c.ExpiresAt {
		return false
	}
	s.cart = nil
	return true
}

// Restore puts c back when the slot is still empty (a payment started
// from it failed; the amount stays due for the next attempt). Its lifetime
// keeps running from when it was first set.
func (s *Slot) Restore(c *Cart) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cart == nil {
		s.cart = c
	}
}

// Update applies fn to a copy of the live amount due at mono and stores
// the result, unless the cart changed between the copy and the store;
// fn's error (or none live) leaves the slot as it was. It returns the
// stored cart.
func (s *Slot) Update(mono time.Duration, fn func(c *Cart) error) (*Cart, error) {
	s.mu.Lock()
	cur := s.cart
	live := s.liveLocked(mono)
	var c Cart
	if live {
		c = *cur
	}
	s.mu.Unlock()
	if err := fn(ptrIf(live, &c)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cart != cur {
		return nil, ErrChanged
	}
	cp := c
	s.cart = &cp
	return &c, nil
}

func ptrIf(ok bool, c *Cart) *Cart {
	if !ok {
		return nil
	}
	return c
}

// ErrChanged is Update's answer when the amount due changed meanwhile.
var ErrChanged = errors.New("route: the amount due changed meanwhile")
