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
	// TipApprover is the manager whose PIN approved a tip above
	// tips.max_percent ("" none); it is set by the API after checking
	// the PIN, never read from a request.
	TipApprover string `json:"-"`

	gen uint64 // the CartSlot's change count when this copy was made
}

// CanStart reports whether the cart may start a scan payment by itself
// (auto-start on): it has an amount, and a tip prompt has been answered.
func (c *Cart) CanStart(autoStart bool) bool {
	return autoStart && c != nil && c.Amount > 0 && !(c.TipPrompt && !c.TipChosen)
}

// CartSlot holds the one amount due and when it was set (monotonic).
//
// One cart becomes at most one payment: Take hands the cart to one scan
// and marks it taken; until that scan ends it with Done (the payment
// exists: the cart is gone) or Release (nothing was started: the cart is
// due again, unchanged), every change (Set, Clear, Update) is refused with
// ErrBusy and every other Take too. A change is never lost and a paid cart
// never comes back.
type CartSlot struct {
	timeout time.Duration
	// mu guards the fields below.
	mu    sync.Mutex
	cart  *Cart
	set   time.Duration
	gen   uint64 // counts the changes: a copy is of the live cart while its gen is the slot's
	taken bool   // a payment is being started from cart
}

// NewSlot returns an empty slot whose carts live for timeout.
func NewCartSlot(timeout time.Duration) *CartSlot { return &CartSlot{timeout: timeout} }

func (s *CartSlot) liveLocked(mono time.Duration) bool {
	return s.cart != nil && mono-s.set < s.timeout
}

// storeLocked makes c the cart, a change.
func (s *CartSlot) storeLocked(c Cart) *Cart {
	s.gen++
	c.gen = s.gen
	s.cart = &c
	return &c
}

// Set makes c the amount due, set at mono. It is refused (ErrBusy) while
// a payment is being started from the cart.
func (s *CartSlot) Set(c Cart, mono time.Duration) (*Cart, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taken {
		return nil, ErrBusy
	}
	s.set = mono
	out := *s.storeLocked(c)
	return &out, nil
}

// Clear removes the amount due. It is refused (ErrBusy) while a payment
// is being started from the cart.
func (s *CartSlot) Clear() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taken {
		return ErrBusy
	}
	s.cart = nil
	s.gen++
	return nil
}

// Current returns a copy of the amount due at mono, or nil (none,
// expired, or taken by a payment being started).
func (s *CartSlot) Current(mono time.Duration) *Cart {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taken || !s.liveLocked(mono) {
		return nil
	}
	c := *s.cart
	return &c
}

// Busy reports whether a payment is being started from the cart.
func (s *CartSlot) Busy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.taken
}

// Expired reports whether a cart is set, not taken, and past its lifetime
// at mono.
func (s *CartSlot) Expired(mono time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cart != nil && !s.taken && !s.liveLocked(mono)
}

// Take hands the amount due to the one payment about to start from it, if
// it is still the cart c was copied from (no change came between) and
// still live at mono. It answers ErrBusy when another payment is being
// started from it, ErrChanged when it changed, expired or is gone. The
// taker must end with Done or Release.
func (s *CartSlot) Take(c *Cart, mono time.Duration) (*Cart, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.taken:
		return nil, ErrBusy
	case c == nil || !s.liveLocked(mono) || s.cart.gen != c.gen:
		return nil, ErrChanged
	}
	s.taken = true
	out := *s.cart
	return &out, nil
}

// Done ends a Take whose payment was started: the cart is gone.
func (s *CartSlot) Done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.taken {
		s.cart, s.taken = nil, false
		s.gen++
	}
}

// Release ends a Take whose payment was refused before anything was
// recorded: the same cart is due again (nothing could change it
// meanwhile), its lifetime still running from when it was set.
func (s *CartSlot) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.taken = false
}

// Update applies fn to a copy of the live amount due at mono and stores
// the result, unless the cart changed between the copy and the store
// (ErrChanged) or is being paid (ErrBusy); fn's error (or none live: fn
// gets nil) leaves the slot as it was. It returns the stored cart.
func (s *CartSlot) Update(mono time.Duration, fn func(c *Cart) error) (*Cart, error) {
	s.mu.Lock()
	if s.taken {
		s.mu.Unlock()
		return nil, ErrBusy
	}
	gen := s.gen
	live := s.liveLocked(mono)
	var c Cart
	if live {
		c = *s.cart
	}
	s.mu.Unlock()
	if err := fn(ptrIf(live, &c)); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.taken:
		return nil, ErrBusy
	case s.gen != gen || !live:
		return nil, ErrChanged
	}
	out := *s.storeLocked(c)
	return &out, nil
}

func ptrIf(ok bool, c *Cart) *Cart {
	if !ok {
		return nil
	}
	return c
}

var (
	// ErrChanged: the amount due changed (or expired, or was cleared)
	// since it was read.
	ErrChanged = errors.New("route: the amount due changed meanwhile")
	// ErrBusy: a payment is being started from the amount due; it cannot
	// change or start another one.
	ErrBusy = errors.New("route: a payment is being started from the amount due")
)
