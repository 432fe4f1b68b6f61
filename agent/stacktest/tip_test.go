package stacktest

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posagent/posagent/agent"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/ottsim"
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

	s, m := a.call("POST", "/v1/payments", map[string]any{"amount": 1250, "tip": 200, "mode": "scan", "auth_code": wechatCode(4201), "reference": "INV-42"})
	if s != 201 {
		t.Fatalf("create: %d %v", s, m)
	}
	p := a.waitFinal(decodePayment(t, m).ID)
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
	s, m = a.call("POST", "/v1/payments", map[string]any{"amount": 800, "tip": 120, "mode": "qr", "wallet": "alipay"})
	if s != 201 {
		t.Fatalf("qr: %d %v", s, m)
	}
	q := decodePayment(t, m)
	if err := sim.sim.Pay(q.OrderID); err != nil {
		t.Fatal(err)
	}
	q = a.waitFinal(q.ID)
	if q.State != agent.Succeeded || sim.ledger()[q.OrderID].Tip != 120 || sim.ledger()[q.OrderID].Charged != 945 {
		t.Fatalf("qr payment %+v, order %+v", q, sim.ledger()[q.OrderID])
	}

	// The totals: tips apart, in the net.
	x := a.report("GET", "/v1/reports/x")
	if x.Sales.Amount != 2050 || x.Tips != 320 || x.Net != 2370 {
		t.Fatalf("X report sales %+v tips %d net %d", x.Sales, x.Tips, x.Net)
	}
	// The export carries the tip and the total.
	_, raw := a.raw("GET", "/v1/export?format=csv", nil)
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if !strings.HasSuffix(lines[0], ",tip,total,fee,buyer_login_id,trade_time,wallet_transaction_id,cny_amount") ||
		!strings.Contains(lines[1], ",200,1450,25,") {
		t.Fatalf("csv export:\n%s", raw)
	}
	// A refund of all refunds the tip too.
	s, m = a.call("POST", "/v1/payments/"+p.ID+"/refunds", map[string]any{"all": true})
	if s != 201 {
		t.Fatalf("refund: %d %v", s, m)
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
		body map[string]any
		code string
	}{
		{map[string]any{"amount": 100, "tip": -1, "mode": "scan"}, "invalid_tip"},
		{map[string]any{"amount": agent.MaxAmount, "tip": 1, "mode": "scan"}, "invalid_tip"},
		{map[string]any{"amount": 100, "tip": "1", "mode": "scan"}, "invalid_field"},
		{map[string]any{"amount": 100, "mode": "scan", "reference": "INV 1"}, "invalid_reference"},
		{map[string]any{"amount": 100, "mode": "scan", "reference": strings.Repeat("7", 33)}, "invalid_reference"},
	} {
		if s, m := a.call("POST", "/v1/payments", c.body); s != 400 || errCode(m) != c.code {
			t.Errorf("%v: %d %v, want 400 %s", c.body, s, m, c.code)
		}
	}
	if s, m := a.call("PUT", "/v1/cart", map[string]any{"amount": 100, "tip": -5}); s != 400 || errCode(m) != "invalid_tip" {
		t.Errorf("cart: %d %v", s, m)
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
	if s, m := a.call("PUT", "/v1/cart", map[string]any{"amount": 1000, "tip_prompt": true}); s != 400 || errCode(m) != "no_tip_choices" {
		t.Fatalf("a tip prompt without suggestions: %d %v", s, m)
	}
	a.stop()
	o.TipChoices = []int{10, 15, 18}
	a = startAgent(t, "", gw, o)
	if s, m := a.call("POST", "/v1/cart/tip", map[string]any{"percent": 10}); s != 409 || errCode(m) != "no_tip_prompt" {
		t.Fatalf("a tip with no prompt: %d %v", s, m)
	}
	if s, m := a.call("PUT", "/v1/cart", map[string]any{"amount": 1000, "tip": 100, "tip_prompt": true}); s != 400 || errCode(m) != "invalid_tip" {
		t.Fatalf("a tip and a prompt: %d %v", s, m)
	}
	if s, m := a.call("PUT", "/v1/cart", map[string]any{"amount": 1999, "tip_prompt": true}); s != 200 {
		t.Fatalf("cart: %d %v", s, m)
	}
	code, _ := sim.sim.IssueCode("wechat")
	if err := a.e.Intake().HandleScan(context.Background(), agent.Scan{Code: code, Device: "lane1"}); err != nil {
		t.Fatal(err)
	}
	if n := len(sim.sim.Ledger()); n != 0 {
		t.Fatalf("a scan started a payment before the customer chose a tip: %d orders", n)
	}
	for _, c := range []struct {
		body map[string]any
		code string
	}{
		{map[string]any{"percent": 12}, "invalid_tip"},
		{map[string]any{"percent": 10, "tip": 5}, "invalid_field"},
		{map[string]any{}, "invalid_field"},
		{map[string]any{"tip": -5}, "invalid_tip"},
	} {
		if s, m := a.call("POST", "/v1/cart/tip", c.body); s != 400 || errCode(m) != c.code {
			t.Errorf("%v: %d %v; want 400 %s", c.body, s, m, c.code)
		}
	}
	s, m := a.call("POST", "/v1/cart/tip", map[string]any{"percent": 18})
	if s != 200 || m["tip"] != float64(360) || m["tip_chosen"] != true {
		t.Fatalf("18 %% of 19.99: %d %v; want 360 (359.82 rounded)", s, m)
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
