package agent

import (
	"bytes"
	"context"
	"encoding/csv"
	"net/http"
	"strconv"
	"time"

	"github.com/posagent/posagent/printer"
)

// ReportPrinter prints and draws reports with the printer's own profile
// (paper, language, font).
type ReportPrinter interface {
	PrintReport(ctx context.Context, r printer.Report) error
	RenderReport(r printer.Report) ([]byte, error)
}

// reportRoutes registers the shift and report routes: opening and closing
// shifts and reconciling are the manager's; reading and printing reports
// are the POS's too.
func (e *Engine) reportRoutes(d *door) {
	d.handle("GET /v1/shifts/current", readRoles, "", e.hShiftCurrent)
	d.handle("POST /v1/shifts/open", mgrRoles, "shift.open", e.hShiftOpen)
	d.handle("POST /v1/shifts/close", mgrRoles, "shift.close", e.hShiftClose)
	d.handle("GET /v1/reports/x", readRoles, "", e.hReportX)
	d.handle("POST /v1/reports/x/print", posRoles, "report.print", e.hReportXPrint)
	d.handle("GET /v1/reports/z", readRoles, "", e.hReportZList)
	d.handle("GET /v1/reports/z/{n}", readRoles, "", e.hReportZ)
	d.handle("POST /v1/reports/z/{n}/print", posRoles, "report.print", e.hReportZPrint)
	d.handle("GET /v1/reports/z/{n}/reconciliation", readRoles, "", e.hReconciliation)
	d.handle("POST /v1/reports/z/{n}/reconcile", mgrRoles, "report.reconcile", e.hReconcile)
}

type shiftRequest struct {
	Operator string `json:"operator"`
	// Print: print the Z report when the shift closes.
	Print bool `json:"print"`
}

func (e *Engine) hShiftCurrent(w http.ResponseWriter, r *http.Request) {
	sh, err := e.CurrentShift()
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"shift": sh})
}

func (e *Engine) hShiftOpen(w http.ResponseWriter, r *http.Request) {
	var req shiftRequest
	if _, err := request(w, r, &req, true); err != nil {
		writeErr(w, err)
		return
	}
	sh, err := e.OpenShift(req.Operator)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 201, sh)
}

func (e *Engine) hShiftClose(w http.ResponseWriter, r *http.Request) {
	var req shiftRequest
	if _, err := request(w, r, &req, true); err != nil {
		writeErr(w, err)
		return
	}
	rep, err := e.CloseShift(req.Operator, false)
	if err != nil {
		writeErr(w, err)
		return
	}
	if req.Print {
		if err := e.PrintReport(r.Context(), rep, false); err != nil {
			e.log.Warn("agent: Z report not printed (it is stored: print it again)", "z", rep.Z, "err", err)
		}
	}
	writeJSON(w, 201, rep)
}

func (e *Engine) hReportX(w http.ResponseWriter, r *http.Request) {
	rep, err := e.XReport()
	if err != nil {
		writeErr(w, err)
		return
	}
	e.writeReport(w, r, rep)
}

func (e *Engine) hReportXPrint(w http.ResponseWriter, r *http.Request) {
	rep, err := e.XReport()
	if err == nil {
		err = e.PrintReport(r.Context(), rep, false)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, rep)
}

func zNumber(r *http.Request) (uint64, error) {
	n, err := strconv.ParseUint(r.PathValue("n"), 10, 64)
	if err != nil || n == 0 {
		return 0, errf(400, "invalid_field", "Z report number %q is not a positive integer", r.PathValue("n"))
	}
	return n, nil
}

func (e *Engine) hReportZList(w http.ResponseWriter, r *http.Request) {
	zs, err := e.ZList(0)
	if err != nil {
		writeErr(w, err)
		return
	}
	if zs == nil {
		writeJSON(w, 200, map[string]any{"reports": []any{}})
		return
	}
	writeJSON(w, 200, map[string]any{"reports": zs})
}

func (e *Engine) hReportZ(w http.ResponseWriter, r *http.Request) {
	n, err := zNumber(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	rep, _, err := e.ZReport(n)
	if err != nil {
		writeErr(w, err)
		return
	}
	e.writeReport(w, r, rep)
}

func (e *Engine) hReportZPrint(w http.ResponseWriter, r *http.Request) {
	n, err := zNumber(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	rep, _, err := e.ZReport(n)
	if err == nil {
		err = e.PrintReport(r.Context(), rep, true)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, rep)
}

func (e *Engine) hReconciliation(w http.ResponseWriter, r *http.Request) {
	n, err := zNumber(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	rc, err := e.LastReconciliation(n)
	if err != nil {
		writeErr(w, err)
		return
	}
	e.writeReconciliation(w, r, rc)
}

func (e *Engine) hReconcile(w http.ResponseWriter, r *http.Request) {
	n, err := zNumber(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	rc, err := e.Reconcile(r.Context(), n)
	if err != nil {
		writeErr(w, err)
		return
	}
	e.writeReconciliation(w, r, rc)
}

// writeReport answers with ?format=json (default), csv or png (?paper=58mm
// for a 58 mm picture when no printer draws it).
func (e *Engine) writeReport(w http.ResponseWriter, r *http.Request, rep *Report) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		writeJSON(w, 200, rep)
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Write(rep.CSV())
	case "png":
		e.writePNG(w, r, e.printable(rep, false))
	default:
		writeErr(w, errf(400, "invalid_format", "format must be json, csv or png, got %q", f))
	}
}

func (e *Engine) writeReconciliation(w http.ResponseWriter, r *http.Request, rc *Reconciliation) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		writeJSON(w, 200, rc)
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Write(rc.CSV())
	case "png":
		e.writePNG(w, r, e.printableReconciliation(rc))
	default:
		writeErr(w, errf(400, "invalid_format", "format must be json, csv or png, got %q", f))
	}
}

func (e *Engine) writePNG(w http.ResponseWriter, r *http.Request, pr printer.Report) {
	var b []byte
	var err error
	paper := r.URL.Query().Get("paper")
	if e.o.Reports != nil && paper == "" {
		b, err = e.o.Reports.RenderReport(pr)
	} else {
		prof := printer.Profile80()
		if paper == "58mm" || paper == "58" {
			prof = printer.Profile58()
		}
		b, err = printer.RenderReportPNG(pr, prof)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(b)
}

// PrintReport prints a report on the receipt printer.
func (e *Engine) PrintReport(ctx context.Context, rep *Report, reprint bool) error {
	if e.o.Reports == nil {
		return errf(422, "no_printer", "no printer is configured to print reports")
	}
	pctx, cancel := context.WithTimeout(ctx, e.o.PrintTimeout)
	defer cancel()
	if err := e.o.Reports.PrintReport(pctx, e.printable(rep, reprint)); err != nil {
		return errf(503, "printer_error", "the report was not printed: %v", err)
	}
	return nil
}

// printable lays a report out for the printer.
func (e *Engine) printable(rep *Report, reprint bool) printer.Report {
	loc := e.location()
	tf := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.In(loc).Format("2006-01-02 15:04")
	}
	pr := printer.Report{Title: "X REPORT", Merchant: rep.Merchant, Currency: rep.Currency, Reprint: reprint}
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
	lines := func(title string, ls []Line) printer.ReportSection {
		s := printer.ReportSection{Title: title}
		for _, l := range ls {
			s.Rows = append(s.Rows, printer.ReportRow{Label: l.Key, HasCount: true, Count: l.Count, Amount: l.Amount})
			if l.Refunds > 0 {
				s.Rows = append(s.Rows, printer.ReportRow{Label: "  " + printer.ReportLabel("Refunds", ""), HasCount: true, Count: l.Refunds, Amount: -l.Refunded})
			}
		}
		return s
	}
	states := printer.ReportSection{Title: "PAYMENTS BY STATE"}
	for _, l := range rep.ByState {
		states.Rows = append(states.Rows, printer.ReportRow{Label: l.Key, HasCount: true, Count: l.Count, Amount: l.Amount})
	}
	totals := printer.ReportSection{Title: "TOTALS", Rows: []printer.ReportRow{
		{Label: "Payments", HasCount: true, Count: rep.Payments.Count, Amount: rep.Payments.Amount},
		{Label: "Sales", HasCount: true, Count: rep.Sales.Count, Amount: rep.Sales.Amount},
		{Label: "Tips", Amount: rep.Tips},
		{Label: "Refunds", HasCount: true, Count: rep.Refunds.Count, Amount: -rep.Refunds.Amount},
		{Label: "of which automatic", HasCount: true, Count: rep.Refunds.Automatic, Amount: -rep.Refunds.AutomaticAmount},
		{Label: "Refunds pending", HasCount: true, Count: rep.Refunds.Pending, Amount: -rep.Refunds.PendingAmount},
		{Label: "NET", Amount: rep.Net, Bold: true},
	}}
	doubt := printer.ReportSection{Title: "IN DOUBT"}
	if len(rep.InDoubt) == 0 {
		doubt.Rows = append(doubt.Rows, printer.ReportRow{Label: "None", Text: "-"})
	}
	for _, d := range rep.InDoubt {
		age := (time.Duration(d.AgeSeconds) * time.Second).String()
		doubt.Rows = append(doubt.Rows, printer.ReportRow{Label: d.ID, Amount: d.Amount},
			printer.ReportRow{Label: "  " + string(d.State), Text: age})
	}
	pr.Sections = []printer.ReportSection{states, lines("BY WALLET", rep.ByWallet), lines("BY MODE", rep.ByMode),
		lines("BY OPERATOR", rep.ByOperator), totals, doubt}
	if rep.SHA256 != "" {
		pr.Footer = []string{"sha256 " + rep.SHA256[:16]}
	}
	return pr
}

func (e *Engine) printableReconciliation(rc *Reconciliation) printer.Report {
	pr := printer.Report{Title: "RECONCILIATION", Number: "Z #" + strconv.FormatUint(rc.Z, 10), Merchant: e.o.MerchantName, Currency: e.o.Currency}
	pr.Info = [][2]string{{"Shift", strconv.FormatUint(rc.Shift, 10)}, {"Printed", rc.FinishedAt.Format("2006-01-02 15:04")}}
	s := printer.ReportSection{Title: "TOTALS", Rows: []printer.ReportRow{
		{Label: "Checked", Text: strconv.Itoa(rc.Checked)}, {Label: "Matched", Text: strconv.Itoa(rc.Matched)},
		{Label: "Unanswered", Text: strconv.Itoa(rc.Unanswered)}, {Label: "Skipped", Text: strconv.Itoa(rc.Skipped)},
	}}
	m := printer.ReportSection{Title: "MISMATCHES"}
	if len(rc.Mismatches) == 0 {
		m.Rows = append(m.Rows, printer.ReportRow{Label: "None", Text: "-"})
	}
	for _, x := range rc.Mismatches {
		m.Rows = append(m.Rows, printer.ReportRow{Label: x.OrderID, Amount: x.Amount},
			printer.ReportRow{Label: "  " + x.Kind, Text: " "}, printer.ReportRow{Label: "  " + x.Action, Text: " "})
	}
	pr.Sections = []printer.ReportSection{s, m}
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
