package main

import (
	"bytes"
	"context"
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

// After a declined payment, pay for the same amount asks the cashier:
// "n" (or no answer) cancels it before the code is given, nothing
// charged; --yes takes it.
func TestPayAsksAboutAPossibleDuplicate(t *testing.T) {
	addr := startDaemon(t, "")
	if _, err := cli(t, addr, "pay", "20.01", "--code", "134567890123452001"); err == nil {
		t.Fatal("the declined payment succeeded")
	}
	out, err := cliIn(t, addr, "n\n", "pay", "20.01", "--code", "134567890123452002")
	if err == nil || !strings.Contains(out, "possible duplicate") || !strings.Contains(out, "take this payment anyway? [y/N]") ||
		!strings.Contains(err.Error(), "not taken: cancelled") {
		t.Fatalf("answered no: %v\n%s", err, out)
	}
	out, err = cliIn(t, addr, "y\n", "pay", "20.00", "--code", "134567890123452003")
	if err != nil || strings.Contains(out, "possible duplicate") {
		t.Fatalf("another amount: %v\n%s", err, out)
	}
	out, err = cli(t, addr, "pay", "20.01", "--yes", "--code", "134567890123452004")
	if !strings.Contains(out, "possible duplicate") || !strings.Contains(out, "taking it (--yes)") || !strings.Contains(out, "declined") {
		t.Fatalf("--yes: %v\n%s", err, out) // 01: the simulator declines it again, but it was sent
	}
}

// cliIn is cli with the cashier's answers on stdin.
func cliIn(t *testing.T, addr, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(append([]string{"--api", addr}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// `posagent pay` tells the cashier when the wallet asks the customer to
// confirm on the phone (the simulator's 02: paid a little later) and what
// a cancel would mean; `show` prints the wallet's time as a time, not the
// gateway's yyyyMMddHHmmss.
func TestPayWaitingForCustomerAndWalletTime(t *testing.T) {
	addr := startDaemon(t, "")
	out, err := cli(t, addr, "pay", "12.02", "--code", "134567890123451202", "--json")
	if err != nil || !strings.Contains(out, "processing - waiting for the customer to confirm on the phone") ||
		!strings.Contains(out, "refunded to them automatically") || !strings.Contains(out, "paid 12.02 CAD") {
		t.Fatalf("pay: %v\n%s", err, out)
	}
	var p payment
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):strings.LastIndex(out, "}")+1]), &p); err != nil {
		t.Fatalf("pay --json: %v\n%s", err, out)
	}
	out, err = cli(t, addr, "show", p.ID)
	if err != nil || !regexp.MustCompile(`wallet time +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d `).MatchString(out) || strings.Contains(out, p.WalletSide.TradeTime) {
		t.Fatalf("show, want the wallet time as a time (not %s): %v\n%s", p.WalletSide.TradeTime, err, out)
	}
}
