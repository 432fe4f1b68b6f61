package ottsim

import (
	"bytes"
	"testing"
	"time"
)

// TestWriteLedger pins `posagent sim ledger`: one line per order (a qr
// order's mode, refunds by their order ids) and the totals.
func TestWriteLedger(t *testing.T) {
	at := time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC)
	orders := []Order{
		{OrderID: "T1", Action: "PASSIVEPAY", Wallet: "wechat", Amount: 1250, Charged: 1250, Refunded: 500, Status: "partial_refunded",
			Refunds: []Refund{{OrderID: "R1", Amount: 300}, {OrderID: "R2", Amount: 200}}, CreatedAt: at},
		{OrderID: "T2", Action: "ACTIVEPAY", Wallet: "alipay", Amount: 301, Status: "notpay", CreatedAt: at.Add(time.Minute)},
	}
	var b bytes.Buffer
	if err := WriteLedger(&b, orders); err != nil {
		t.Fatal(err)
	}
	want := "ORDER_ID  MODE  WALLET  AMOUNT  CHARGED  REFUNDED  STATUS            CREATED               REFUNDS\n" +
		"T1        scan  wechat  12.50   12.50    5.00      partial_refunded  2026-11-25T18:30:00Z  R1:3.00 R2:2.00\n" +
		"T2        qr    alipay  3.01    0.00     0.00      notpay            2026-11-25T18:31:00Z  \n" +
		"total                           12.50    5.00                                              \n"
	if b.String() != want {
		t.Errorf("got:\n%q\nwant:\n%q", b.String(), want)
	}
	b.Reset()
	if err := WriteLedger(&b, nil); err != nil || b.String() != "no orders yet\n" {
		t.Errorf("empty ledger: %q %v", b.String(), err)
	}
}

func TestFaultStateWriteText(t *testing.T) {
	until := time.Date(2026, 11, 25, 18, 30, 0, 500_000_000, time.UTC)
	var b bytes.Buffer
	FaultState{Faults: Faults{LatencyMS: 2000, ErrorRate: 0.3}, DownUntil: &until}.WriteText(&b)
	want := "latency_ms 2000, error_rate 0.3, drop_rate 0\ndown (connection refused) until 2026-11-25T18:30:00.5Z\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
