package stacktest

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/internal/agenttest"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/store"
)

// startSimWith is startSim with simulator options changed.
func startSimWith(t *testing.T, edit func(*ottsim.Options)) *simEnv {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o := simOptions()
	o.Logger = testLogger(t)
	edit(&o)
	s := ottsim.New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, l) }()
	env := &simEnv{sim: s, url: "http://" + l.Addr().String()}
	env.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sim: %v", err)
		}
	}
	t.Cleanup(env.stop)
	return env
}

// receiptText is a receipt as the virtual printer reads its ESC/POS bytes.
func receiptText(t *testing.T, r printer.Receipt) string {
	t.Helper()
	in := printer.NewInterpreter(printer.InterpreterOptions{})
	if _, err := in.Write(printer.Encode(r, printer.Profile80())); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, p := range append(in.Pages(), in.Close()) {
		if p != nil {
			b.WriteString(p.Text())
		}
	}
	return b.String()
}

// A tip given to the API reaches the wire (the simulator's decrypted
// request), is charged with the amount (a convenience fee on top does not
// make the answer unverified), is printed on the receipt, exported, in the
// X report's tips and net, and refundable with the amount.
func TestTipEndToEnd(t *testing.T) {
	sim := startSimWith(t, func(o *ottsim.Options) { o.ConvenienceFee = 25 })
	gw, hc := newGatewayClient(t, sim.url, func(c *gateway.Config) { c.FeeAllowanceBPS = 500 }) // the account adds a fee
	defer hc.CloseIdleConnections()
	pr := &recordingPrinter{}
	o := testOptions()
	o.Printer, o.AutoPrint = pr, true
	a := startAgent(t, "", gw, o)

	s, created, err := a.pos.pay(client.PaymentRequest{Amount: 1250, Tip: 200, Mode: "scan", AuthCode: wechatCode(4201), Reference: "INV-42"})
	if s != 201 || err != nil {
		t.Fatalf("create: %d %v", s, err)
	}
	p := a.waitFinal(created.ID)
	if p.State != agent.Succeeded || p.Amount != 1250 || p.Tip != 200 || p.Total != 1450 {
		t.Fatalf("payment %+v", p)
	}
	if w := p.WalletSide; w == nil || w.Fee != 25 || w.Total != 1475 {
		t.Fatalf("wallet side %+v", p.WalletSide)
	}
	o1 := sim.ledger()[p.OrderID]
	if o1.Amount != 1250 || o1.Tip != 200 || o1.SaleNum != "INV-42" || o1.Charged != 1475 {
		t.Fatalf("the simulator's order %+v", o1)
	}

	// The receipt: the amount, the tip, the total and the fee.
	var got printer.Receipt
	a.waitUntilPrinted(pr, p.ID, &got)
	text := receiptText(t, got)
	for _, want := range []string{"Amount", "12.50 CAD", "Tip", "2.00 CAD", "TOTAL", "14.50 CAD", "Fee", "0.25 CAD", "Sale", "INV-42"} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt lacks %q:\n%s", want, text)
		}
	}

	// A qr payment with a tip: ACTIVEPAY carries it.
	s, qr, err := a.pos.pay(client.PaymentRequest{Amount: 800, Tip: 120, Mode: "qr", Wallet: "alipay"})
	if s != 201 || err != nil {
		t.Fatalf("qr: %d %v", s, err)
	}
	if err := sim.sim.Pay(qr.OrderID); err != nil {
		t.Fatal(err)
	}
	q := a.waitFinal(qr.ID)
	if q.State != agent.Succeeded || sim.ledger()[q.OrderID].Tip != 120 || sim.ledger()[q.OrderID].Charged != 945 {
		t.Fatalf("qr payment %+v, order %+v", q, sim.ledger()[q.OrderID])
	}

	// The totals: tips apart, in the net.
	x, err := a.pos.XReport(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if x.Sales.Amount != 2050 || x.Tips != 320 || x.Net != 2370 {
		t.Fatalf("X report sales %+v tips %d net %d", x.Sales, x.Tips, x.Net)
	}
	// The export carries the tip and the total.
	raw := export(t, a.pos, client.FormatCSV)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if !strings.HasSuffix(lines[0], ",tip,total,fee,buyer_login_id,trade_time,wallet_transaction_id,cny_amount") ||
		!strings.Contains(lines[1], ",200,1450,25,") {
		t.Fatalf("csv export:\n%s", raw)
	}
	// A refund of all refunds the tip too.
	if s, _, err := a.pos.refund(p.ID, 0); s != 201 || err != nil {
		t.Fatalf("refund: %d %v", s, err)
	}
	p = a.waitUntil(p.ID, "refunded", refundsFinal)
	if p.Refunded != 1450 || sim.ledger()[p.OrderID].Refunded != 1450 {
		t.Fatalf("refunded %d, the simulator %d", p.Refunded, sim.ledger()[p.OrderID].Refunded)
	}
}

// waitUntilPrinted waits for the receipt of payment id to be printed.
func (a *agentEnv) waitUntilPrinted(pr *recordingPrinter, id string, out *printer.Receipt) {
	a.t.Helper()
	a.waitUntil(id, "receipt printed", func(*agent.Payment) bool {
		_, printed, _ := pr.snapshot()
		for _, r := range printed {
			if r.PaymentID == id {
				*out = r
				return true
			}
		}
		return false
	})
}

// Tips and references are checked before anything is sent.
func TestTipAndReferenceValidation(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, testOptions())
	for _, c := range []struct {
		req  client.PaymentRequest
		code string
	}{
		{client.PaymentRequest{Amount: 100, Tip: -1, Mode: "scan"}, "invalid_tip"},
		{client.PaymentRequest{Amount: int64(agent.MaxAmount), Tip: 1, Mode: "scan"}, "invalid_tip"},
		{client.PaymentRequest{Amount: 100, Mode: "scan", Reference: "INV 1"}, "invalid_reference"},
		{client.PaymentRequest{Amount: 100, Mode: "scan", Reference: strings.Repeat("7", 33)}, "invalid_reference"},
	} {
		if s, _, err := a.pos.pay(c.req); s != 400 || apiCode(err) != c.code {
			t.Errorf("%+v: %d %v, want 400 %s", c.req, s, err, c.code)
		}
	}
	// Raw HTTP: a tip as a string, which the typed client cannot write.
	if s, m := a.call("POST", "/v1/payments", map[string]any{"amount": 100, "tip": "1", "mode": "scan"}); s != 400 || errCode(m) != "invalid_field" {
		t.Errorf("a tip as a string: %d %v, want 400 invalid_field", s, m)
	}
	if s, err := a.pos.setCart(client.CartRequest{Amount: 100, Tip: -5}); s != 400 || apiCode(err) != "invalid_tip" {
		t.Errorf("cart: %d %v", s, err)
	}
	if len(sim.sim.Ledger()) != 0 {
		t.Fatal("a refused request reached the gateway")
	}
}

// The tip prompt of the amount due: suggestions in percent, answered once
// by the display's touch or the cashier; a scanner never starts a payment
// (auto-start) while the customer has not answered it.
func TestCartTipPrompt(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	o := testOptions()
	o.ScanAutoStart = true
	a := startAgent(t, "", gw, o)
	if s, err := a.pos.setCart(client.CartRequest{Amount: 1000, TipPrompt: true}); s != 400 || apiCode(err) != "no_tip_choices" {
		t.Fatalf("a tip prompt without suggestions: %d %v", s, err)
	}
	a.stop()
	o.TipChoices = []int{10, 15, 18}
	a = startAgent(t, "", gw, o)
	if s, _, err := a.pos.chooseTip(10); s != 409 || apiCode(err) != "no_tip_prompt" {
		t.Fatalf("a tip with no prompt: %d %v", s, err)
	}
	if s, err := a.pos.setCart(client.CartRequest{Amount: 1000, Tip: 100, TipPrompt: true}); s != 400 || apiCode(err) != "invalid_tip" {
		t.Fatalf("a tip and a prompt: %d %v", s, err)
	}
	if s, err := a.pos.setCart(client.CartRequest{Amount: 1999, TipPrompt: true}); s != 200 || err != nil {
		t.Fatalf("cart: %d %v", s, err)
	}
	code, _ := sim.sim.IssueCode("wechat")
	if err := a.e.Intake().HandleScan(context.Background(), agent.Scan{Code: code, Device: "lane1"}); err != nil {
		t.Fatal(err)
	}
	if n := len(sim.sim.Ledger()); n != 0 {
		t.Fatalf("a scan started a payment before the customer chose a tip: %d orders", n)
	}
	pct := func(n int) *int { return &n }
	cents := func(n int64) *int64 { return &n }
	for _, c := range []struct {
		choice client.TipChoice
		code   string
	}{
		{client.TipChoice{Percent: pct(12)}, "invalid_tip"},
		{client.TipChoice{Percent: pct(10), Tip: cents(5)}, "invalid_field"},
		{client.TipChoice{}, "invalid_field"},
		{client.TipChoice{Tip: cents(-5)}, "invalid_tip"},
	} {
		ctx, status := agenttest.Status(context.Background())
		if _, err := a.pos.ChooseTip(ctx, c.choice); status() != 400 || apiCode(err) != c.code {
			t.Errorf("%+v: %d %v; want 400 %s", c.choice, status(), err, c.code)
		}
	}
	s, cart, err := a.pos.chooseTip(18)
	if s != 200 || err != nil || cart.Tip != 360 || !cart.TipChosen {
		t.Fatalf("18 %% of 19.99: %d %v %+v; want 360 (359.82 rounded)", s, err, cart)
	}
	code2, _ := sim.sim.IssueCode("wechat")
	if err := a.e.Intake().HandleScan(context.Background(), agent.Scan{Code: code2, Device: "lane1"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the auto-started payment", func() bool { return len(sim.sim.Ledger()) == 1 })
	if o := sim.sim.Ledger()[0]; o.Amount != 1999 || o.Tip != 360 {
		t.Fatalf("ledger %+v", o)
	}
}

// A tip suggestion above TipMaxPercent would offer the customer a tip
// that needs a manager's approval: New refuses it.
func TestTipSuggestionAboveTheCap(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	st, err := store.Open(filepath.Join(t.TempDir(), "posagent.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	o := testOptions()
	o.Gateway, o.Store, o.TipChoices, o.TipMaxPercent = gw, st, []int{10, 20, 25}, 20
	_, err = agent.New(o)
	if err == nil || !strings.Contains(err.Error(), "the tip suggestion 25 % is above TipMaxPercent 20 %") {
		t.Fatalf("New: %v", err)
	}
}
