package stacktest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/printer"
)

// A UnionPay qr payment works end to end: the QR is issued, the customer
// opens its code_url (plain HTTP, as a phone would), it is paid and the
// receipt names UnionPay.
func TestUnionPayQREndToEnd(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	pr := &recordingPrinter{}
	o := testOptions()
	o.Printer, o.AutoPrint = pr, true
	a := startAgent(t, "", gw, o)
	s, created, err := a.pos.pay(client.PaymentRequest{Amount: 1888, Mode: "qr", Wallet: "unionpay", Reference: "INV-88"})
	if s != 201 || err != nil {
		t.Fatalf("create: %d %v", s, err)
	}
	p := a.waitUntil(created.ID, "code_url", func(p *agent.Payment) bool { return p.CodeURL != "" })
	resp, err := http.Get(p.CodeURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("opening code_url: %s", resp.Status)
	}
	p = a.waitFinal(p.ID)
	if p.State != agent.Succeeded || p.Wallet != "unionpay" || sim.ledger()[p.OrderID].Wallet != "unionpay" {
		t.Fatalf("payment %+v, order %+v", p, sim.ledger()[p.OrderID])
	}
	var r printer.Receipt
	a.waitUntilPrinted(pr, p.ID, &r)
	if text := receiptText(t, r); !strings.Contains(text, "UnionPay") || !strings.Contains(text, "18.88") {
		t.Fatalf("receipt:\n%s", text)
	}
}
