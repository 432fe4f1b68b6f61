package textview

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/money"
)

// StateNote is what a payment's state means to a cashier, to follow the
// state's name: its error (" (code: message)"), or what the payment waits
// for; "" when the state says it all.
func StateNote(p *client.Payment) string {
	if p.Error != nil && p.Error.Code != "" {
		if p.Error.Message != "" {
			return fmt.Sprintf(" (%s: %s)", p.Error.Code, p.Error.Message)
		}
		return " (" + p.Error.Code + ")"
	}
	if p.State == client.Processing && p.Reason == client.ReasonWaitingForCustomer {
		return " - waiting for the customer to confirm on the phone (the display asks them to); " +
			"Ctrl-C cancels: if the customer confirms after that, the payment is refunded to them automatically"
	}
	switch p.State {
	case "awaiting_code":
		return " - scan the customer's payment code"
	case "in_doubt":
		return " - outcome unknown; the daemon keeps checking with the gateway"
	case "queued":
		return " - gateway unreachable; retrying while the code is valid"
	}
	return ""
}

// TipNote is " (12.50 + tip 2.00)" for a payment with a tip, else "".
func TipNote(p *client.Payment) string {
	if p.Tip == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s + tip %s)", money.Amount(p.Amount).Format(p.Currency), money.Amount(p.Tip).Format(p.Currency))
}

// WritePayments writes a page of payments as a table, one line each
// (times in the local zone), as `posagent payments` prints it.
func WritePayments(w io.Writer, list *client.PaymentPage) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tMODE\tWALLET\tAMOUNT\tSTATE\tREFUNDED\tREFERENCE")
	for _, p := range list.Payments {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s %s\t%s\t%s\t%s\n", p.ID, p.CreatedAt.Local().Format("2006-01-02 15:04:05"),
			p.Mode, p.Wallet, money.Amount(p.Amount).Format(p.Currency), p.Currency, p.State, money.Amount(p.Refunded).Format(p.Currency), p.Reference)
	}
	return tw.Flush()
}

// WritePayment writes one payment, its wallet's side, its history and
// its refunds (times in the local zone), as `posagent show` prints it.
func WritePayment(w io.Writer, p *client.Payment) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "payment\t%s\n", p.ID)
	fmt.Fprintf(tw, "order id\t%s\n", p.OrderID)
	fmt.Fprintf(tw, "reference\t%s\n", p.Reference)
	fmt.Fprintf(tw, "mode\t%s\n", p.Mode)
	fmt.Fprintf(tw, "wallet\t%s\n", p.Wallet)
	fmt.Fprintf(tw, "amount\t%s %s\n", money.Amount(p.Amount).Format(p.Currency), p.Currency)
	if p.Tip != 0 {
		fmt.Fprintf(tw, "tip\t%s %s\n", money.Amount(p.Tip).Format(p.Currency), p.Currency)
		fmt.Fprintf(tw, "total\t%s %s\n", money.Amount(p.Amount+p.Tip).Format(p.Currency), p.Currency)
	}
	writeWalletSide(tw, p)
	fmt.Fprintf(tw, "state\t%s%s\n", p.State, StateNote(p))
	if p.AuthCodeMasked != "" {
		fmt.Fprintf(tw, "code\t%s\n", p.AuthCodeMasked)
	}
	if p.CodeURL != "" {
		fmt.Fprintf(tw, "code_url\t%s\n", p.CodeURL)
	}
	fmt.Fprintf(tw, "created\t%s\n", p.CreatedAt.Local().Format(time.RFC3339))
	fmt.Fprintf(tw, "refunded\t%s %s\n", money.Amount(p.Refunded).Format(p.Currency), p.Currency)
	tw.Flush()
	fmt.Fprintln(w, "history:")
	for _, h := range p.History {
		fmt.Fprintf(w, "  %s  %s\n", h.At.Local().Format("15:04:05.000"), h.State)
	}
	if len(p.Refunds) > 0 {
		fmt.Fprintln(w, "refunds:")
		for _, r := range p.Refunds {
			fmt.Fprintf(w, "  %s  %s %s  %s  (order %s)\n", r.ID, money.Amount(r.Amount).Format(p.Currency), p.Currency, r.State, r.OrderID)
		}
	}
}

// writeWalletSide writes what the gateway told of the wallet's side of a
// payment, as "key<TAB>value" lines for show's table.
func writeWalletSide(w io.Writer, p *client.Payment) {
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
