package agent

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/agent/route"
	"github.com/posagent/posagent/paycode"
	"github.com/posagent/posagent/store"
)

// Scan is one code as the engine takes it, whatever read it: a hardware
// scanner (the caller converts a scanner.Scan, which has the same fields),
// the Android bridge, POST /v1/scans.
type Scan struct {
	Code      string    // the code as read; an AIM prefix ("]Q1") may still be on it
	Symbology string    // the AIM identifier when the reader sent one ("]Q1"), else ""
	Device    string    // the configured scanner name ("counter"), "api", "bridge", ...
	At        time.Time // when the code was read
}

// HandleScan routes one scan (a hardware scanner, a bridge, POST /v1/scans):
//
//   - the same code again within DedupWindow (monotonic) is the same scan: ignored;
//   - a code that is not a payment code -> a scan.barcode event for the
//     POS; it never reaches the gateway;
//   - a payment code goes to the one scan payment waiting for a code (the
//     one the customer display shows), or, with none waiting, ScanAutoStart
//     and an amount due set by the POS (PUT /v1/cart), starts a scan
//     payment for that amount;
//   - when more than one of those could take it, or the code was already
//     used by another payment, the scan is refused: a scan.refused event
//     (code masked) and an error; nothing is charged;
//   - with nothing to take it, a scan.ignored event: nothing is charged.
func (e *Engine) HandleScan(ctx context.Context, s Scan) error {
	if err := paycode.CheckInput(s.Code); err != nil { // one rule, however the code arrives
		return errf(operr.CodeInvalidCode, "scan %v; nothing was recorded", err)
	}
	code := strings.TrimSpace(s.Code)
	if code == "" {
		return errf(operr.CodeInvalidCode, "empty scan")
	}
	// A payment code the scanner wrapped (an AIM prefix such as "]Q1",
	// invisible or bidi characters) is the same payment code.
	if bare, sym, ok := paycode.Bare(code); ok {
		code = bare
		if s.Symbology == "" {
			s.Symbology = sym
		}
	}
	now := e.now()
	if e.dedupe.Repeat(code, e.mono()) {
		e.log.Debug("agent: duplicate scan suppressed", "code", paycode.Mask(code), "device", s.Device)
		return nil
	}
	if e.o.Devices != nil {
		e.o.Devices.Scanned(s.Device, now)
	}

	if _, ok := paycode.Classify(code); !ok {
		// A payment code wrapped in a symbology prefix, split by invisible
		// characters or inside a longer string is masked here too.
		return e.appendEvent(Event{Kind: KindScanBarcode, At: now, Scan: &ScanInfo{Code: paycode.MaskIn(code), Symbology: s.Symbology, Device: s.Device}})
	}
	masked := &ScanInfo{Code: paycode.Mask(code), Symbology: s.Symbology, Device: s.Device}
	waiting := e.awaitingCode()
	cart := e.CurrentCart()                  // nil once expired
	auto := cart.CanStart(e.o.ScanAutoStart) // a tip prompt waits for its answer
	switch route.Decide(len(waiting), auto) {
	case route.Ambiguous:
		err := errf(operr.CodeScanAmbiguous, "%d payments could take this code (%s); nothing was charged: cancel the one the customer is not paying",
			len(waiting)+oneIf(auto), describeCandidates(waiting, auto, cart))
		return e.refuseScan(masked, err)
	case route.Waiting:
		_, err := e.giveCode(ctx, waiting[0], code, IdemKey{}, false) // a scanner never waits for the gateway
		var oe *OpError
		if errors.As(err, &oe) && (oe.Code == operr.CodeCodeAlreadyUsed || oe.Code == operr.CodeClockImplausible) {
			return e.refuseScan(masked, err)
		}
		if errors.As(err, &oe) && oe.Kind == operr.KindWrongState {
			return e.appendEvent(Event{Kind: KindScanIgnored, At: now, Scan: masked, Reason: "the payment stopped waiting for a code: " + oe.Message})
		}
		return err
	case route.FromCart:
		return e.scanCart(ctx, masked, code, cart)
	}
	if e.o.ScanAutoStart && len(waiting) == 0 && e.cart.Busy() {
		// Another code is starting a payment from the cart this moment.
		return e.refuseScan(masked, errf(operr.CodeCartBusy, "another payment code is starting a payment for the amount due; nothing was charged for this one"))
	}
	return e.appendEvent(Event{Kind: KindScanIgnored, At: now, Scan: masked, Reason: "no payment is waiting for a code"})
}

// scanCart starts the scan payment of the amount due seen (CurrentCart)
// with code. The cart is taken first, atomically: one cart becomes at most
// one payment. A scan whose cart changed since it was read (a new amount,
// a tip chosen again, expired), or that another scan took, is refused and
// charges nothing. While the payment is recorded the cart cannot change
// (SetCart, ClearCart and ChooseTip answer cart_busy): what is charged
// is the cart as taken. A payment refused before anything was recorded
// gives the same cart back; one that may be recorded never does.
func (e *Engine) scanCart(ctx context.Context, masked *ScanInfo, code string, seen *Cart) error {
	e.step("cart-read")
	c, err := e.cart.Take(seen, e.mono())
	if errors.Is(err, route.ErrBusy) {
		return e.refuseScan(masked, errf(operr.CodeCartBusy, "another payment code is starting a payment for the amount due; nothing was charged for this one"))
	}
	if err != nil {
		return e.refuseScan(masked, errf(operr.CodeCartChanged, "the amount due changed as the code was scanned; nothing was charged: check the amount and scan again"))
	}
	e.step("cart-taken")
	p, _, err := e.createPayment(ctx, CreateRequest{Amount: c.Amount, Currency: c.Currency, Mode: "scan",
		Reference: c.Reference, AuthCode: code, Tip: c.Tip, TipApprover: c.TipApprover}, IdemKey{}, false)
	var oe *OpError
	if err != nil && errors.As(err, &oe) {
		// Refused before the transaction committed (validation, a used
		// code, the clock): nothing was recorded or sent.
		e.cart.Release()
		if oe.Kind.Refusal() || oe.Code == operr.CodeClockImplausible {
			return e.refuseScan(masked, err)
		}
		return err
	}
	e.cartMu.Lock()
	defer e.cartMu.Unlock()
	e.cart.Done() // a store error too: the payment may be on disk, so the cart is not offered again
	if err != nil {
		e.log.Error("agent: the payment for the amount due may not be recorded; the cart is cleared: set it again if no payment shows", "err", err)
		if jerr := e.appendEvent(Event{Kind: KindCartUpdated, At: e.now(), Cart: &Cart{Currency: e.o.Currency}}); jerr != nil {
			e.storeError("cart cleared event", jerr)
		}
		return err
	}
	e.log.Info("agent: a scan started a payment for the amount due", "id", p.ID, "amount", c.Amount, "tip", c.Tip, "code", masked.Code)
	// A payment no API request asked for is on the audit trail too: the
	// scanner that started it, the amount and the tip charged.
	if err := e.RecordAudit(Audit{Action: "payment.create", Method: "SCAN", Path: "scanner " + masked.Device, Credential: "scanner",
		Approver: c.TipApprover, Client: "scanner " + masked.Device, Payment: p.ID, Amount: c.Amount, Tip: c.Tip, Status: 201, Result: "ok",
		Detail: "started from the amount due by payment code " + masked.Code}); err != nil {
		e.storeError("scan audit", err)
	}
	return e.appendEvent(Event{Kind: KindCartUpdated, At: e.now(), Cart: &Cart{Currency: e.o.Currency}})
}

// step is the test hook Options.ScanStep.
func (e *Engine) step(name string) {
	if e.o.ScanStep != nil {
		e.o.ScanStep(name)
	}
}

func describeCandidates(waiting []string, auto bool, cart *Cart) string {
	parts := append([]string(nil), waiting...)
	if auto {
		parts = append(parts, fmt.Sprintf("the cart's amount due %d", cart.Amount))
	}
	return strings.Join(parts, ", ")
}

// refuseScan journals a scan.refused event (the POS and the cashier see it)
// and returns err.
func (e *Engine) refuseScan(s *ScanInfo, err error) error {
	var oe *OpError
	errors.As(err, &oe)
	ev := Event{Kind: KindScanRefused, At: e.now(), Scan: s}
	if oe != nil {
		ev.Error, ev.Reason = &store.Error{Code: string(oe.Code), Message: oe.Message}, oe.Message
	}
	e.log.Warn("agent: scan refused; nothing charged", "code", s.Code, "device", s.Device, "err", err)
	if jerr := e.appendEvent(ev); jerr != nil {
		e.storeError("scan refused event", jerr)
	}
	return err
}

// awaitingCode lists the scan payments waiting for a code whose wait has
// not timed out, oldest first. Timed-out ones are cancelled (no_code).
// Never call it inside a store transaction: it may write.
func (e *Engine) awaitingCode() []string {
	ids, stale := e.waiters()
	for _, id := range stale {
		e.expireAwaiting(id)
	}
	return ids
}

// waiters lists the payments in awaiting_code: those still inside their
// wait, and those past it (stale), each oldest first. It only reads.
func (e *Engine) waiters() (ids, stale []string) {
	e.mu.Lock()
	mono := e.mono()
	for id, a := range e.active {
		if a.state != AwaitingCode {
			continue
		}
		if since, ok := e.awaitMono[id]; ok && mono-since >= e.o.AwaitCodeTimeout {
			stale = append(stale, id)
			continue
		}
		ids = append(ids, id)
	}
	e.mu.Unlock()
	sort.Strings(ids) // ids are time-ordered
	sort.Strings(stale)
	return ids, stale
}

// expireAwaiting cancels a payment that waited too long for its code.
func (e *Engine) expireAwaiting(id string) {
	_, err := e.mutate(id, func(tx *store.Tx, p *store.Payment) error {
		if p.State != AwaitingCode {
			return errNoChange
		}
		p.State = Cancelled
		p.Error = &store.Error{Code: "no_code", Message: fmt.Sprintf("no payment code arrived within %s; nothing was charged", e.o.AwaitCodeTimeout)}
		return nil
	})
	if err != nil && !errors.Is(err, errNoChange) {
		e.storeError("expire awaiting payment", err)
		return
	}
	if err == nil {
		e.log.Info("agent: payment waited too long for its code; cancelled", "id", id, "timeout", e.o.AwaitCodeTimeout)
	}
}

// awaitLoop cancels payments that waited AwaitCodeTimeout for a code and
// clears an expired cart, checking a few times per timeout.
func (e *Engine) awaitLoop(ctx context.Context) {
	every := max(min(e.o.AwaitCodeTimeout, e.o.CartTimeout)/8, time.Millisecond)
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.clock.After(every):
		}
		e.awaitingCode()
		if e.cartExpired() {
			var oe *OpError
			if err := e.ClearCart(); err != nil && !(errors.As(err, &oe) && oe.Code == operr.CodeCartBusy) { // a scan is paying it
				e.storeError("clear expired cart", err)
			}
		}
	}
}

// SetCart sets the amount due shown on the display (PUT /v1/cart). It
// expires CartTimeout later.
func (e *Engine) SetCart(c Cart) (*Cart, error) {
	if c.Amount <= 0 {
		return nil, errf(operr.CodeInvalidAmount, "amount must be a positive integer number of cents, got %d", c.Amount)
	}
	if c.Amount > MaxAmount {
		return nil, errf(operr.CodeInvalidAmount, "amount %d is more than the %d cents a payment may be", c.Amount, int64(MaxAmount))
	}
	if c.Currency == "" {
		c.Currency = e.o.Currency
	}
	if c.Currency != e.o.Currency {
		return nil, errf(operr.CodeCurrencyMismatch, "currency %q does not match the merchant account's %s", c.Currency, e.o.Currency)
	}
	if err := e.tipRules().Check(c.Amount, c.Tip, c.TipApprover); err != nil {
		return nil, err
	}
	if err := checkReference(c.Reference); err != nil {
		return nil, err
	}
	if err := e.tipRules().Prepare(&c); err != nil {
		return nil, err
	}
	exp := e.now().Add(e.o.CartTimeout)
	c.ExpiresAt = &exp
	e.cartMu.Lock()
	defer e.cartMu.Unlock()
	out, err := e.cart.Set(c, e.mono())
	if err != nil {
		return nil, errCartBusy()
	}
	return out, e.appendEvent(Event{Kind: KindCartUpdated, At: e.now(), Cart: out})
}

// errCartBusy is the answer to a change of the cart while a scanned code
// starts a payment from it.
func errCartBusy() error {
	return errf(operr.CodeCartBusy, "a scanned payment code is starting a payment for the amount due as it is: it cannot change now; if the sale changed, cancel that payment (it is announced at once)")
}

// ClearCart clears the amount due (DELETE /v1/cart).
func (e *Engine) ClearCart() error {
	e.cartMu.Lock()
	defer e.cartMu.Unlock()
	if err := e.cart.Clear(); err != nil {
		return errCartBusy()
	}
	return e.appendEvent(Event{Kind: KindCartUpdated, At: e.now(), Cart: &Cart{Currency: e.o.Currency}})
}

// cartExpired reports whether a cart is set and past its lifetime.
func (e *Engine) cartExpired() bool { return e.cart.Expired(e.mono()) }

// CurrentCart returns the amount due, or nil (also once it expired).
func (e *Engine) CurrentCart() *Cart { return e.cart.Current(e.mono()) }

// oneIf counts a condition: 1 when b holds, else 0.
func oneIf(b bool) int {
	if b {
		return 1
	}
	return 0
}
