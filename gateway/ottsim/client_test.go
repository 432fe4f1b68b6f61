package ottsim_test

import (
	"strings"
	"testing"

	"github.com/posagent/posagent/gateway/ottsim"
)

// TestClient drives a running simulator through its /_sim endpoints: the
// customer pays a qr order, the ledger shows it, faults are set and read
// back, and an unknown order is the simulator's own error.
func TestClient(t *testing.T) {
	r := newRig(t)
	if _, err := r.client.ActivePay(bg, qr("QC", 700)); err != nil {
		t.Fatal(err)
	}
	c, err := ottsim.NewClient(r.url + "/")
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.Pay(bg, "QC")
	if err != nil || o == nil || o.OrderID != "QC" || o.Status != "success" {
		t.Fatalf("Pay: %+v %v", o, err)
	}
	ledger, err := c.Ledger(bg)
	if err != nil || len(ledger) != 1 || ledger[0].Charged != 700 {
		t.Fatalf("Ledger: %+v %v", ledger, err)
	}
	cur, err := c.SetFaults(bg, ottsim.Faults{ErrorRate: 0.25, LatencyMS: 10})
	if err != nil || cur.ErrorRate != 0.25 || cur.LatencyMS != 10 || cur.DownUntil != nil {
		t.Fatalf("SetFaults: %+v %v", cur, err)
	}
	if cur, err = c.Faults(bg); err != nil || cur.ErrorRate != 0.25 {
		t.Fatalf("Faults: %+v %v", cur, err)
	}
	if _, err := c.Pay(bg, "NOPE"); err == nil || !strings.Contains(err.Error(), "NOPE") {
		t.Fatalf("Pay of an unknown order: %v", err)
	}
	if _, err := ottsim.NewClient("localhost:7421"); err == nil || !strings.Contains(err.Error(), "want http://HOST:PORT") {
		t.Fatalf("a base without a scheme: %v", err)
	}
}
