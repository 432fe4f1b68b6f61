package stacktest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/books"
	"github.com/posagent/posagent/agent/refund"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/internal/agenttest"
	"github.com/posagent/posagent/money"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/store"
)

// Late settlements (agent/books/late.go): what settles after its shift's Z
// report is counted by the next report, so that the Z reports' nets add
// up to the gateway's net. These tests run the real engine and simulator
// in synctest bubbles, at the real defaults (60 s scan window, 3 min QR,
// the reconciler's 2 min, 10 min, 1 h schedule).

// zSum reads every stored Z report (checksums verified), oldest first,
// and sums their nets.
func zSum(t *testing.T, e *books.Books) (int64, []*books.Report) {
	t.Helper()
	list, err := e.ZList(0)
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	reps := make([]*books.Report, len(list))
	for i, z := range list {
		rep, _, err := e.ZReport(z.No)
		if err != nil {
			t.Fatal(err)
		}
		reps[len(list)-1-i] = rep
		sum += rep.Net
	}
	return sum, reps
}

// ledgerNet is what the simulator took from customers less what it gave
// back, over every order.
func ledgerNet(sim *ottsim.Sim) int64 {
	var n int64
	for _, o := range sim.Ledger() {
		n += o.Charged - o.Refunded
	}
	return n
}

// closeZ closes the open shift (opening an empty one first when none is
// open) and returns its Z report and stored bytes.
func closeZ(t *testing.T, e *books.Books) (*books.Report, []byte) {
	t.Helper()
	if sh, err := e.CurrentShift(); err != nil {
		t.Fatal(err)
	} else if sh == nil {
		if _, err := e.OpenShift("mia"); err != nil {
			t.Fatal(err)
		}
	}
	z, err := e.CloseShift("mia", false)
	if err != nil {
		t.Fatal(err)
	}
	_, raw, err := e.ZReport(z.Z)
	if err != nil {
		t.Fatal(err)
	}
	return z, raw
}

// checkBalance checks every Z report's arithmetic and that their nets add
// up to the simulator's net.
func checkBalance(t *testing.T, b *bubbleEnv) []*books.Report {
	t.Helper()
	sum, reps := zSum(t, b.bk)
	for _, z := range reps {
		checkSums(t, z)
		checkLate(t, z)
	}
	if want := ledgerNet(b.sim); sum != want {
		for _, z := range reps {
			t.Logf("Z %d: shift net %d, late %+v, net %d", z.Z, z.ShiftNet, z.Late, z.Net)
		}
		t.Fatalf("the Z reports' nets add up to %d; the gateway's net is %d", sum, want)
	}
	return reps
}

// checkLate checks that a report's late settlements add up, by Z and in
// total, and that Net is the shift's net plus the late one.
func checkLate(t *testing.T, rep *books.Report) {
	t.Helper()
	var items, byZ books.LateZ
	for _, it := range rep.Late.Items {
		if it.Net != it.Sales+it.Tips-it.Refunded {
			t.Errorf("late item %+v: net is not sales + tips - refunded", it)
		}
		items.Count++
		items.Sales.Amount += it.Sales
		items.Tips += it.Tips
		items.Refunds.Amount += it.Refunded
		items.Net += it.Net
	}
	for _, z := range rep.Late.ByZ {
		if z.Z == 0 || z.Z >= rep.Z && rep.Kind == "z" {
			t.Errorf("late settlements of Z %d in Z report %d", z.Z, rep.Z)
		}
		byZ.Count += z.Count
		byZ.Sales.Amount += z.Sales.Amount
		byZ.Tips += z.Tips
		byZ.Refunds.Amount += z.Refunds.Amount
		byZ.Net += z.Net
	}
	l := rep.Late
	if items.Count != l.Count || byZ.Count != l.Count || items.Net != l.Net || byZ.Net != l.Net ||
		items.Sales.Amount != l.Sales.Amount || byZ.Sales.Amount != l.Sales.Amount ||
		items.Refunds.Amount != l.Refunds.Amount || byZ.Refunds.Amount != l.Refunds.Amount || items.Tips != l.Tips {
		t.Errorf("late %+v: items sum to %+v, by Z to %+v", l, items, byZ)
	}
	if rep.Net != rep.ShiftNet+l.Net {
		t.Errorf("net %d != shift net %d + late %d", rep.Net, rep.ShiftNet, l.Net)
	}
}

// unsettled finds an item of a report's unsettled list.
func unsettled(rep *books.Report, id string) *books.UnsettledItem {
	for i, u := range rep.Unsettled {
		if u.PaymentID == id && u.Kind == "payment" || u.RefundID == id {
			return &rep.Unsettled[i]
		}
	}
	return nil
}

// scanPay takes a scan payment of amount with a fresh wallet code.
func scanPay(t *testing.T, b *bubbleEnv, amount int64, key string) *agent.Payment {
	t.Helper()
	code, err := b.sim.IssueCode("wechat")
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := b.e.CreatePayment(context.Background(), agent.CreateRequest{Amount: amount, Mode: "scan", AuthCode: code}, agent.IdemKey{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Finding 8 of issue 22: a payment in doubt at the Z report and reversed
// in the next shift put its refund in Z2 and its sale in no Z (the nets
// added up to -25.02 where the gateway's net was 0). Its sale is now a
// late settlement of Z1 in Z2, the X report shows it before, and Z1 stays
// byte for byte what it was.
func TestBubbleReversalAfterTheZBalances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 02: PROCESSING, paid 90 s later: after the 60 s window.
		b := startBubble(t, agent.Options{}, ottsim.Options{PaidAfter: 90 * time.Second})
		defer b.stop()
		sale := scanPay(t, b, 1000, "k1")
		late := scanPay(t, b, 2502, "k2")
		b.waitUntil(late.ID, "in doubt", func(p *agent.Payment) bool { return p.State == agent.InDoubt })
		if p := b.payment(sale.ID); p.State != agent.Succeeded {
			t.Fatalf("sale %s", p.State)
		}
		z1, raw1 := closeZ(t, b.bk)
		if z1.Net != 1000 || len(z1.InDoubt) != 1 || z1.Late.Count != 0 {
			t.Fatalf("Z1: net %d in doubt %+v late %+v", z1.Net, z1.InDoubt, z1.Late)
		}
		if u := unsettled(z1, late.ID); u == nil || u.Z != 1 || u.Shift != 1 || u.State != string(agent.InDoubt) || u.Counted != 0 {
			t.Fatalf("Z1 unsettled %+v", z1.Unsettled)
		}
		// The reconciler finds it paid: the sale was abandoned (in doubt),
		// so it is refunded automatically, in shift 2 (opened by the refund).
		p := b.waitFinal(late.ID)
		if p.State != agent.Reversed || len(p.Refunds) != 1 {
			t.Fatalf("the late payment is %s, refund %+v", p.State, p.Refunds)
		}
		scanPay(t, b, 1500, "k3")
		x, err := b.bk.XReport()
		if err != nil {
			t.Fatal(err)
		}
		if x.Late.Count != 1 || x.Late.Sales.Amount != 2502 || len(x.Late.ByZ) != 1 || x.Late.ByZ[0].Z != 1 || x.Net != 1500 {
			t.Fatalf("X report: late %+v net %d", x.Late, x.Net)
		}
		z2, _ := closeZ(t, b.bk)
		if z2.ShiftNet != 1500-2502 || z2.Refunds.Automatic != 1 || z2.Late.Net != 2502 || z2.Net != 1500 {
			t.Fatalf("Z2: shift net %d refunds %+v late %+v net %d", z2.ShiftNet, z2.Refunds, z2.Late, z2.Net)
		}
		it := z2.Late.Items[0]
		if it.PaymentID != late.ID || it.Z != 1 || it.From != string(agent.InDoubt) || it.State != string(agent.Reversed) || it.Sales != 2502 {
			t.Fatalf("late item %+v", it)
		}
		if len(z2.Unsettled) != 0 {
			t.Fatalf("Z2 unsettled %+v", z2.Unsettled)
		}
		// Through the API, as the POS reads it.
		ctx, status := agenttest.Status(context.Background())
		api, err := b.pos.ZReport(ctx, 2)
		if err != nil || status() != 200 ||
			api.Net != 1500 || api.ShiftNet != -1002 || api.Late.Net != 2502 || len(api.Late.ByZ) != 1 || api.Late.ByZ[0].Z != 1 {
			t.Fatalf("GET /v1/reports/z/2: %d %v %+v", status(), err, api)
		}
		if _, again, _ := b.bk.ZReport(1); !bytes.Equal(again, raw1) {
			t.Fatal("Z1 was rewritten")
		}
		// Printed and CSV: the late section says what the JSON says.
		text := printedText(b.bk.Printable(z2, false), printer.Profile58())
		for label, want := range map[string]string{
			"Z #1":             "1  " + money.Amount(2502).Format("CAD"),
			"Late settlements": "1  " + money.Amount(2502).Format("CAD"),
			"Shift net":        money.Amount(-1002).Format("CAD"),
			"NET":              money.Amount(1500).Format("CAD"),
		} {
			if got := printedValue(text, label); got != want {
				t.Errorf("printed %s %q, want %q\n%s", label, got, want, text)
			}
		}
		if !strings.Contains(text, "LATE SETTLEMENTS") {
			t.Errorf("no late section:\n%s", text)
		}
		zh := printer.Profile80()
		zh.GB18030, zh.Language = true, printer.Chinese
		if text := printedText(b.bk.Printable(z2, false), zh); printedValue(text, "结班后结算") != "1  "+money.Amount(2502).Format("CAD") {
			t.Errorf("Chinese report:\n%s", text)
		}
		csv := string(z2.CSV())
		for _, row := range []string{"late,z1,1,2502,0,0,0,2502\n", "total,late,1,2502,0,0,0,2502\n", "total,net,,,,,,1500\n"} {
			if !strings.Contains(csv, row) {
				t.Errorf("CSV has no %q:\n%s", row, csv)
			}
		}
		checkBalance(t, b)
		// A third Z counts nothing of it again.
		if z3, _ := closeZ(t, b.bk); z3.Late.Count != 0 || z3.Net != 0 {
			t.Fatalf("Z3 late %+v net %d", z3.Late, z3.Net)
		}
		checkBalance(t, b)
	})
}

// A refund in doubt at the Z report (its answer lost, the queries too) is
// found made after it: a late refund of Z1 in Z2.
func TestBubbleRefundInDoubtAtTheZSettlesLate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lost := func() (*gateway.Result, error) {
			return nil, &gateway.Error{Action: gateway.ActionStatusQuery, Outcome: gateway.Unknown, Err: errors.New("read: connection reset by peer")}
		}
		var gw *scriptGateway
		b := startBubble(t, agent.Options{}, ottsim.Options{}, withGateway(func(real *gateway.Client) agent.Gateway {
			gw = &scriptGateway{Gateway: real}
			return gw
		}))
		defer b.stop()
		p := b.waitFinal(scanPay(t, b, 4000, "k1").ID)
		gw.set(func(g *scriptGateway) { g.loseRefund, g.queryDefault = 1, lost })
		amt := int64(1500)
		if _, err := b.e.RefundPayment(context.Background(), p.ID, &amt, agent.IdemKey{Key: "r1"}, refund.By{Operator: "alice"}); err != nil {
			t.Fatal(err)
		}
		p = b.waitUntil(p.ID, "refund in doubt", func(p *agent.Payment) bool { return p.Refunds[0].State == store.RefundInDoubt })
		refund := p.Refunds[0].ID
		z1, _ := closeZ(t, b.bk)
		if z1.Refunds.Pending != 1 || z1.Refunds.Amount != 0 || z1.Net != 4000 {
			t.Fatalf("Z1: refunds %+v net %d", z1.Refunds, z1.Net)
		}
		if u := unsettled(z1, refund); u == nil || u.Kind != "refund" || u.Z != 1 || u.Amount != 1500 {
			t.Fatalf("Z1 unsettled %+v", z1.Unsettled)
		}
		gw.set(func(g *scriptGateway) { g.queryDefault = nil })
		p = b.waitFinal(p.ID)
		if p.Refunds[0].State != store.RefundSucceeded || b.env.ledger()[p.OrderID].Refunded != 1500 {
			t.Fatalf("refund %+v; ledger %+v", p.Refunds[0], b.env.ledger()[p.OrderID])
		}
		x, err := b.bk.XReport()
		if isCode(err, "no_open_shift") { // the refund settled with no shift open
			if _, err := b.bk.OpenShift("mia"); err != nil {
				t.Fatal(err)
			}
			x, err = b.bk.XReport()
		}
		if err != nil {
			t.Fatal(err)
		}
		if x.Late.Refunds.Amount != 1500 || x.Late.Net != -1500 {
			t.Fatalf("X report late %+v", x.Late)
		}
		z2, _ := closeZ(t, b.bk)
		if z2.Late.Count != 1 || z2.Late.Refunds != (books.Totals{Count: 1, Amount: 1500}) || z2.Net != -1500 || z2.Refunds.Amount != 0 {
			t.Fatalf("Z2: late %+v refunds %+v net %d", z2.Late, z2.Refunds, z2.Net)
		}
		if it := z2.Late.Items[0]; it.Kind != "refund" || it.RefundID != refund || it.Z != 1 || it.From != "in_doubt" || it.State != "succeeded" {
			t.Fatalf("late item %+v", it)
		}
		checkBalance(t, b)
	})
}

// A manager settles two in-doubt QR payments by hand after the Z report:
// one paid with its tip (the customer paid, the gateway never answered
// the queries), one not paid. Both are late settlements of Z1: one sale
// and its tip, one with no money.
func TestBubbleResolutionAfterTheZ(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, agent.Options{}, ottsim.Options{})
		defer b.stop()
		sale := b.waitFinal(scanPay(t, b, 1000, "k1").ID)
		var qr [2]*agent.Payment
		for i, amt := range []int64{2500, 3000} {
			tip := int64(300 * (1 - i)) // the one paid has a tip
			p, _, err := b.e.CreatePayment(context.Background(), agent.CreateRequest{Amount: amt, Tip: tip, Mode: "qr", Wallet: "alipay"}, agent.IdemKey{Key: "q" + string(rune('a'+i))})
			if err != nil {
				t.Fatal(err)
			}
			qr[i] = p
		}
		for _, p := range qr {
			b.waitUntil(p.ID, "in doubt", func(p *agent.Payment) bool { return p.State == agent.InDoubt })
		}
		// The gateway answers nothing believable; the customer pays one.
		b.sim.SetFaults(ottsim.Faults{ErrorRate: 1})
		if err := b.sim.Pay(qr[0].OrderID); err != nil {
			t.Fatal(err)
		}
		z1, _ := closeZ(t, b.bk)
		if z1.Net != 1000 || len(z1.InDoubt) != 2 || len(z1.Unsettled) != 2 {
			t.Fatalf("Z1: net %d in doubt %+v unsettled %+v", z1.Net, z1.InDoubt, z1.Unsettled)
		}
		if _, err := b.bk.OpenShift("mia"); err != nil {
			t.Fatal(err)
		}
		for i, outcome := range []string{"paid", "not_paid"} {
			if _, err := b.e.Resolve(qr[i].ID, agent.ResolveRequest{Outcome: outcome, Reason: "merchant portal", Operator: "mia"}, agent.IdemKey{Key: "res" + outcome}); err != nil {
				t.Fatal(err)
			}
		}
		z2, _ := closeZ(t, b.bk)
		if z2.Late.Count != 2 || z2.Late.Sales != (books.Totals{Count: 1, Amount: 2500}) || z2.Late.Tips != 300 || z2.Net != 2800 || z2.ShiftNet != 0 {
			t.Fatalf("Z2: late %+v net %d", z2.Late, z2.Net)
		}
		states := map[string]string{}
		for _, it := range z2.Late.Items {
			states[it.PaymentID] = it.State
			if it.Z != 1 || it.From != string(agent.InDoubt) {
				t.Errorf("late item %+v", it)
			}
		}
		if states[qr[0].ID] != string(agent.Succeeded) || states[qr[1].ID] != string(agent.Cancelled) {
			t.Fatalf("late items %+v", z2.Late.Items)
		}
		if b.payment(sale.ID).State != agent.Succeeded {
			t.Fatal("sale")
		}
		checkBalance(t, b)
	})
}

// A payment the gateway charged stays in doubt through two Z reports (the
// queries fail); the third report, after the reconciler finds it paid and
// refunds it, counts its sale as a late settlement of Z1.
func TestBubbleChargedInDoubtAcrossTwoZs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, agent.Options{}, ottsim.Options{PaidAfter: 90 * time.Second})
		defer b.stop()
		scanPay(t, b, 1000, "k1")
		late := scanPay(t, b, 2502, "k2")
		b.waitUntil(late.ID, "in doubt", func(p *agent.Payment) bool { return p.State == agent.InDoubt })
		b.sim.SetFaults(ottsim.Faults{ErrorRate: 1})
		z1, _ := closeZ(t, b.bk)
		time.Sleep(5 * time.Minute) // paid at 90 s; the queries at 2 min fail
		settle()
		if o := b.env.ledger()[late.OrderID]; o.Charged != 2502 {
			t.Fatalf("ledger %+v", o)
		}
		z2, _ := closeZ(t, b.bk)
		if u := unsettled(z2, late.ID); u == nil || u.Z != 1 || u.Shift != 1 || z2.Late.Count != 0 || z2.Net != 0 {
			t.Fatalf("Z2: unsettled %+v late %+v net %d", z2.Unsettled, z2.Late, z2.Net)
		}
		if csv := string(z2.CSV()); !strings.Contains(csv, "unsettled_payment,"+late.ID+",1,2502,") {
			t.Errorf("Z2 CSV lists no unsettled payment:\n%s", csv)
		}
		if text := printedText(b.bk.Printable(z2, false), printer.Profile58()); !strings.Contains(text, late.ID) {
			t.Errorf("Z2 printed without the payment unsettled since Z1:\n%s", text)
		}
		b.sim.SetFaults(ottsim.Faults{})
		if p := b.waitFinal(late.ID); p.State != agent.Reversed {
			t.Fatalf("state %s", p.State)
		}
		z3, _ := closeZ(t, b.bk)
		if z3.Late.Count != 1 || z3.Late.ByZ[0].Z != 1 || z3.Late.Sales.Amount != 2502 || z3.ShiftNet != -2502 || z3.Net != 0 {
			t.Fatalf("Z3: late %+v shift net %d net %d", z3.Late, z3.ShiftNet, z3.Net)
		}
		if z1.Net != 1000 || len(z3.Unsettled) != 0 {
			t.Fatalf("Z1 net %d, Z3 unsettled %+v", z1.Net, z3.Unsettled)
		}
		checkBalance(t, b)
	})
}

// A journal whose last Z report was made before late settlements existed
// (no unsettled list): the payment its in_doubt list named, reversed
// since, is a late settlement of it; a payment of that shift still in
// doubt (not listed there) is taken from the journal and carried.
func TestLateSettlementsAfterAnOldZReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "posagent.db")
		st, err := store.Open(path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		pay := func(id string, shift uint64, state agent.State, amount int64, refunds ...store.Refund) *store.Payment {
			return &store.Payment{ID: id, OrderID: "P" + id, Mode: "scan", Wallet: "wechat", Amount: amount, Currency: "CAD",
				State: state, CreatedAt: now, UpdatedAt: now, History: []store.HistoryEntry{}, Refunds: append([]store.Refund{}, refunds...), Shift: shift}
		}
		err = st.Update(func(tx *store.Tx) error {
			sh := &store.Shift{Lane: "LANE1", OpenedAt: now.Add(-time.Hour), ClosedAt: now.Add(-time.Minute), Z: 1}
			if err := tx.NewShift(sh); err != nil {
				return err
			}
			old, _ := json.Marshal(map[string]any{"kind": "z", "z": 1, "shift": sh, "net": 0,
				"in_doubt": []books.InDoubtLine{{ID: "pay_a", OrderID: "Ppay_a", State: agent.InDoubt, Amount: 2500, Since: now}}})
			if _, err := tx.AddZ(1, now.Add(-time.Minute), func(uint64) ([]byte, error) { return old, nil }); err != nil {
				return err
			}
			if err := tx.NewShift(&store.Shift{Lane: "LANE1", OpenedAt: now}); err != nil {
				return err
			}
			for _, p := range []*store.Payment{
				pay("pay_a", 1, agent.Reversed, 2500, store.Refund{ID: "ref_a", OrderID: "Rref_a", Amount: 2500, State: store.RefundSucceeded, Auto: true, CreatedAt: now, Shift: 2}),
				pay("pay_b", 1, agent.InDoubt, 700),
				pay("pay_c", 1, agent.Succeeded, 900),
			} {
				if err := tx.PutPayment(p); err != nil {
					return err
				}
			}
			return nil
		})
		st.Close()
		if err != nil {
			t.Fatal(err)
		}
		b := startBubble(t, agent.Options{}, ottsim.Options{}, withJournal(path))
		defer b.stop()
		x, err := b.bk.XReport()
		if err != nil {
			t.Fatal(err)
		}
		checkLate(t, x)
		if !x.Late.Seeded || x.Late.SinceZ != 1 || x.Late.Count != 1 || x.Late.Items[0].PaymentID != "pay_a" || x.Late.Sales.Amount != 2500 ||
			x.ShiftNet != -2500 || x.Net != 0 {
			t.Fatalf("late %+v shift net %d net %d", x.Late, x.ShiftNet, x.Net)
		}
		if u := unsettled(x, "pay_b"); u == nil || u.Z != 1 || u.Shift != 1 || len(x.Unsettled) != 1 {
			t.Fatalf("unsettled %+v", x.Unsettled)
		}
		// The next Z lists its unsettled items: the one after it is not seeded.
		z2, _ := closeZ(t, b.bk)
		z3, _ := closeZ(t, b.bk)
		if !z2.Late.Seeded || z3.Late.Seeded || z3.Late.SinceZ != 2 || unsettled(z3, "pay_b") == nil || z3.Late.Count != 0 {
			t.Fatalf("Z2 late %+v; Z3 late %+v unsettled %+v", z2.Late, z3.Late, z3.Unsettled)
		}
	})
}

// Z reports closed every 45 s while payments go in doubt, are found paid
// and reversed, are closed unpaid, are paid slowly and refunded: whatever
// each Z caught in flight, once everything settled the Z reports' nets add
// up to the gateway's net, and no payment is counted late twice.
func TestBubbleZReportsWhileMoneySettles(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, agent.Options{}, ottsim.Options{PaidAfter: 90 * time.Second, SlowReply: 20 * time.Second})
		defer b.stop()
		ctx, stop := context.WithCancel(context.Background())
		closer := make(chan error, 1)
		go func() { // the manager, closing a shift every 45 s
			for {
				select {
				case <-ctx.Done():
					closer <- nil
					return
				case <-time.After(45 * time.Second):
				}
				if _, err := b.bk.CloseShift("mia", false); err != nil && !isCode(err, "no_open_shift") {
					closer <- err
					return
				}
			}
		}()
		var ids []string
		// 00 paid at once, 02 paid after the window (reversed), 03 never
		// paid (closed), 06 paid with a slow answer.
		for i, cents := range []int64{1000, 2502, 1203, 1806, 1100, 3302, 1403, 2206, 1200, 4102, 1503, 1306} {
			p := scanPay(t, b, cents, "k"+string(rune('a'+i)))
			ids = append(ids, p.ID)
			if i%3 == 0 {
				if p = b.waitFinal(p.ID); p.State == agent.Succeeded {
					amt := p.Amount / 2
					if _, err := b.e.RefundPayment(context.Background(), p.ID, &amt, agent.IdemKey{Key: "r" + p.ID}, refund.By{Operator: "alice"}); err != nil {
						t.Fatal(err)
					}
				}
			}
			time.Sleep(time.Duration(7+i*11%40) * time.Second)
		}
		for _, id := range ids {
			b.waitFinal(id)
		}
		stop()
		if err := <-closer; err != nil {
			t.Fatal(err)
		}
		closeZ(t, b.bk)
		reps := checkBalance(t, b)
		if len(reps) < 3 {
			t.Fatalf("only %d Z reports", len(reps))
		}
		lateOnce := map[string]int{}
		lateCount := 0
		for _, z := range reps {
			for _, it := range z.Late.Items {
				lateOnce[it.Kind+it.PaymentID+it.RefundID]++
				lateCount++
			}
		}
		for k, n := range lateOnce {
			if n > 1 {
				t.Errorf("%s counted late %d times", k, n)
			}
		}
		t.Logf("%d Z reports, %d late settlements", len(reps), lateCount)
		if lateCount == 0 {
			t.Fatal("no late settlement: the test did not catch anything in flight")
		}
		if last := reps[len(reps)-1]; len(last.Unsettled) != 0 {
			t.Fatalf("the last Z has unsettled items %+v", last.Unsettled)
		}
	})
}

func isCode(err error, code agent.Code) bool {
	var oe *agent.OpError
	return errors.As(err, &oe) && oe.Code == code
}
