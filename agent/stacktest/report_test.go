package stacktest

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/books"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/internal/agenttest"
	"github.com/posagent/posagent/money"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/store"
)

// update rewrites the Z report sample in docs/reports.md (TestZReportOfAMixedDay).
var update = flag.Bool("update", false, "rewrite docs/reports-z-sample.json and .png")

// reportAPI configures the report tests' operators and books.
var reportAPI = APIConf{Operators: []APIOperator{{"alice", "cashier"}, {"bob", "cashier"}, {"mia", "manager"}}, Books: reportBooks()}

func reportOptions() agent.Options {
	o := testOptions()
	o.ReconcileSpread = 0
	return o
}

func reportBooks() books.Options {
	return books.Options{ReconcileRate: 500, Location: time.FixedZone("EST", -5*3600)}
}

// checkSums checks that every grouping's lines add up to the totals.
func checkSums(t *testing.T, rep *books.Report) {
	t.Helper()
	var n int
	var amt int64
	for _, l := range rep.ByState {
		n, amt = n+l.Count, amt+l.Amount
	}
	if n != rep.Payments.Count || amt != rep.Payments.Amount {
		t.Errorf("by state: %d payments %d, totals %+v", n, amt, rep.Payments)
	}
	for name, ls := range map[string][]books.Line{"wallet": rep.ByWallet, "mode": rep.ByMode, "operator": rep.ByOperator} {
		var s books.Line
		for _, l := range ls {
			if l.Net != l.Amount+l.Tips-l.Refunded {
				t.Errorf("by %s %s: net %d != %d + %d - %d", name, l.Key, l.Net, l.Amount, l.Tips, l.Refunded)
			}
			s.Count, s.Amount, s.Tips, s.Refunds, s.Refunded, s.Net = s.Count+l.Count, s.Amount+l.Amount, s.Tips+l.Tips, s.Refunds+l.Refunds, s.Refunded+l.Refunded, s.Net+l.Net
		}
		if s.Count != rep.Sales.Count || s.Amount != rep.Sales.Amount || s.Tips != rep.Tips ||
			s.Refunds != rep.Refunds.Count || s.Refunded != rep.Refunds.Amount || s.Net != rep.ShiftNet {
			t.Errorf("by %s: lines sum to %+v; totals sales %+v tips %d refunds %+v shift net %d", name, s, rep.Sales, rep.Tips, rep.Refunds, rep.ShiftNet)
		}
	}
	if rep.ShiftNet != rep.Sales.Amount+rep.Tips-rep.Refunds.Amount {
		t.Errorf("shift net %d != sales %d + tips %d - refunds %d", rep.ShiftNet, rep.Sales.Amount, rep.Tips, rep.Refunds.Amount)
	}
	if rep.Net != rep.ShiftNet+rep.Late.Net {
		t.Errorf("net %d != shift net %d + late settlements %d", rep.Net, rep.ShiftNet, rep.Late.Net)
	}
}

// A mixed day through the real engine and simulator: scan and qr, every
// outcome the simulator offers, two cashiers, partial and full refunds, an
// automatic reversal, one payment in doubt. The Z report's totals are
// checked against the simulator's ledger, a refund planted behind the
// agent's back shows in the reconciliation, and the printed report, read
// back from the virtual printer's rendering, says what the JSON says.
func TestZReportOfAMixedDay(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, reportOptions(), reportAPI)

	ctx, status := agenttest.Status(context.Background())
	if sh, err := a.pos.OpenShift(ctx, "mia"); status() != 201 || err != nil || sh.No != 1 {
		t.Fatalf("open shift: %d %v %+v", status(), err, sh)
	}
	ctx, status = agenttest.Status(context.Background())
	if _, err := a.pos.OpenShift(ctx, "mia"); status() != 409 || apiCode(err) != "shift_open" {
		t.Fatalf("second open: %d %v", status(), err)
	}
	var ids []string
	pay := func(r client.PaymentRequest) *client.Payment {
		t.Helper()
		s, p, err := a.pos.pay(r)
		if s != 201 || err != nil {
			t.Fatalf("create %+v: %d %v", r, s, err)
		}
		ids = append(ids, p.ID)
		return p
	}
	// Scan: every outcome (the last two digits of the amount).
	code := 500
	for i, cents := range []int64{1000, 1201, 1302, 1403, 1504, 1605, 1706, 2500, 1800, 4200} {
		code++
		op := []string{"alice", "bob"}[i%2]
		c := wechatCode(code)
		if i%3 == 1 {
			c = alipayCode(code)
		}
		pay(client.PaymentRequest{Amount: cents, Mode: "scan", AuthCode: c, Operator: op})
	}
	// QR: paid, declined, never paid, and one the cashier cancels that the
	// customer pays anyway (an automatic reversal).
	q1 := pay(client.PaymentRequest{Amount: 3000, Mode: "qr", Wallet: "wechat", Operator: "alice"})
	if err := sim.sim.Pay(q1.OrderID); err != nil {
		t.Fatal(err)
	}
	a.pos.CreatePayment(context.Background(), client.PaymentRequest{Amount: 3101, Mode: "qr", Wallet: "alipay", Operator: "bob"}) // declined: the journal lists it below
	pay(client.PaymentRequest{Amount: 3203, Mode: "qr", Wallet: "alipay", Operator: "bob"})
	q4 := pay(client.PaymentRequest{Amount: 3300, Mode: "qr", Wallet: "alipay", Operator: "bob"})
	if s, _, err := a.pos.cancel(q4.ID); s != 200 || err != nil {
		t.Fatalf("cancel: %d %v", s, err)
	}
	if err := sim.sim.Pay(q4.OrderID); err != nil {
		t.Fatal(err)
	}
	// The day's list, from the journal (the declined qr payment included).
	ids = ids[:0]
	a.st.View(func(tx *store.Tx) error {
		return tx.ForEachPayment(false, "", func(p *store.Payment) (bool, error) { ids = append(ids, p.ID); return true, nil })
	})
	for _, id := range ids {
		a.waitFinal(id)
	}
	// Refunds: part of one, all of another (by the other cashier).
	byAmount := map[int64]*agent.Payment{}
	for _, id := range ids {
		p := a.payment(id)
		byAmount[p.Amount] = p
	}
	if s, _, err := a.pos.refundAs(byAmount[2500].ID, client.RefundRequest{Amount: 1000, Operator: "bob"}); s != 201 && s != 200 {
		t.Fatalf("partial refund: %d %v", s, err)
	}
	if s, _, err := a.pos.refundAs(byAmount[1800].ID, client.RefundRequest{Operator: "alice"}); s != 201 && s != 200 {
		t.Fatalf("full refund: %d %v", s, err)
	}
	for _, id := range ids {
		a.waitFinal(id)
	}
	if p := a.payment(q4.ID); p.State != agent.Reversed {
		t.Fatalf("the cancelled qr payment is %s, want reversed", p.State)
	}
	// One payment in doubt: the gateway answers nothing believable.
	sim.sim.SetFaults(ottsim.Faults{ErrorRate: 1})
	doubt := pay(client.PaymentRequest{Amount: 5000, Mode: "scan", AuthCode: wechatCode(900), Operator: "alice"})
	a.waitUntil(doubt.ID, "in doubt", func(p *agent.Payment) bool { return p.State == agent.InDoubt })
	// The merchant portal refunds 1.00 of a sale behind the agent's back.
	if err := sim.sim.RefundBehind(byAmount[4200].OrderID, 100); err != nil {
		t.Fatal(err)
	}

	x := a.pos.report(a.pos.XReport(context.Background()))
	ctx, status = agenttest.Status(context.Background())
	closed, err := a.pos.CloseShift(ctx, "mia", false)
	if status() != 201 || err != nil {
		t.Fatalf("close: %d %v", status(), err)
	}
	z := *a.pos.report(closed, nil)
	sim.sim.SetFaults(ottsim.Faults{})
	if z.Kind != "z" || z.Z != 1 || z.Shift.No != 1 || z.Shift.ClosedBy != "mia" || z.SHA256 == "" {
		t.Fatalf("Z report header: %+v", z)
	}
	if x.Net != z.Net || x.Sales != z.Sales || x.Kind != "x" {
		t.Fatalf("X before the close %+v, Z %+v", x, z)
	}
	checkSums(t, &z)
	if _, off := z.GeneratedAt.Zone(); off != -5*3600 || z.TimeZone != "EST" {
		t.Errorf("report time %v zone %q: want the shop's zone", z.GeneratedAt, z.TimeZone)
	}

	// Against the simulator's ledger: what it charged and refunded on
	// this shift's orders (less the portal's refund, which the journal
	// cannot know), and the journal's own states.
	ledger := sim.ledger()
	var charged, refunded, orders int64
	states := map[string]int{}
	for _, id := range ids {
		p := a.payment(id)
		states[string(p.State)]++
		if p.State == agent.InDoubt {
			continue
		}
		o, ok := ledger[p.OrderID]
		if !ok {
			continue
		}
		charged += o.Charged
		refunded += o.Refunded
		if o.Charged > 0 {
			orders++
		}
	}
	refunded -= 100
	if z.Sales.Amount != charged || int64(z.Sales.Count) != orders {
		t.Errorf("sales %+v; the simulator charged %d on %d orders", z.Sales, charged, orders)
	}
	if z.Refunds.Amount != refunded || z.Refunds.Automatic != 1 || z.Refunds.AutomaticAmount != 3300 || z.Refunds.Count != 3 {
		t.Errorf("refunds %+v; the simulator refunded %d (one automatic reversal of 3300)", z.Refunds, refunded)
	}
	if z.Net != charged-refunded {
		t.Errorf("net %d; the simulator's net %d", z.Net, charged-refunded)
	}
	for _, l := range z.ByState {
		if states[l.Key] != l.Count {
			t.Errorf("state %s: %d in the report, %d in the journal", l.Key, l.Count, states[l.Key])
		}
	}
	if len(z.InDoubt) != 1 || z.InDoubt[0].ID != doubt.ID || z.InDoubt[0].Amount != 5000 {
		t.Errorf("in doubt %+v, want %s", z.InDoubt, doubt.ID)
	}
	ops := map[string]books.Line{}
	for _, l := range z.ByOperator {
		ops[l.Key] = l
	}
	if ops["alice"].Count == 0 || ops["bob"].Count == 0 || ops["bob"].Refunded != 1000 || ops["alice"].Refunded != 1800 {
		t.Errorf("by operator %+v", z.ByOperator)
	}
	if z.LastEventSeq == 0 || z.Tips != 0 {
		t.Errorf("last event %d tips %d", z.LastEventSeq, z.Tips)
	}

	// Stored: the same report, reprintable; the shift is closed; CSV totals.
	again := a.pos.report(a.pos.ZReport(context.Background(), 1))
	if again.SHA256 != z.SHA256 || again.Net != z.Net {
		t.Errorf("reread Z %+v", again)
	}
	ctx, status = agenttest.Status(context.Background())
	if _, err := a.pos.XReport(ctx); status() != 404 || apiCode(err) != "no_open_shift" {
		t.Errorf("X after the close: %d %v", status(), err)
	}
	ctx, status = agenttest.Status(context.Background())
	if csvBody, err := a.pos.ZReportFile(ctx, 1, client.FormatCSV, ""); status() != 200 || err != nil || !strings.Contains(string(csvBody), fmt.Sprintf("total,sales,%d,%d,", z.Sales.Count, z.Sales.Amount)) {
		t.Errorf("csv %d %v %s", status(), err, csvBody)
	}
	ctx, status = agenttest.Status(context.Background())
	if png, err := a.pos.ZReportFile(ctx, 1, client.FormatPNG, "58mm"); status() != 200 || err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Errorf("png %d %v", status(), err)
	}

	// The reconciliation after the Z report finds the planted refund.
	var rc *client.Reconciliation
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, status = agenttest.Status(context.Background())
		if rc, err = a.pos.Reconciliation(ctx, 1); err == nil && status() == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reconciliation: %d %v", status(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The books reconcile as soon as the Z is made (ReconcileSpread 0),
	// which can be before the faults above are cleared on a loaded
	// machine: then its orders are counted unanswered, and a manager
	// reconciles again (POST /v1/reports/z/1/reconcile).
	if rc.Unanswered > 0 {
		if rc, err = a.pos.Reconcile(context.Background(), 1); err != nil {
			t.Fatalf("reconcile again: %v", err)
		}
	}
	if len(rc.Mismatches) != 1 || rc.Mismatches[0].OrderID != byAmount[4200].OrderID || rc.Mismatches[0].Kind != "gateway_refunded" || rc.Mismatches[0].Refunded != 100 {
		t.Fatalf("reconciliation %+v", rc)
	}
	if rc.Checked == 0 || rc.Matched+len(rc.Mismatches)+rc.Unanswered != rc.Checked {
		t.Errorf("reconciliation counts %+v", rc)
	}
	// Raw HTTP: the Prometheus scrape is no call of the POS API.
	if s, metrics := a.raw("GET", "/metrics", nil); s != 200 || !strings.Contains(string(metrics), `posagent_reconciliation_mismatches{z="1"} 1`) {
		t.Errorf("metrics %d:\n%s", s, metrics)
	}

	// Printed on 58 and 80 mm, read back from the virtual printer's
	// rendering: the totals are the JSON's.
	for _, prof := range []printer.Profile{printer.Profile58(), printer.Profile80()} {
		whole := printedText(a.bk.Printable(&z, false), prof)
		text := whole[strings.Index(whole, "TOTALS"):]
		for label, want := range map[string]string{
			"Sales":    fmt.Sprintf("%d  %s", z.Sales.Count, money.Amount(z.Sales.Amount).Format("CAD")),
			"Refunds":  fmt.Sprintf("%d  %s", z.Refunds.Count, money.Amount(-z.Refunds.Amount).Format("CAD")),
			"NET":      money.Amount(z.Net).Format("CAD"),
			"Payments": fmt.Sprintf("%d  %s", z.Payments.Count, money.Amount(z.Payments.Amount).Format("CAD")),
		} {
			if got := printedValue(text, label); got != want {
				t.Errorf("%s: printed %s %q, JSON %q\n%s", prof.Name, label, got, want, text)
			}
		}
		if !strings.Contains(whole, "Z REPORT #1") || !strings.Contains(whole, doubt.ID) {
			t.Errorf("%s: title or in-doubt payment missing:\n%s", prof.Name, whole)
		}
	}
	if *update { // the sample in docs/reports.md
		js, _ := json.MarshalIndent(z, "", "  ")
		png, err := printer.RenderReportPNG(a.bk.Printable(&z, false), printer.Profile58())
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile("../../docs/reports-z-sample.json", append(js, '\n'), 0o644)
		os.WriteFile("../../docs/reports-z-sample.png", png, 0o644)
	}
	zh := printer.Profile80()
	zh.GB18030, zh.Language = true, printer.Chinese
	if text := printedText(a.bk.Printable(&z, false), zh); printedValue(text, "净额") != money.Amount(z.Net).Format("CAD") {
		t.Errorf("Chinese report:\n%s", text)
	}
}

// printedText renders a report's ESC/POS bytes as the virtual printer
// does and returns the text it printed.
func printedText(r printer.Report, p printer.Profile) string {
	pages := printer.RenderWith(printer.EncodeReport(r, p), printer.InterpreterOptions{Width: p.Normalize().Dots})
	var b strings.Builder
	for _, pg := range pages {
		b.WriteString(pg.Text())
	}
	return b.String()
}

var spaces = regexp.MustCompile(`\s{2,}`)

// printedValue is what a "label ... value" line printed after its label.
func printedValue(text, label string) string {
	for _, l := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(l), label+" "); ok {
			f := spaces.Split(strings.TrimSpace(rest), -1)
			if len(f) > 0 {
				return strings.Join(f, "  ")
			}
		}
	}
	return ""
}

// report is a report the typed client read (XReport, ZReport, CloseShift)
// as the books' own type, for checkSums and the books' printer; no field
// is lost on the way (client's TestTypesMatchTheAPI).
func (p pos) report(r *client.Report, err error) *books.Report {
	p.t.Helper()
	if err != nil {
		p.t.Fatalf("report: %v", err)
	}
	j, err := json.Marshal(r)
	if err != nil {
		p.t.Fatal(err)
	}
	var b books.Report
	if err := json.Unmarshal(j, &b); err != nil {
		p.t.Fatal(err)
	}
	return &b
}
