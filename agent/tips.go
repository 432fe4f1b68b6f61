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
