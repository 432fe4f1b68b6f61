package route

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/paycode"
)

// Scan is one code as the engine takes it, whatever read it: a hardware
// scanner (the daemon converts a scanner.Scan, which has the same fields),
// the Android bridge, POST /v1/scans.
type Scan struct {
	Code      string    // the code as read; an AIM prefix ("]Q1") may still be on it
	Symbology string    // the AIM identifier when the reader sent one ("]Q1"), else ""
	Device    string    // the configured scanner name ("counter"), "api", "bridge", ...
	At        time.Time // when the code was read
}

// ScanInfo is a scan in an event (masked when it is a payment code).
type ScanInfo struct {
	Code      string `json:"code"`
	Symbology string `json:"symbology,omitempty"`
	Device    string `json:"device,omitempty"`
}

// The kinds of the events Intake journals.
const (
	KindScanBarcode = "scan.barcode" // a code that is not a payment code, for the POS
	KindScanIgnored = "scan.ignored" // a payment code nothing took: nothing charged
	KindCartUpdated = "cart.updated" // the amount due was set, cleared, paid or its tip chosen
	// KindScanRefused: a payment code that was not charged because it
	// could not be routed safely (already used, two payments could take it).
	KindScanRefused = "scan.refused"
)

// Event is what Intake journals; the engine writes it as its own journal
// event of the same kind.
type Event struct {
	Kind   string
	At     time.Time
	Scan   *ScanInfo
	Cart   *Cart
	Reason string
	Error  *operr.Error // why a scan was refused (scan.refused)
}

// Engine is what Intake needs of the payment engine (package agent
// implements it); every error it returns is the engine's own, an
// *operr.Error for a refusal.
type Engine interface {
	// AwaitingCode lists the scan payments waiting for a code, oldest
	// first, cancelling those that waited too long. It may write: never
	// called with a lock held.
	AwaitingCode() []string
	// GiveCode gives code to the waiting payment id, without waiting for
	// the gateway's answer.
	GiveCode(ctx context.Context, id, code string) error
	// StartPayment creates the scan payment of the cart c (its amount,
	// tip, reference and tip approver) charged with code, and returns its id.
	StartPayment(ctx context.Context, c *Cart, code string) (id string, err error)
	// Journal appends ev to the journal, in a transaction of its own.
	Journal(ev Event) error
	// AuditStart puts on the audit trail the payment id a scan (s, code
	// masked) started from the cart c: no API request asked for it.
	AuditStart(id string, c *Cart, s *ScanInfo) error
}

// IntakeOptions configure an Intake; every field is required but Scanned
// and Step.
type IntakeOptions struct {
	Engine    Engine
	Currency  string // the merchant account's currency, ISO 4217
	MaxAmount int64  // the most a payment may be, in cents
	// AutoStart: a payment code with no payment waiting starts one for
	// the amount due (scanner.auto_start).
	AutoStart bool
	// DedupWindow: the same code again within it is the same scan.
	DedupWindow time.Duration
	// CartTimeout: how long an amount due stays.
	CartTimeout time.Duration
	// AwaitCodeTimeout: how long a scan payment waits for its code (Run
	// checks a few times per timeout).
	AwaitCodeTimeout time.Duration
	// Tips are the lane's tip rules (SetTipChoices changes the suggestions).
	Tips Tips
	// CheckReference validates the reference of a cart (the gateway's
	// rule for a sale number).
	CheckReference func(ref string) error
	Now            func() time.Time                     // the wall clock, for events and the cart's expiry
	Mono           func() time.Duration                 // the monotonic reading, for dedupe and lifetimes
	After          func(time.Duration) <-chan time.Time // Run's ticks
	// Scanned tells the device registry a device read a code (nil: no registry).
	Scanned func(device string, at time.Time)
	// StoreError counts and logs a journal error nobody else is told of.
	StoreError func(what string, err error)
	// Step, nil outside tests, is called as a scan that starts a payment
	// from the cart reads it ("cart-read") and takes it ("cart-taken").
	Step   func(step string)
	Logger *slog.Logger
}

// Intake applies where a scan goes: it takes every scan (HandleScan),
// holds the amount due the POS sets (SetCart, ClearCart, CurrentCart) and
// its tip prompt's answer (ChooseTip), and the lane's tip rules. It acts
// on payments only through its Engine. Create with NewIntake; Run cancels
// payments that waited too long for a code and clears an expired cart.
type Intake struct {
	o      IntakeOptions
	eng    Engine
	cart   *CartSlot            // the amount due
	cartMu sync.Mutex           // orders the cart's changes with their cart.updated events
	dedupe *Dedupe              // repeated scans
	tips   atomic.Pointer[Tips] // the tip rules (SetTipChoices changes their suggestions live)
}

// NewIntake returns an Intake with an empty cart.
func NewIntake(o IntakeOptions) *Intake {
	in := &Intake{o: o, eng: o.Engine, cart: NewCartSlot(o.CartTimeout), dedupe: NewDedupe(o.DedupWindow)}
	t := o.Tips
	t.Choices = append([]int(nil), t.Choices...)
	in.tips.Store(&t)
	return in
}

// HandleScan routes one scan (a hardware scanner, a bridge, POST /v1/scans):
//
//   - the same code again within DedupWindow (monotonic) is the same scan: ignored;
//   - a code that is not a payment code -> a scan.barcode event for the
//     POS; it never reaches the gateway;
//   - a payment code goes to the one scan payment waiting for a code (the
//     one the customer display shows), or, with none waiting, AutoStart
//     and an amount due set by the POS (PUT /v1/cart), starts a scan
//     payment for that amount;
//   - when more than one of those could take it, or the code was already
//     used by another payment, the scan is refused: a scan.refused event
//     (code masked) and an error; nothing is charged;
//   - with nothing to take it, a scan.ignored event: nothing is charged.
func (in *Intake) HandleScan(ctx context.Context, s Scan) error {
	if err := paycode.CheckInput(s.Code); err != nil { // one rule, however the code arrives
		return operr.Errorf(operr.CodeInvalidCode, "scan %v; nothing was recorded", err)
	}
	code := strings.TrimSpace(s.Code)
	if code == "" {
		return operr.Errorf(operr.CodeInvalidCode, "empty scan")
	}
	// A payment code the scanner wrapped (an AIM prefix such as "]Q1",
	// invisible or bidi characters) is the same payment code.
	if bare, sym, ok := paycode.Bare(code); ok {
		code = bare
		if s.Symbology == "" {
			s.Symbology = sym
		}
	}
	now := in.o.Now()
	if in.dedupe.Repeat(code, in.o.Mono()) {
		in.o.Logger.Debug("agent: duplicate scan suppressed", "code", paycode.Mask(code), "device", s.Device)
		return nil
	}
	if in.o.Scanned != nil {
		in.o.Scanned(s.Device, now)
	}

	if _, ok := paycode.Classify(code); !ok {
		// A payment code wrapped in a symbology prefix, split by invisible
		// characters or inside a longer string is masked here too.
		return in.eng.Journal(Event{Kind: KindScanBarcode, At: now, Scan: &ScanInfo{Code: paycode.MaskIn(code), Symbology: s.Symbology, Device: s.Device}})
	}
	masked := &ScanInfo{Code: paycode.Mask(code), Symbology: s.Symbology, Device: s.Device}
	waiting := in.eng.AwaitingCode()
	cart := in.CurrentCart()              // nil once expired
	auto := cart.CanStart(in.o.AutoStart) // a tip prompt waits for its answer
	switch Decide(len(waiting), auto) {
	case Ambiguous:
		err := operr.Errorf(operr.CodeScanAmbiguous, "%d payments could take this code (%s); nothing was charged: cancel the one the customer is not paying",
			len(waiting)+oneIf(auto), describeCandidates(waiting, auto, cart))
		return in.refuse(masked, err)
	case Waiting:
		err := in.eng.GiveCode(ctx, waiting[0], code) // a scanner never waits for the gateway
		var oe *operr.Error
		if errors.As(err, &oe) && (oe.Code == operr.CodeCodeAlreadyUsed || oe.Code == operr.CodeClockImplausible) {
			return in.refuse(masked, err)
		}
		if errors.As(err, &oe) && oe.Kind == operr.KindWrongState {
			return in.eng.Journal(Event{Kind: KindScanIgnored, At: now, Scan: masked, Reason: "the payment stopped waiting for a code: " + oe.Message})
		}
		return err
	case FromCart:
		return in.scanCart(ctx, masked, code, cart)
	}
	if in.o.AutoStart && len(waiting) == 0 && in.cart.Busy() {
		// Another code is starting a payment from the cart this moment.
		return in.refuse(masked, operr.Errorf(operr.CodeCartBusy, "another payment code is starting a payment for the amount due; nothing was charged for this one"))
	}
	return in.eng.Journal(Event{Kind: KindScanIgnored, At: now, Scan: masked, Reason: "no payment is waiting for a code"})
}

// scanCart starts the scan payment of the amount due seen (CurrentCart)
// with code. The cart is taken first, atomically: one cart becomes at most
// one payment. A scan whose cart changed since it was read (a new amount,
// a tip chosen again, expired), or that another scan took, is refused and
// charges nothing. While the payment is recorded the cart cannot change
// (SetCart, ClearCart and ChooseTip answer cart_busy): what is charged
// is the cart as taken. A payment refused before anything was recorded
// gives the same cart back; one that may be recorded never does.
func (in *Intake) scanCart(ctx context.Context, masked *ScanInfo, code string, seen *Cart) error {
	in.step("cart-read")
	c, err := in.cart.Take(seen, in.o.Mono())
	if errors.Is(err, ErrBusy) {
		return in.refuse(masked, operr.Errorf(operr.CodeCartBusy, "another payment code is starting a payment for the amount due; nothing was charged for this one"))
	}
	if err != nil {
		return in.refuse(masked, operr.Errorf(operr.CodeCartChanged, "the amount due changed as the code was scanned; nothing was charged: check the amount and scan again"))
	}
	in.step("cart-taken")
	id, err := in.eng.StartPayment(ctx, c, code)
	var oe *operr.Error
	if err != nil && errors.As(err, &oe) {
		// Refused before the transaction committed (validation, a used
		// code, the clock): nothing was recorded or sent.
		in.cart.Release()
		if oe.Kind.Refusal() || oe.Code == operr.CodeClockImplausible {
			return in.refuse(masked, err)
		}
		return err
	}
	in.cartMu.Lock()
	defer in.cartMu.Unlock()
	in.cart.Done() // a store error too: the payment may be on disk, so the cart is not offered again
	if err != nil {
		in.o.Logger.Error("agent: the payment for the amount due may not be recorded; the cart is cleared: set it again if no payment shows", "err", err)
		if jerr := in.eng.Journal(Event{Kind: KindCartUpdated, At: in.o.Now(), Cart: &Cart{Currency: in.o.Currency}}); jerr != nil {
			in.o.StoreError("cart cleared event", jerr)
		}
		return err
	}
	in.o.Logger.Info("agent: a scan started a payment for the amount due", "id", id, "amount", c.Amount, "tip", c.Tip, "code", masked.Code)
	// A payment no API request asked for is on the audit trail too: the
	// scanner that started it, the amount and the tip charged.
	if err := in.eng.AuditStart(id, c, masked); err != nil {
		in.o.StoreError("scan audit", err)
	}
	return in.eng.Journal(Event{Kind: KindCartUpdated, At: in.o.Now(), Cart: &Cart{Currency: in.o.Currency}})
}

// step is the test hook IntakeOptions.Step.
func (in *Intake) step(name string) {
	if in.o.Step != nil {
		in.o.Step(name)
	}
}

func describeCandidates(waiting []string, auto bool, cart *Cart) string {
	parts := append([]string(nil), waiting...)
	if auto {
		parts = append(parts, fmt.Sprintf("the cart's amount due %d", cart.Amount))
	}
	return strings.Join(parts, ", ")
}

// refuse journals a scan.refused event (the POS and the cashier see it)
// and returns err.
func (in *Intake) refuse(s *ScanInfo, err error) error {
	var oe *operr.Error
	errors.As(err, &oe)
	ev := Event{Kind: KindScanRefused, At: in.o.Now(), Scan: s}
	if oe != nil {
		ev.Error, ev.Reason = oe, oe.Message
	}
	in.o.Logger.Warn("agent: scan refused; nothing charged", "code", s.Code, "device", s.Device, "err", err)
	if jerr := in.eng.Journal(ev); jerr != nil {
		in.o.StoreError("scan refused event", jerr)
	}
	return err
}

// oneIf counts a condition: 1 when b holds, else 0.
func oneIf(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Run cancels payments that waited AwaitCodeTimeout for a code and
// clears an expired cart, checking a few times per timeout, until ctx
// ends (then it returns nil).
func (in *Intake) Run(ctx context.Context) error {
	every := max(min(in.o.AwaitCodeTimeout, in.o.CartTimeout)/8, time.Millisecond)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-in.o.After(every):
		}
		in.eng.AwaitingCode()
		if in.cartExpired() {
			var oe *operr.Error
			if err := in.ClearCart(); err != nil && !(errors.As(err, &oe) && oe.Code == operr.CodeCartBusy) { // a scan is paying it
				in.o.StoreError("clear expired cart", err)
			}
		}
	}
}
