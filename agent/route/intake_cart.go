package route

import (
	"errors"
	"fmt"
	"slices"

	"github.com/posagent/posagent/agent/operr"
)

// SetCart sets the amount due shown on the display (PUT /v1/cart). It
// expires CartTimeout later.
func (in *Intake) SetCart(c Cart) (*Cart, error) {
	if c.Amount <= 0 {
		return nil, operr.Errorf(operr.CodeInvalidAmount, "amount must be a positive integer number of cents, got %d", c.Amount)
	}
	if c.Amount > in.o.MaxAmount {
		return nil, operr.Errorf(operr.CodeInvalidAmount, "amount %d is more than the %d cents a payment may be", c.Amount, in.o.MaxAmount)
	}
	if c.Currency == "" {
		c.Currency = in.o.Currency
	}
	if c.Currency != in.o.Currency {
		return nil, operr.Errorf(operr.CodeCurrencyMismatch, "currency %q does not match the merchant account's %s", c.Currency, in.o.Currency)
	}
	if err := in.Tips().Check(c.Amount, c.Tip, c.TipApprover); err != nil {
		return nil, err
	}
	if err := in.o.CheckReference(c.Reference); err != nil {
		return nil, err
	}
	if err := in.Tips().Prepare(&c); err != nil {
		return nil, err
	}
	exp := in.o.Now().Add(in.o.CartTimeout)
	c.ExpiresAt = &exp
	in.cartMu.Lock()
	defer in.cartMu.Unlock()
	out, err := in.cart.Set(c, in.o.Mono())
	if err != nil {
		return nil, errCartBusy()
	}
	return out, in.eng.Journal(Event{Kind: KindCartUpdated, At: in.o.Now(), Cart: out})
}

// errCartBusy is the answer to a change of the cart while a scanned code
// starts a payment from it.
func errCartBusy() error {
	return operr.Errorf(operr.CodeCartBusy, "a scanned payment code is starting a payment for the amount due as it is: it cannot change now; if the sale changed, cancel that payment (it is announced at once)")
}

// ClearCart clears the amount due (DELETE /v1/cart).
func (in *Intake) ClearCart() error {
	in.cartMu.Lock()
	defer in.cartMu.Unlock()
	if err := in.cart.Clear(); err != nil {
		return errCartBusy()
	}
	return in.eng.Journal(Event{Kind: KindCartUpdated, At: in.o.Now(), Cart: &Cart{Currency: in.o.Currency}})
}

// cartExpired reports whether a cart is set and past its lifetime.
func (in *Intake) cartExpired() bool { return in.cart.Expired(in.o.Mono()) }

// CurrentCart returns the amount due, or nil (also once it expired).
func (in *Intake) CurrentCart() *Cart { return in.cart.Current(in.o.Mono()) }

// ChooseTip answers the tip prompt of the amount due: the cart's tip is
// set and marked chosen, and a cart.updated event tells the POS (which
// then starts the payment with the cart's tip) and the display. It moves
// no money: the payment does not exist yet. While a scanned code starts a
// payment from the cart the tip cannot change (cart_busy).
func (in *Intake) ChooseTip(ch TipChoice) (*Cart, error) {
	if (ch.Percent == nil) == (ch.Tip == nil) {
		return nil, operr.Errorf(operr.CodeInvalidField, `send {"percent": <one of the suggestions>} or {"tip": <cents, 0 for no tip>}`)
	}
	in.cartMu.Lock()
	defer in.cartMu.Unlock()
	c, err := in.cart.Update(in.o.Mono(), func(c *Cart) error { return in.Tips().Apply(c, ch) })
	switch {
	case errors.Is(err, ErrChanged): // the answer was to another amount
		return nil, operr.Errorf(operr.CodeNoTipPrompt, "the amount due changed while the tip was chosen; choose again")
	case errors.Is(err, ErrBusy):
		return nil, errCartBusy()
	case err != nil:
		return nil, err
	}
	return c, in.eng.Journal(Event{Kind: KindCartUpdated, At: in.o.Now(), Cart: c})
}

// SetTipChoices replaces the tip suggestions (display.tip_choices) a cart
// set from now on offers; a cart already set keeps its own. A reload and a
// bundle from head office change them live.
func (in *Intake) SetTipChoices(choices []int) error {
	t := in.Tips()
	for _, c := range choices {
		if c < 1 || c > t.MaxPercent {
			return fmt.Errorf("agent: the tip suggestion %d %% is not between 1 and the maximum %d %%", c, t.MaxPercent)
		}
	}
	t.Choices = slices.Clone(choices)
	in.tips.Store(&t)
	return nil
}

// Tips are the lane's tip rules now, with the suggestions SetTipChoices
// last set.
func (in *Intake) Tips() Tips { return *in.tips.Load() }
