package books

import (
	"bytes"
	"context"
	"encoding/csv"
	"strconv"
	"time"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/slip"
)

// PrintReport prints a report on the receipt printer.
func (b *Books) PrintReport(ctx context.Context, rep *Report, reprint bool) error {
	if b.o.Printer == nil {
		return errf(operr.CodeNoPrinter, "no printer is configured to print reports")
	}
	pctx := ctx
	if b.o.PrintTimeout > 0 {
		var cancel context.CancelFunc
		pctx, cancel = context.WithTimeout(ctx, b.o.PrintTimeout)
		defer cancel()
	}
	if err := b.o.Printer.PrintReport(pctx, b.Printable(rep, reprint)); err != nil {
		return errf(operr.CodePrinterError, "the report was not printed: %v", err)
	}
	return nil
}

// printable lays a report out for the printer.
func (b *Books) Printable(rep *Report, reprint bool) slip.Report {
	loc := b.Location()
	tf := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(loc).Format("2006-01-02 15:04")
	}
	pr := slip.Report{Title: "X REPORT", Merchant: rep.Merchant, Currency: rep.Currency, Reprint: reprint}
	if rep.Kind == "z" {
		pr.Title, pr.Number = "Z REPORT", "#"+strconv.FormatUint(rep.Z, 10)
	}
	pr.Info = [][2]string{
		{"Shift", strconv.FormatUint(rep.Shift.No, 10)}, {"Lane", rep.Lane},
		{"Opened", tf(rep.Shift.OpenedAt)}, {"Opened by", rep.Shift.OpenedBy},
		{"Closed", tf(rep.Shift.ClosedAt)}, {"Closed by", rep.Shift.ClosedBy},
		{"Printed", tf(rep.GeneratedAt)}, {"Time zone", rep.TimeZone},
		{"Last event", strconv.FormatUint(rep.LastEventSeq, 10)},
	}
	lines := func(title string, ls []Line) slip.ReportSection {
		s := slip.ReportSection{Title: title}
		for _, l := range ls {
			s.Rows = append(s.Rows, slip.ReportRow{Label: l.Key, HasCount: true, Count: l.Count, Amount: l.Amount})
			if l.Refunds > 0 {
				s.Rows = append(s.Rows, slip.ReportRow{Label: "  Refunds", HasCount: true, Count: l.Refunds, Amount: -l.Refunded})
			}
		}
		return s
	}
	states := slip.ReportSection{Title: "PAYMENTS BY STATE"}
	for _, l := range rep.ByState {
		states.Rows = append(states.Rows, slip.ReportRow{Label: l.Key, HasCount: true, Count: l.Count, Amount: l.Amount})
	}
	totals := slip.ReportSection{Title: "TOTALS", Rows: []slip.ReportRow{
		{Label: "Payments", HasCount: true, Count: rep.Payments.Count, Amount: rep.Payments.Amount},
		{Label: "Sales", HasCount: true, Count: rep.Sales.Count, Amount: rep.Sales.Amount},
		{Label: "Tips", Amount: rep.Tips},
		{Label: "Refunds", HasCount: true, Count: rep.Refunds.Count, Amount: -rep.Refunds.Amount},
		{Label: "of which automatic", HasCount: true, Count: rep.Refunds.Automatic, Amount: -rep.Refunds.AutomaticAmount},
		{Label: "Refunds pending", HasCount: true, Count: rep.Refunds.Pending, Amount: -rep.Refunds.PendingAmount},
		{Label: "Shift net", Amount: rep.ShiftNet},
		{Label: "Late settlements", HasCount: true, Count: rep.Late.Count, Amount: rep.Late.Net},
		{Label: "NET", Amount: rep.Net, Bold: true},
	}}
	doubt := slip.ReportSection{Title: "IN DOUBT"}
	if len(rep.InDoubt) == 0 {
		doubt.Rows = append(doubt.Rows, slip.ReportRow{Label: "None", Text: "-"})
	}
	for _, d := range rep.InDoubt {
		age := (time.Duration(d.AgeSeconds) * time.Second).String()
		doubt.Rows = append(doubt.Rows, slip.ReportRow{Label: d.ID, Amount: d.Amount},
			slip.ReportRow{Label: "  " + string(d.State), Text: age})
	}
	pr.Sections = []slip.ReportSection{states, lines("BY WALLET", rep.ByWallet), lines("BY MODE", rep.ByMode),
		lines("BY OPERATOR", rep.ByOperator), totals, doubt, lateSection(rep), unsettledSection(rep)}
	if rep.SHA256 != "" {
		pr.Footer = []string{"sha256 " + rep.SHA256[:16]}
	}
	return pr
}

// lateSection lays out the late settlements, by earlier Z report: the
// count and net, then the sales, tips and refunds found.
func lateSection(rep *Report) slip.ReportSection {
	s := slip.ReportSection{Title: "LATE SETTLEMENTS"}
	if len(rep.Late.ByZ) == 0 {
		s.Rows = append(s.Rows, slip.ReportRow{Label: "None", Text: "-"})
	}
	for _, z := range rep.Late.ByZ {
		s.Rows = append(s.Rows, slip.ReportRow{Label: "Z #" + strconv.FormatUint(z.Z, 10), HasCount: true, Count: z.Count, Amount: z.Net, Bold: true})
		if z.Sales.Count > 0 {
			s.Rows = append(s.Rows, slip.ReportRow{Label: "  Sales", HasCount: true, Count: z.Sales.Count, Amount: z.Sales.Amount})
		}
		if z.Tips != 0 {
			s.Rows = append(s.Rows, slip.ReportRow{Label: "  Tips", Amount: z.Tips})
		}
		if z.Refunds.Count > 0 {
			s.Rows = append(s.Rows, slip.ReportRow{Label: "  Refunds", HasCount: true, Count: z.Refunds.Count, Amount: -z.Refunds.Amount})
		}
	}
	return s
}

// unsettledSection lists what earlier shifts left unsettled (this shift's
// own payments in doubt are under IN DOUBT).
func unsettledSection(rep *Report) slip.ReportSection {
	s := slip.ReportSection{Title: "UNSETTLED FROM EARLIER SHIFTS"}
	for _, u := range rep.Unsettled {
		if u.Shift == rep.Shift.No {
			continue
		}
		id := u.PaymentID
		if u.Kind == "refund" {
			id = u.RefundID
		}
		s.Rows = append(s.Rows, slip.ReportRow{Label: id, Amount: u.Amount},
			slip.ReportRow{Label: "  Z #" + strconv.FormatUint(u.Z, 10) + " " + u.Kind, Text: u.State})
	}
	if len(s.Rows) == 0 {
		s.Rows = append(s.Rows, slip.ReportRow{Label: "None", Text: "-"})
	}
	return s
}

func (b *Books) PrintableReconciliation(rc *Reconciliation) slip.Report {
	pr := slip.Report{Title: "RECONCILIATION", Number: "Z #" + strconv.FormatUint(rc.Z, 10), Merchant: b.o.Merchant, Currency: b.o.Currency}
	pr.Info = [][2]string{{"Shift", strconv.FormatUint(rc.Shift, 10)}, {"Printed", rc.FinishedAt.Format("2006-01-02 15:04")}}
	s := slip.ReportSection{Title: "TOTALS", Rows: []slip.ReportRow{
		{Label: "Checked", Text: strconv.Itoa(rc.Checked)}, {Label: "Matched", Text: strconv.Itoa(rc.Matched)},
		{Label: "Unanswered", Text: strconv.Itoa(rc.Unanswered)}, {Label: "Skipped", Text: strconv.Itoa(rc.Skipped)},
	}}
	m := slip.ReportSection{Title: "MISMATCHES"}
	if len(rc.Mismatches) == 0 {
		m.Rows = append(m.Rows, slip.ReportRow{Label: "None", Text: "-"})
	}
	for _, x := range rc.Mismatches {
		m.Rows = append(m.Rows, slip.ReportRow{Label: x.OrderID, Amount: x.Amount},
			slip.ReportRow{Label: "  " + x.Kind, Text: " "}, slip.ReportRow{Label: "  " + x.Action, Text: " "})
	}
	pr.Sections = []slip.ReportSection{s, m}
	return pr
}

// CSV is the reconciliation's mismatches as CSV.
func (rc *Reconciliation) CSV() []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write([]string{"z", "shift", "payment_id", "order_id", "amount", "kind", "local", "gateway", "action"})
	for _, m := range rc.Mismatches {
		w.Write([]string{strconv.FormatUint(rc.Z, 10), strconv.FormatUint(rc.Shift, 10), m.PaymentID, m.OrderID,
			strconv.FormatInt(m.Amount, 10), m.Kind, m.Local, m.Gateway, m.Action})
	}
	w.Flush()
	return b.Bytes()
}
