package ottsim_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/internal/envelope"
	"github.com/posagent/posagent/gateway/ottsim"
)

// withFee makes the simulator add a convenience fee of cents without
// naming it, and tells the client the account has one (5 %).
func withFee(cents int64) rigOpt {
	return func(o *ottsim.Options, c *gateway.Config) { o.ConvenienceFee, c.FeeAllowanceBPS = cents, 500 }
}

// A tip and a sale number reach the simulator (its decrypted request, in
// the ledger); the answers carry the tip and the total, and the client
// believes them, for the payment and for a later query.
func TestTipAndSaleNumOnTheWire(t *testing.T) {
	r := newRig(t)
	req := pay("TIP1", 1250)
	req.Tip, req.SaleNum = 200, "INV-2026/0042"
	res, err := r.client.PassivePay(bg, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Tip != 200 || res.Fee != 0 || res.Total != 1450 || res.Fields["tip"] != "200" {
		t.Fatalf("result %+v", res)
	}
	o := r.order("TIP1")
	if o.Amount != 1250 || o.Tip != 200 || o.SaleNum != "INV-2026/0042" || o.Charged != 1450 {
		t.Fatalf("ledger %+v", o)
	}
	q, err := r.client.QueryOrder(bg, "TIP1", 1250, 200)
	if err != nil || q.Tip != 200 || q.Total != 1450 {
		t.Fatalf("query %+v %v", q, err)
	}
	// No tip: none sent (optional fields are left out).
	if _, err := r.client.PassivePay(bg, pay("TIP2", 1000)); err != nil {
		t.Fatal(err)
	}
	if o := r.order("TIP2"); o.Tip != 0 || o.SaleNum != "" || o.Charged != 1000 {
		t.Fatalf("ledger %+v", o)
	}
	// qr takes a tip too.
	qreq := qr("TIP3", 800)
	qreq.Tip = 150
	if _, err := r.client.ActivePay(bg, qreq); err != nil {
		t.Fatal(err)
	}
	if err := r.sim.Pay("TIP3"); err != nil {
		t.Fatal(err)
	}
	if q, err := r.client.QueryOrder(bg, "TIP3", 800, 150); err != nil || q.Total != 950 || r.order("TIP3").Charged != 950 {
		t.Fatalf("qr query %+v %v, ledger %+v", q, err, r.order("TIP3"))
	}
}

// A convenience fee the gateway adds to the total (with no field naming
// it) does not make the answers unverified when the account is configured
// to have one (gateway.fee_allowance_bps); it is reported as Fee.
func TestConvenienceFeeIsBelieved(t *testing.T) {
	r := newRig(t, withFee(35))
	req := pay("FEE1", 1250)
	req.Tip = 200
	res, err := r.client.PassivePay(bg, req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Tip != 200 || res.Fee != 35 || res.Total != 1485 {
		t.Fatalf("result %+v", res)
	}
	q, err := r.client.QueryOrder(bg, "FEE1", 1250, 200)
	if err != nil || q.Fee != 35 || q.Total != 1485 {
		t.Fatalf("query %+v %v", q, err)
	}
	if o := r.order("FEE1"); o.Charged != 1485 {
		t.Fatalf("ledger %+v", o)
	}
	// Without a tip as well.
	if res, err := r.client.PassivePay(bg, pay("FEE2", 1000)); err != nil || res.Fee != 35 || res.Total != 1035 {
		t.Fatalf("no tip: %+v %v", res, err)
	}
}

// What the answer says about the tip and the total is checked against
// what was sent: another tip, or a total more than a convenience fee
// above amount + tip, is not believed.
func TestTipAnswersMustMatch(t *testing.T) {
	r := newRig(t)
	n := 0
	tipped := func(c *gateway.Client) error {
		n++
		req := pay("TM"+strings.Repeat("X", n), 5000)
		req.Tip = 500
		_, err := c.PassivePay(bg, req)
		return err
	}
	for _, tc := range []struct {
		name string
		edit func(envelope.Fields) envelope.Fields
	}{
		{"another tip", set("tip", "400")},
		{"tip not a number", set("tip", "4.00")},
		{"total far above", set("total_amount", "9000")},
		{"total below amount + tip", set("total_amount", "5200")},
		// Issue 22: an answer that echoes only the request's amount says
		// nothing of the tip; it was taken as paid with the tip.
		{"amount echoed, tip and total left out", func(f envelope.Fields) envelope.Fields {
			var out envelope.Fields
			for _, x := range f {
				if x.Key != "tip" && x.Key != "total_amount" && x.Key != "amount" {
					out = append(out, x)
				}
			}
			return append(out, envelope.Field{Key: "amount", Value: "5000"})
		}},
		{"named fee that does not add up", func(f envelope.Fields) envelope.Fields {
			f = append(f, envelope.Field{Key: gateway.FeeKey, Value: "10"})
			return set("total_amount", "5600")(f)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tipped(r.tamperProxy(resign(t, tc.edit)))
			if !errors.Is(err, gateway.ErrUnverified) || gateway.OutcomeOf(err) != gateway.Unknown {
				t.Fatalf("err %v, want ErrUnverified (Unknown)", err)
			}
		})
	}
	// A fee named in the answer is believed when the total adds up.
	err := tipped(r.tamperProxy(resign(t, func(f envelope.Fields) envelope.Fields {
		f = append(f, envelope.Field{Key: gateway.FeeKey, Value: "10"})
		return set("total_amount", "5510")(f)
	})))
	if err != nil {
		t.Fatalf("named fee: %v", err)
	}
}

func TestSaleNumIsCheckedBeforeSending(t *testing.T) {
	r := newRig(t)
	for _, s := range []string{strings.Repeat("1", gateway.MaxSaleNum+1), "INV 1", "発票1", "a;b"} {
		req := pay("SN"+string(rune('A'+len(s)%26)), 1000)
		req.SaleNum = s
		_, err := r.client.PassivePay(bg, req)
		if !errors.Is(err, gateway.ErrNotSent) || gateway.OutcomeOf(err) != gateway.Failed {
			t.Errorf("sale_num %q: err %v, want not sent, failed", s, err)
		}
	}
	if len(r.sim.Ledger()) != 0 {
		t.Fatalf("ledger %+v: nothing should have been sent", r.sim.Ledger())
	}
}

// Without a configured fee allowance, an answer that charges more than
// amount + tip without naming a fee is not believed: the customer may
// have paid more than they were shown.
func TestUnnamedSurplusIsUnverifiedByDefault(t *testing.T) {
	r := newRig(t, func(o *ottsim.Options, _ *gateway.Config) { o.ConvenienceFee = 35 })
	req := pay("NOFEE1", 1250)
	req.Tip = 200
	res, err := r.client.PassivePay(bg, req)
	if !errors.Is(err, gateway.ErrUnverified) || gateway.OutcomeOf(err) != gateway.Unknown || res != nil {
		t.Fatalf("unnamed surplus: %+v %v; want unverified", res, err)
	}
	if _, err := r.client.QueryOrder(bg, "NOFEE1", 1250, 200); !errors.Is(err, gateway.ErrUnverified) {
		t.Fatalf("query: %v; want unverified", err)
	}
}
