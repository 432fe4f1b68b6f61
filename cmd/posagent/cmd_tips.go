package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/posagent/posagent/client"
)

// confirmDuplicate shows a payment's possible_duplicate warning and asks
// the cashier whether to take it (yes: no question). On "no" (or no
// answer: stdin closed) the payment is cancelled, and false returned.
// Nothing was charged yet: pay gives a typed code only after this.
func confirmDuplicate(cmd *cobra.Command, c *client.Client, p *client.Payment, yes bool) bool {
	w := p.Warning(client.WarningPossibleDuplicate)
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
