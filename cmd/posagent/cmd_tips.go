package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/money"
)

// tipNote is " (12.50 + tip 2.00)" for a payment with a tip, else "".
func tipNote(p *client.Payment) string {
	if p.Tip == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s + tip %s)", money.Amount(p.Amount).Format(p.Currency), money.Amount(p.Tip).Format(p.Currency))
}

// showWalletSide prints what the gateway told of the wallet's side of a
// payment, as "key<TAB>value" lines for show's table.
func showWalletSide(w io.Writer, p *client.Payment) {
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
	if !s.TradeAt.IsZero() {
		line("wallet time", s.TradeAt.Local().Format("2006-01-02 15:04:05 MST"))
	} else {
		line("wallet time", s.TradeTime)
	}
	if s.CNYAmount != 0 {
		line("CNY", money.Amount(s.CNYAmount).String())
	}
	if s.Rate != 0 {
		line("CNY rate", fmt.Sprintf("%.4f", float64(s.Rate)/1e8))
	}
}

// confirmDuplicate shows a payment's possible_duplicate warning and asks
// the cashier whether to take it (yes: no question). On "no" (or no
// answer: stdin closed) the payment is cancelled, and false returned.
// Nothing was charged yet: pay gives a typed code only after this.
func confirmDuplicate(cmd *cobra.Command, c *client.Client, p *client.Payment, yes bool) bool {
	var w *client.Warning
	for i := range p.Warnings {
		if p.Warnings[i].Code == "possible_duplicate" {
			w = &p.Warnings[i]
		}
	}
	if w == nil {
		return true
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "WARNING: possible duplicate: %s\n", w.Message)
	if yes {
		fmt.Fprintln(out, "  taking it (--yes)")
		return true
	}
	fmt.Fprintf(out, "  check the customer's wallet for payment %s; take this payment anyway? [y/N] ", w.PaymentID)
	line, _ := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(line)); a == "y" || a == "yes" {
		return true
	}
	fmt.Fprintln(out)
	if cp, err := c.Cancel(context.WithoutCancel(cmd.Context()), p.ID); err != nil {
		fmt.Fprintf(out, "  cancel refused: %v\n", err)
	} else {
		*p = *cp
	}
	return false
}
