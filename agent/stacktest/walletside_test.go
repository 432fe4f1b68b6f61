package stacktest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/books"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/internal/agenttest"
	"github.com/posagent/posagent/printer"
)

// The wallet's side of a payment (buyer account, wallet time, the
// wallet's transaction number) is kept from the answers, printed on the
// receipt, exported, and a payment is found by a part of its transaction
// number.
func TestWalletSideKeptPrintedFound(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	pr := &recordingPrinter{}
	o := testOptions()
	o.Printer, o.AutoPrint = pr, true
	tor, err := time.LoadLocation("America/Toronto") // time/tzdata is linked in
	if err != nil {
		t.Fatal(err)
	}
	// the shop's zone (the books'); the simulator answers trade_time in UTC (o.GatewayZone nil)
	a := startAgent(t, "", gw, o, APIConf{Books: books.Options{Location: tor}})
	var ps []*agent.Payment
	for i, req := range []client.PaymentRequest{
		{Amount: 1250, Mode: "scan", AuthCode: wechatCode(5101), Reference: "INV-51"},
		{Amount: 900, Mode: "scan", AuthCode: alipayCode(5102)},
		{Amount: 1202, Mode: "scan", AuthCode: wechatCode(5103)}, // paid after a query
	} {
		s, p, err := a.pos.pay(req)
		if s != 201 || err != nil {
			t.Fatalf("%d: %d %v", i, s, err)
		}
		ps = append(ps, a.waitFinal(p.ID))
	}
	for _, p := range ps {
		w := p.WalletSide
		if p.State != agent.Succeeded || w == nil || w.BuyerLoginID != "sim_"+p.Wallet+"_buyer" || len(w.TradeTime) != 14 || len(w.TransactionID) != 28 {
			t.Fatalf("payment %s %s: wallet side %+v", p.ID, p.State, w)
		}
		// The wallet's time is read as a time (UTC digits from the
		// simulator) and it is the time of the payment, to the second.
		if want, _ := time.ParseInLocation("20060102150405", w.TradeTime, time.UTC); !w.TradeAt.Equal(want) || w.TradeAt.Sub(p.UpdatedAt).Abs() > 2*time.Second {
			t.Errorf("payment %s: trade_at %v from trade_time %s, want %v, near the payment's %v", p.ID, w.TradeAt, w.TradeTime, want, p.UpdatedAt)
		}
		if p.Answer != nil && p.Answer.Wallet != nil {
			t.Errorf("the wallet's side is kept twice (also on the answer): %+v", p.Answer)
		}
	}
	wx := ps[0].WalletSide.TransactionID
	if !strings.HasPrefix(wx, "42000") {
		t.Fatalf("a WeChat transaction number %q", wx)
	}

	// Found by a part of the transaction number, as typed from the phone.
	ctx := context.Background()
	for _, find := range []string{wx, wx[:22], wx[len(wx)-8:]} {
		pg, err := a.pos.Payments(ctx, client.ListQuery{Find: find})
		if err != nil || len(pg.Payments) != 1 || pg.Payments[0].ID != ps[0].ID {
			t.Fatalf("find %q: %v %+v", find, err, pg)
		}
	}
	sctx, status := agenttest.Status(ctx)
	if _, err := a.pos.Payments(sctx, client.ListQuery{Find: "420"}); status() != 400 || apiCode(err) != "invalid_find" {
		t.Fatalf("a 3-character find: %d %v", status(), err)
	}
	if pg, err := a.pos.Payments(ctx, client.ListQuery{Reference: "INV-51"}); err != nil || len(pg.Payments) != 1 || pg.Payments[0].ID != ps[0].ID {
		t.Fatalf("by reference: %v %+v", err, pg)
	}

	// Printed.
	var r printer.Receipt
	a.waitUntilPrinted(pr, ps[0].ID, &r)
	text := printer.Render(printer.Encode(r, printer.Profile{Location: tor}), 576)[0].Text()
	shopTime := ps[0].WalletSide.TradeAt.In(tor)
	for _, want := range []string{"Buyer", "sim_wechat_buyer", "Wallet txn", wx, "Wallet time", shopTime.Format("2006-01-02 15:04:05")} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, ps[0].WalletSide.TradeTime) {
		t.Errorf("the receipt prints the wire format %s:\n%s", ps[0].WalletSide.TradeTime, text)
	}
	// Exported, in the shop's zone.
	raw := export(t, a.pos, client.FormatCSV)
	if !strings.Contains(string(raw), ",sim_wechat_buyer,"+shopTime.Format(time.RFC3339)+","+wx+",") || strings.Contains(string(raw), ps[0].WalletSide.TradeTime) {
		t.Fatalf("csv export, want the wallet time %s:\n%s", shopTime.Format(time.RFC3339), raw)
	}
}
