package main

import (
	"fmt"
	"io"

	"github.com/posagent/posagent/money"
)

// tipNote is " (12.50 + tip 2.00)" for a payment with a tip, else "".
func tipNote(p *payment) string {
	if p.Tip == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s + tip %s)", money.Amount(p.Amount).Format(p.Currency), money.Amount(p.Tip).Format(p.Currency))
}

// showWalletSide prints what the gateway told of the wallet's side of a
// payment, as "key<TAB>value" lines for show's table.
func showWalletSide(w io.Writer, p *payment) {
	s := p.WalletSide
	if s == nil {
		return
	}
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%s\t%s\n", k, v)
		}
	}
	if s.Fee != 0 {
		line("gateway fee", money.Amount(s.Fee).Format(p.Currency)+" "+p.Currency)
	}
	if s.Total != 0 && s.Total != p.Total {
		line("charged", money.Amount(s.Total).Format(p.Currency)+" "+p.Currency)
	}
	line("wallet transaction", s.TransactionID)
	line("buyer", s.BuyerLoginID)
	line("wallet time", s.TradeTime)
	if s.CNYAmount != 0 {
		line("CNY", money.Amount(s.CNYAmount).String())
	}
	if s.Rate != 0 {
		line("CNY rate", fmt.Sprintf("%.4f", float64(s.Rate)/1e8))
	}
}
