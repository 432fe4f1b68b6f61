package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// The tour of tips and sale numbers against the real daemon: pay with a
// tip and a sale number, show it, and find it by the sale number and by
// the wallet's side.
func TestTipAndReferenceTour(t *testing.T) {
	addr := startDaemon(t, "")
	out, err := cli(t, addr, "pay", "12.50", "--tip", "2.00", "--ref", "INV-1042", "--code", "134567890123451042", "--json")
	if err != nil || !strings.Contains(out, "paid 14.50 CAD (12.50 + tip 2.00) with wechat") {
		t.Fatalf("pay: %v\n%s", err, out)
	}
	var p payment
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):strings.LastIndex(out, "}")+1]), &p); err != nil {
		t.Fatalf("pay --json: %v\n%s", err, out)
	}
	if p.Tip != 200 || p.Total != 1450 || p.Reference != "INV-1042" {
		t.Fatalf("payment %+v", p)
	}
	out, err = cli(t, addr, "show", p.ID)
	if err != nil || !regexp.MustCompile(`tip +2\.00 CAD`).MatchString(out) || !regexp.MustCompile(`total +14\.50 CAD`).MatchString(out) ||
		!regexp.MustCompile(`buyer +sim_wechat_buyer`).MatchString(out) || !regexp.MustCompile(`wallet transaction +42000\d{23}`).MatchString(out) {
		t.Fatalf("show: %v\n%s", err, out)
	}
	if _, err := cli(t, addr, "pay", "3.00", "--code", "134567890123450300"); err != nil {
		t.Fatal(err)
	}
	out, err = cli(t, addr, "payments", "--ref", "INV-1042")
	if err != nil || strings.Count(out, "\npay_") != 1 || !strings.Contains(out, p.ID) {
		t.Fatalf("payments --ref: %v\n%s", err, out)
	}
	if p.WalletSide == nil || !strings.HasPrefix(p.WalletSide.TransactionID, "42000") {
		t.Fatalf("wallet side %+v", p.WalletSide)
	}
	for _, find := range []string{p.WalletSide.TransactionID[len(p.WalletSide.TransactionID)-10:], p.OrderID[len(p.OrderID)-6:]} {
		out, err = cli(t, addr, "payments", "--find", find)
		if err != nil || strings.Count(out, "\npay_") != 1 || !strings.Contains(out, p.ID) {
			t.Fatalf("payments --find %s: %v\n%s", find, err, out)
		}
	}
	if _, err := cli(t, addr, "pay", "1.00", "--ref", "INV 7", "--code", "134567890123450100"); err == nil || !strings.Contains(err.Error(), "sale_num") {
		t.Fatalf("a reference OTTPay does not take: %v", err)
	}
}
