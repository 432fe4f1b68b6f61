package agent

import (
	"net/url"
	"strings"
	"testing"

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
	a := startAgent(t, "", gw, o)
	var ps []*Payment
	for i, body := range []map[string]any{
		{"amount": 1250, "mode": "scan", "auth_code": wechatCode(5101), "reference": "INV-51"},
		{"amount": 900, "mode": "scan", "auth_code": alipayCode(5102)},
		{"amount": 1202, "mode": "scan", "auth_code": wechatCode(5103)}, // paid after a query
	} {
		s, m := a.call("POST", "/v1/payments", body)
		if s != 201 {
			t.Fatalf("%d: %d %v", i, s, m)
		}
		ps = append(ps, a.waitFinal(decodePayment(t, m).ID))
	}
	for _, p := range ps {
		w := p.WalletSide
		if p.State != Succeeded || w == nil || w.BuyerLoginID != "sim_"+p.Wallet+"_buyer" || len(w.TradeTime) != 14 || len(w.TransactionID) != 28 {
			t.Fatalf("payment %s %s: wallet side %+v", p.ID, p.State, w)
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
	for _, find := range []string{wx, wx[:22], wx[len(wx)-8:]} {
		_, m := a.call("GET", "/v1/payments?find="+url.QueryEscape(find), nil)
		list := m["payments"].([]any)
		if len(list) != 1 || list[0].(map[string]any)["id"] != ps[0].ID {
			t.Fatalf("find %q: %v", find, m)
		}
	}
	if s, m := a.call("GET", "/v1/payments?find=420", nil); s != 400 || errCode(m) != "invalid_find" {
		t.Fatalf("a 3-character find: %d %v", s, m)
	}
	_, m := a.call("GET", "/v1/payments?reference=INV-51", nil)
	if list := m["payments"].([]any); len(list) != 1 || list[0].(map[string]any)["id"] != ps[0].ID {
		t.Fatalf("by reference: %v", m)
	}

	// Printed.
	var r printer.Receipt
	a.waitUntilPrinted(pr, ps[0].ID, &r)
	text := receiptText(t, r)
	for _, want := range []string{"Buyer", "sim_wechat_buyer", "Wallet txn", wx, "Wallet time", ps[0].WalletSide.TradeTime} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt lacks %q:\n%s", want, text)
		}
	}
	// Exported.
	_, raw := a.raw("GET", "/v1/export?format=csv", nil)
	if !strings.Contains(string(raw), ",sim_wechat_buyer,"+ps[0].WalletSide.TradeTime+","+wx+",") {
		t.Fatalf("csv export:\n%s", raw)
	}
}
