package agent

import (
	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/agent/route"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/slip"
	"github.com/posagent/posagent/store"
)

// total is what a payment charges the customer: its amount and its tip
// (a convenience fee the gateway adds is the gateway's, not the shop's).
// Refunds are bounded by it.
func total(p *store.Payment) int64 { return p.Amount + p.Tip }

// checkReference validates a payment's reference, the POS's sale number:
// it is sent to OTTPay as sale_num, so it must be one OTTPay takes.
func checkReference(ref string) error {
	if err := gateway.CheckSaleNum(ref); err != nil {
		return errf(operr.CodeInvalidReference, "reference %q is sent to OTTPay as the sale number (sale_num): up to %d letters, digits and - _ . / #", ref, gateway.MaxSaleNum)
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

// TipChoice is the answer to a cart's tip prompt (route.TipChoice).
type TipChoice = route.TipChoice
