package display

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// DefaultHold is how long a paid, failed or cancelled screen stays up before
// the display returns to idle.
const DefaultHold = 8 * time.Second

// Sink is something that shows a Screen: a pole display, a PNG file, a
// framebuffer. Show is called from one goroutine at a time, in order, each
// time the screen changes.
type Sink interface {
	Show(Screen) error
}

// ControllerOptions configures a Controller. Zero values are the defaults.
type ControllerOptions struct {
	Hold   time.Duration    // final screens go back to idle after this (default DefaultHold)
	Now    func() time.Time // the clock (default time.Now)
	Sinks  []Sink           // updated on every change
	Logger *slog.Logger     // sink errors are logged here (default: discard)
}

// Controller turns the agent's events into the current Screen and keeps its
// sinks up to date. Feed it with Apply; run Run so final screens return to
// idle after the hold. It is safe for concurrent use.
type Controller struct {
	hold time.Duration
	now  func() time.Time
	log  *slog.Logger
	wake chan struct{} // Run re-arms its timer when this fires

	// show serialises sink updates so sinks see changes in order.
	show  sync.Mutex
	sinks []Sink
	shown Screen // the screen the sinks were last given; guarded by show

	mu        sync.Mutex // mu guards the fields below
	screen    Screen
	holdUntil time.Time // when a final screen goes back to idle; zero when none
	active    string    // id of the payment shown while it is not final
	seq       uint64    // the highest event sequence applied
}

// NewController returns a Controller showing the idle screen.
func NewController(o ControllerOptions) *Controller {
	c := &Controller{
		hold:   o.Hold,
		now:    o.Now,
		log:    o.Logger,
		sinks:  append([]Sink(nil), o.Sinks...),
		wake:   make(chan struct{}, 1),
		screen: Screen{Kind: KindIdle},
		shown:  Screen{Kind: KindIdle},
	}
	if c.hold <= 0 {
		c.hold = DefaultHold
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// Hold returns the configured hold of final screens.
func (c *Controller) Hold() time.Duration { return c.hold }

// AddSink adds a sink; it first shows the current screen.
func (c *Controller) AddSink(s Sink) {
	c.show.Lock()
	defer c.show.Unlock()
	c.sinks = append(c.sinks, s)
	if err := s.Show(c.shown); err != nil {
		c.log.Warn("display: sink", "err", err)
	}
}

// Current returns the screen to show now. A final screen whose hold has
// passed reads as idle even before Run has noticed.
func (c *Controller) Current() Screen {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.holdUntil.IsZero() && !c.now().Before(c.holdUntil) {
		return Screen{Kind: KindIdle}
	}
	return c.screen
}

// Snapshot returns, atomically, the screen to show now, when a final
// screen's hold ends (zero otherwise) and the highest event sequence applied.
func (c *Controller) Snapshot() (s Screen, holdUntil time.Time, seq uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	s = c.screenLocked(now)
	if s.Final() {
		holdUntil = c.holdUntil
	}
	return s, holdUntil, c.seq
}

// Now returns the controller's clock reading.
func (c *Controller) Now() time.Time { return c.now() }

// Seq returns the highest event sequence number applied (0 when the events
// carried none).
func (c *Controller) Seq() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seq
}

// Event kinds the controller understands; others are ignored.
const (
	EventPaymentUpdated = "payment.updated"
	EventCartUpdated    = "cart.updated"
)

// ErrBadEvent wraps every decoding failure of Apply.
var ErrBadEvent = errors.New("display: bad event")

// Cart is the payload of a cart.updated event: the amount due set by the POS.
type Cart struct {
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	Reference string `json:"reference"`
	Tip       int64  `json:"tip"`
}

// Apply feeds one event. data is either the whole SSE data object
// ({"seq":..,"kind":..,"payment":{..}}) or just its payload (the payment or
// the cart object). Kinds other than payment.updated and cart.updated are
// ignored. Decoding errors wrap ErrBadEvent and change nothing.
func (c *Controller) Apply(kind string, data json.RawMessage) error {
	var env struct {
		Seq     uint64          `json:"seq"`
		Payment json.RawMessage `json:"payment"`
		Cart    json.RawMessage `json:"cart"`
	}
	switch kind {
	case EventPaymentUpdated, EventCartUpdated:
	default:
		return nil
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrBadEvent, kind, err)
	}
	c.show.Lock()
	defer c.show.Unlock()
	switch kind {
	case EventPaymentUpdated:
		body := env.Payment
		if len(body) == 0 {
			body = data
		}
		var p Payment
		if err := json.Unmarshal(body, &p); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBadEvent, kind, err)
		}
		if p.ID == "" || p.State == "" {
			return fmt.Errorf("%w: %s: payment without id or state", ErrBadEvent, kind)
		}
		c.update(env.Seq, func(now time.Time) (Screen, bool) { return c.paymentScreen(p, now) })
	case EventCartUpdated:
		body := env.Cart
		if len(body) == 0 {
			body = data
		}
		var cart Cart
		if err := json.Unmarshal(body, &cart); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBadEvent, kind, err)
		}
		if cart.Amount < 0 {
			return fmt.Errorf("%w: %s: negative amount %d", ErrBadEvent, kind, cart.Amount)
		}
		c.update(env.Seq, func(now time.Time) (Screen, bool) { return c.cartScreen(cart, now) })
	}
	return nil
}

// update runs decide under mu and, when the screen changed, tells the
// sinks. The caller holds c.show.
func (c *Controller) update(seq uint64, decide func(now time.Time) (Screen, bool)) {
	c.mu.Lock()
	if seq > c.seq {
		c.seq = seq
	}
	now := c.now()
	c.normalizeLocked(now)
	next, ok := decide(now)
	if ok {
		c.screen = next
		c.holdUntil = time.Time{}
		if next.Final() {
			c.holdUntil = now.Add(c.hold)
		}
	}
	after := c.screenLocked(now)
	c.mu.Unlock()
	if ok {
		c.poke()
	}
	c.notify(after)
}

// normalizeLocked turns a final screen whose hold has passed into idle. With mu held.
func (c *Controller) normalizeLocked(now time.Time) {
	if !c.holdUntil.IsZero() && !now.Before(c.holdUntil) {
		c.holdUntil = time.Time{}
		c.screen = Screen{Kind: KindIdle}
	}
}

// screenLocked is Current with mu held.
func (c *Controller) screenLocked(now time.Time) Screen {
	if !c.holdUntil.IsZero() && !now.Before(c.holdUntil) {
		return Screen{Kind: KindIdle}
	}
	return c.screen
}

// paymentScreen decides whether an update of p takes the screen. With mu held.
//
// A payment that starts (awaiting_code, processing, queued) always takes the
// screen: it is the sale in front of the customer. Updates of another
// payment while one is active are ignored (a background reconcile of an old
// in_doubt payment must not cover the current sale), as are final updates of
// a payment never shown when they are older than the hold.
func (c *Controller) paymentScreen(p Payment, now time.Time) (Screen, bool) {
	s := ScreenFor(p, now)
	mine := p.ID == c.screen.PaymentID && c.screen.PaymentID != ""
	activeOther := c.active != "" && c.active != p.ID
	switch {
	case mine:
	case p.State == stateAwaitingCode || p.State == stateProcessing || p.State == stateQueued:
	case activeOther:
		return Screen{}, false
	case finalState(p.State):
		// Not on screen and nothing active: show it only if it just happened.
		if !p.UpdatedAt.IsZero() && now.Sub(p.UpdatedAt) >= c.hold {
			return Screen{}, false
		}
	}
	if finalState(p.State) {
		c.active = ""
	} else {
		c.active = p.ID
	}
	return s, true
}

// cartScreen decides what a cart update shows. With mu held. While a
// payment is active the cart waits (the customer is paying); an amount of 0
// clears an amount-due screen back to idle.
func (c *Controller) cartScreen(cart Cart, now time.Time) (Screen, bool) {
	if c.active != "" {
		return Screen{}, false
	}
	cur := c.screenLocked(now)
	if cart.Amount == 0 {
		if cur.Kind == KindAmountDue {
			return Screen{Kind: KindIdle}, true
		}
		return Screen{}, false
	}
	return Screen{Kind: KindAmountDue, Amount: cart.Amount, Tip: cart.Tip, Currency: cart.Currency, Reference: cart.Reference}, true
}

// notify shows s on every sink unless they already show it. The caller
// holds c.show.
func (c *Controller) notify(s Screen) {
	if s.Equal(c.shown) {
		return
	}
	c.shown = s
	for _, sk := range c.sinks {
		if err := sk.Show(s); err != nil {
			c.log.Warn("display: sink", "kind", s.Kind, "err", err)
		}
	}
}

func (c *Controller) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// Run returns final screens to idle when their hold ends, telling the sinks.
// It returns nil when ctx ends (cancellation is not an error).
func (c *Controller) Run(ctx context.Context) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		c.mu.Lock()
		until := c.holdUntil
		c.mu.Unlock()
		var fire <-chan time.Time
		if !until.IsZero() {
			d := until.Sub(c.now())
			if d <= 0 {
				c.expire()
				continue
			}
			if timer == nil {
				timer = time.NewTimer(d)
			} else {
				timer.Reset(d)
			}
			fire = timer.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.wake:
		case <-fire:
		}
	}
}

// expire turns a final screen whose hold has passed into idle.
func (c *Controller) expire() {
	c.show.Lock()
	defer c.show.Unlock()
	c.mu.Lock()
	c.normalizeLocked(c.now())
	s := c.screen
	c.mu.Unlock()
	c.notify(s)
}
