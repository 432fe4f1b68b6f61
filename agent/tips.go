package agent

import (
	"errors"
	"slices"

	"github.com/posagent/posagent/agent/route"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/slip"
	"github.com/posagent/posagent/store"
)

// total is what a payment charges the customer: its amount and its tip
// (a convenience fee the gateway adds is the gateway's, not the shop's).
// Refunds are bounded by it.
func total(p *store.Payment) int64 { return p.Amount + p.Tip }

// checkTip validates a tip on a payment or the cart of amount cents: at
// most TipMaxPercent of the amount unless approver (a manager whose PIN
// the API checked) approved it, and never more than a payment may be.
func (e *Engine) checkTip(amount, tip int64, approver string) error {
	if tip < 0 {
		return errf(CodeInvalidTip, "tip must be zero or a positive integer number of cents, got %d", tip)
	}
	if amount+tip > MaxAmount {
		return errf(CodeInvalidTip, "amount %d and tip %d come to more than the %d cents a payment may be", amount, tip, int64(MaxAmount))
	}
	if capped := e.maxTip(amount); tip > capped && approver == "" {
		return errf(CodeTipApprovalRequired, "a tip of %d is more than %d, the tips.max_percent (%d %%) of the amount %d: it needs a manager's approval (\"approval\": {\"operator\": \"<manager id>\", \"pin\": \"...\"})",
			tip, capped, e.o.TipMaxPercent, amount)
	}
	return nil
}

// maxTip is the largest tip on amount that needs no approval.
func (e *Engine) maxTip(amount int64) int64 { return tipFor(amount, e.o.TipMaxPercent) }

// checkReference validates a payment's reference, the POS's sale number:
// it is sent to OTTPay as sale_num, so it must be one OTTPay takes.
func checkReference(ref string) error {
	if err := gateway.CheckSaleNum(ref); err != nil {
		return errf(CodeInvalidReference, "reference %q is sent to OTTPay as the sale number (sale_num): up to %d letters, digits and - _ . / #", ref, gateway.MaxSaleNum)
	}
	return nil
}

// walletSideOf reads what an answer says about the wallet's side of a
// payment (nil when it says nothing).
func walletSideOf(res *gateway.Result) *store.WalletSide {
	if res == nil || res.Fields == nil {
		return nil
	}
	f := res.Fields
	w := &store.WalletSide{BuyerLoginID: f["buyer_login_id"], TradeTime: f["trade_time"],
		TransactionID: f["bizpay_order_id"], Fee: res.Fee, Total: res.Total}
	if w.TransactionID == "" {
		w.TransactionID = f["transaction_id"]
	}
	w.Rate = digits(f["exchange_rate"])
	if w.Rate == 0 {
		w.Rate = digits(f["rate"])
	}
	w.CNYAmount = digits(f["cny_amount"])
	if *w == (store.WalletSide{}) {
		return nil
	}
	return w
}

// digits parses a non-negative integer field ("" or anything else: 0).
func digits(s string) int64 {
	var n int64
	if s == "" || len(s) > 18 {
		return 0
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n
}

// keepWalletSide moves the wallet's side carried by the payment's last
// answer into what the payment keeps (it is not kept twice): a later
// answer adds what an earlier one lacked and never erases it.
func keepWalletSide(p *store.Payment) {
	if p.Answer == nil || p.Answer.Wallet == nil {
		return
	}
	w := p.Answer.Wallet
	a := *p.Answer
	a.Wallet = nil
	p.Answer = &a
	if p.WalletSide == nil {
		p.WalletSide = &store.WalletSide{}
	}
	k := p.WalletSide
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&k.BuyerLoginID, w.BuyerLoginID)
	set(&k.TradeTime, w.TradeTime)
	set(&k.TransactionID, w.TransactionID)
	for _, x := range []struct {
		dst *int64
		v   int64
	}{{&k.Fee, w.Fee}, {&k.Total, w.Total}, {&k.Rate, w.Rate}, {&k.CNYAmount, w.CNYAmount}} {
		if x.v != 0 {
			*x.dst = x.v
		}
	}
}

// receiptExtras adds the tip, the sale number and the wallet's side to a
// receipt and, for WeChat Pay and Alipay when the gateway's answers gave
// no CNY amount, an estimate in CNY at the agent's rate if it is fresh.
func (e *Engine) receiptExtras(r *slip.Receipt, p *store.Payment) {
	r.Tip, r.Reference = p.Tip, p.Reference
	if w := p.WalletSide; w != nil {
		r.Fee, r.Buyer, r.TradeTime, r.WalletTxn, r.CNYAmount, r.Rate = w.Fee, w.BuyerLoginID, w.TradeTime, w.TransactionID, w.CNYAmount, w.Rate
		r.TradeAt = w.TradeAt
	}
	if r.CNYAmount != 0 || p.Wallet != "wechat" && p.Wallet != "alipay" {
		return
	}
	if x := e.freshRate(); x != nil {
		r.CNYAmount, r.Rate, r.RateAt = x.CNY(total(p)), x.Rate, x.At
	}
}

// TipChoice is the answer to a cart's tip prompt (POST /v1/cart/tip): one
// of the suggested percentages, or a tip in cents (0: no tip).
type TipChoice struct {
	Percent *int   `json:"percent"`
	Tip     *int64 `json:"tip"`
	// Cashier: the answer comes from the POS (the pos or manager role),
	// which may give a tip of its own (capped by TipMaxPercent unless
	// Approver approved it) and change a choice. Otherwise it is the
	// customer's, on the display: a suggestion or no tip, once.
	Cashier  bool   `json:"-"`
	Approver string `json:"-"`
}

// tipFor is percent of amount in cents, rounded half up.
func tipFor(amount int64, percent int) int64 { return (amount*int64(percent) + 50) / 100 }

// ChooseTip answers the tip prompt of the amount due: the cart's tip is
// set and marked chosen, and a cart.updated event tells the POS (which
// then starts the payment with the cart's tip) and the display. It moves
// no money: the payment does not exist yet. While a scanned code starts a
// payment from the cart the tip cannot change (cart_busy).
func (e *Engine) ChooseTip(ch TipChoice) (*Cart, error) {
	if (ch.Percent == nil) == (ch.Tip == nil) {
		return nil, errf(CodeInvalidField, `send {"percent": <one of the suggestions>} or {"tip": <cents, 0 for no tip>}`)
	}
	e.cartMu.Lock()
	defer e.cartMu.Unlock()
	c, err := e.cart.Update(e.mono(), func(c *Cart) error { return e.applyTip(c, ch) })
	switch {
	case errors.Is(err, route.ErrChanged): // the answer was to another amount
		return nil, errf(CodeNoTipPrompt, "the amount due changed while the tip was chosen; choose again")
	case errors.Is(err, route.ErrBusy):
		return nil, errCartBusy()
	case err != nil:
		return nil, err
	}
	return c, e.appendEvent(Event{Kind: KindCartUpdated, At: e.now(), Cart: c})
}

// applyTip sets the tip ch chooses on the cart c (nil: none is due), by
// the rules of who chose it.
func (e *Engine) applyTip(c *Cart, ch TipChoice) error {
	if c == nil || !c.TipPrompt {
		return errf(CodeNoTipPrompt, "no amount due is asking for a tip: set the cart with \"tip_prompt\": true first")
	}
	if !ch.Cashier && c.TipChosen {
		return errf(CodeTipAlreadyChosen, "a tip of %d was already chosen for this amount due; only the cashier may change it", c.Tip)
	}
	var tip int64
	if ch.Percent != nil {
		if !slices.Contains(c.TipChoices, *ch.Percent) {
			return errf(CodeInvalidTip, "%d %% is not one of the suggestions %v", *ch.Percent, c.TipChoices)
		}
		tip = tipFor(c.Amount, *ch.Percent)
	} else {
		tip = *ch.Tip
	}
	if !ch.Cashier && ch.Tip != nil && tip != 0 {
		return errf(CodeTipNotOffered, `the display may answer with one of the suggestions {"percent": %v} or no tip {"tip": 0}; a tip of another amount is the cashier's`, c.TipChoices)
	}
	approver := ""
	if ch.Cashier && tip > e.maxTip(c.Amount) {
		approver = ch.Approver
	}
	if err := e.checkTip(c.Amount, tip, approver); err != nil {
		return err
	}
	c.Tip, c.TipChosen, c.TipApprover = tip, true, approver
	return nil
}
