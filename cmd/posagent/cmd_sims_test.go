package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/printer"
)

// syncBuffer is a bytes.Buffer safe for a command writing while a test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runInBackground runs a long-lived posagent command until the test ends and
// returns the first match of re in its output (e.g. the address it listens on).
func runInBackground(t *testing.T, re *regexp.Regexp, args ...string) string {
	t.Helper()
	out := &syncBuffer{}
	root := newRootCmd()
	root.SetOut(out)
	root.SetErr(out)
	root.SetArgs(args)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: %v", args[0], err)
		}
	})
	var m []string
	waitFor(t, args[0]+" to start", func() bool { m = re.FindStringSubmatch(out.String()); return m != nil })
	return m[1]
}

// TestSimCommand runs `posagent sim` on loopback, charges it with the gateway
// client, and reads the charge back with `posagent sim ledger`.
func TestSimCommand(t *testing.T) {
	base := runInBackground(t, regexp.MustCompile(`listening on (http://[0-9.:]+)/processV2`),
		"sim", "--listen", "127.0.0.1:0", "--time-scale", "0.01")
	gw, err := gateway.New(gateway.Config{URL: base + "/processV2", MerchantID: "ON00004652", SignKey: "6698851A525C9433", OperatorID: "0000000696"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gw.PassivePay(context.Background(), gateway.PayRequest{OrderID: "T1", Amount: 1250, AuthCode: "134567890123456789", Wallet: gateway.WeChat}); err != nil {
		t.Fatalf("PASSIVEPAY against posagent sim: %v", err)
	}
	out, err := cli(t, "", "sim", "ledger", "--sim-url", base)
	if err != nil || !regexp.MustCompile(`T1\s+scan\s+wechat\s+12\.50\s+12\.50`).MatchString(out) {
		t.Fatalf("sim ledger: %v\n%s", err, out)
	}
	// A wrong sign key is refused by the simulator, and the client says so.
	bad, _ := gateway.New(gateway.Config{URL: base + "/processV2", MerchantID: "ON00004652", SignKey: "0000000000000000", OperatorID: "0000000696"})
	if _, err := bad.PassivePay(context.Background(), gateway.PayRequest{OrderID: "T2", Amount: 100, AuthCode: "134567890123456789", Wallet: gateway.WeChat}); gateway.OutcomeOf(err) == gateway.Paid {
		t.Fatal("a request signed with the wrong key was charged")
	}
}

// TestPrinterSimCommand runs `posagent printer-sim` and prints a receipt to it
// over TCP; it writes the receipt's PNG, text and bytes.
func TestPrinterSimCommand(t *testing.T) {
	dir := t.TempDir()
	addr := runInBackground(t, regexp.MustCompile(`listening on ([0-9.:]+),`),
		"printer-sim", "--listen", "127.0.0.1:0", "--out", dir)
	p, err := printer.New(printer.Options{Open: printer.TCP(addr, time.Second), Profile: printer.Profile80()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.PrintReceipt(ctx, printer.Receipt{Merchant: "Maple Tea House", PaymentID: "pay_1", OrderID: "P1", Wallet: "wechat", Amount: 1250, Currency: "CAD", State: "succeeded"}); err != nil {
		t.Fatal(err)
	}
	var txt []byte
	waitFor(t, "the receipt files", func() bool {
		txt, err = os.ReadFile(filepath.Join(dir, "receipt-0001.txt"))
		_, perr := os.Stat(filepath.Join(dir, "receipt-0001.png"))
		return err == nil && perr == nil
	})
	if !strings.Contains(string(txt), "12.50") || !strings.Contains(string(txt), "Maple Tea House") {
		t.Fatalf("receipt text:\n%s", txt)
	}
}
