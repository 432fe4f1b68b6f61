package ottsim

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/posagent/posagent/money"
)

// WriteLedger writes the ledger as a table, oldest first, with what each
// order charged and refunded (major units) and a total line, as `posagent
// sim ledger` prints it.
func WriteLedger(w io.Writer, orders []Order) error {
	if len(orders) == 0 {
		_, err := fmt.Fprintln(w, "no orders yet")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ORDER_ID\tMODE\tWALLET\tAMOUNT\tCHARGED\tREFUNDED\tSTATUS\tCREATED\tREFUNDS")
	var charged, refunded int64
	for _, o := range orders {
		mode := "scan"
		if o.Action == "ACTIVEPAY" {
			mode = "qr"
		}
		var refunds []string
		for _, r := range o.Refunds {
			refunds = append(refunds, r.OrderID+":"+money.Amount(r.Amount).String())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.OrderID, mode, o.Wallet, money.Amount(o.Amount).String(),
			money.Amount(o.Charged).String(), money.Amount(o.Refunded).String(), o.Status, o.CreatedAt.UTC().Format(time.RFC3339), strings.Join(refunds, " "))
		charged += o.Charged
		refunded += o.Refunded
	}
	fmt.Fprintf(tw, "total\t\t\t\t%s\t%s\t\t\t\n", money.Amount(charged).String(), money.Amount(refunded).String())
	return tw.Flush()
}

// WriteText writes the faults in force, and until when the simulator is
// down, as `posagent sim faults` prints them.
func (f FaultState) WriteText(w io.Writer) {
	fmt.Fprintf(w, "latency_ms %d, error_rate %g, drop_rate %g\n", f.LatencyMS, f.ErrorRate, f.DropRate)
	if f.DownUntil != nil {
		fmt.Fprintf(w, "down (connection refused) until %s\n", f.DownUntil.UTC().Format(time.RFC3339Nano))
	}
}
