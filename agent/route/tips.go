package route

import (
	"slices"

	"github.com/posagent/posagent/agent/operr"
)

// Tips are a lane's tip rules: the cap on a tip a cashier may give
// without a manager (tips.max_percent), the suggestions a cart's tip
// prompt shows the customer (display.tip_choices), and the most a payment
// may be, amount and tip together.
type Tips struct {
	MaxPercent int   // a tip above this percent of the amount needs a manager's approval
	Choices    []int // percent of the amount; "no tip" is always offered
	MaxTotal   int64 // the most a payment may be (amount + tip), in cents
}

// TipFor is percent of amount in cents, rounded half up.
func TipFor(amount int64, percent int) int64 { return (amount*int64(percent) + 50) / 100 }

// Max is the largest tip on amount that needs no approval.
func (t Tips) Max(amount int64) int64 { return TipFor(amount, t.MaxPercent) }

// Check validates a tip on a payment or a cart of amount cents: at most
// MaxPercent of the amount unless approver (a manager whose PIN the API
// checked) approved it, and never more than a payment may be.
func (t Tips) Check(amount, tip int64, approver string) error {
	if tip < 0 {
		return operr.Errorf(operr.CodeInvalidTip, "tip must be zero or a positive integer number of cents, got %d", tip)
	}
	if amount+tip > t.MaxTotal {
		return operr.Errorf(operr.CodeInvalidTip, "amount %d and tip %d come to more than the %d cents a payment may be", amount, tip, t.MaxTotal)
	}
	if capped := t.Max(amount); tip > capped && approver == "" {
		return operr.Errorf(operr.CodeTipApprovalRequired, "a tip of %d is more than %d, the tips.max_percent (%d %%) of the amount %d: it needs a manager's approval (\"approval\": {\"operator\": \"<manager id>\", \"pin\": \"...\"})",
			tip, capped, t.MaxPercent, amount)
	}
	return nil
}

// Prepare sets the tip part of a cart the POS sets, its amount and tip
// already checked (Check): the approver kept only where it is needed, and
// the suggestions of a tip prompt.
func (t Tips) Prepare(c *Cart) error {
	if c.Tip <= t.Max(c.Amount) {
		c.TipApprover = "" // kept only where it is needed
	}
	c.TipChoices, c.TipChosen = nil, false
	if c.TipPrompt {
		if len(t.Choices) == 0 {
			return operr.Errorf(operr.CodeNoTipChoices, "tip_prompt needs tip suggestions: set display.tip_choices (e.g. [10, 15, 18] percent)")
		}
		if c.Tip != 0 {
			return operr.Errorf(operr.CodeInvalidTip, "send either a tip or tip_prompt (the customer chooses), not both")
		}
		c.TipChoices = append([]int(nil), t.Choices...)
	}
	return nil
}

// TipChoice is the answer to a cart's tip prompt (POST /v1/cart/tip): one
// of the suggested percentages, or a tip in cents (0: no tip).
type TipChoice struct {
	Percent *int   `json:"percent"`
	Tip     *int64 `json:"tip"`
	// Cashier: the answer comes from the POS (the pos or manager role),
	// which may give a tip of its own (capped by MaxPercent unless
	// Approver approved it) and change a choice. Otherwise it is the
	// customer's, on the display: a suggestion or no tip, once.
	Cashier  bool   `json:"-"`
	Approver string `json:"-"`
}

// Apply sets the tip ch chooses on the cart c (nil: none is due), by the
// rules of who chose it.
func (t Tips) Apply(c *Cart, ch TipChoice) error {
	if c == nil || !c.TipPrompt {
		return operr.Errorf(operr.CodeNoTipPrompt, "no amount due is asking for a tip: set the cart with \"tip_prompt\": true first")
	}
	if !ch.Cashier && c.TipChosen {
		return operr.Errorf(operr.CodeTipAlreadyChosen, "a tip of %d was already chosen for this amount due; only the cashier may change it", c.Tip)
	}
	var tip int64
	if ch.Percent != nil {
		if !slices.Contains(c.TipChoices, *ch.Percent) {
			return operr.Errorf(operr.CodeInvalidTip, "%d %% is not one of the suggestions %v", *ch.Percent, c.TipChoices)
		}
		tip = TipFor(c.Amount, *ch.Percent)
	} else {
		tip = *ch.Tip
	}
	if !ch.Cashier && ch.Tip != nil && tip != 0 {
		return operr.Errorf(operr.CodeTipNotOffered, `the display may answer with one of the suggestions {"percent": %v} or no tip {"tip": 0}; a tip of another amount is the cashier's`, c.TipChoices)
	}
	approver := ""
	if ch.Cashier && tip > t.Max(c.Amount) {
		approver = ch.Approver
	}
	if err := t.Check(c.Amount, tip, approver); err != nil {
		return err
	}
	c.Tip, c.TipChosen, c.TipApprover = tip, true, approver
	return nil
}
