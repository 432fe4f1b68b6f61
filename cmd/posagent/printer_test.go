package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/display"
	"github.com/posagent/posagent/printer"
)

// virtualPrinter runs printer-sim's VirtualPrinter on addr until stopped.
type virtualPrinter struct {
	vp     *printer.VirtualPrinter
	addr   string
	cancel context.CancelFunc
	done   chan error
}

func startVirtualPrinter(t *testing.T, addr, dir string) *virtualPrinter {
	t.Helper()
	var l net.Listener
	var err error
	for i := 0; i < 100; i++ { // the old listener's port may take a moment to free
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	vp := printer.NewVirtualPrinter(printer.VirtualOptions{Dir: dir})
	ctx, cancel := context.WithCancel(context.Background())
	v := &virtualPrinter{vp: vp, addr: l.Addr().String(), cancel: cancel, done: make(chan error, 1)}
	go func() { v.done <- vp.Run(ctx, l) }()
	t.Cleanup(v.stop)
	return v
}

func (v *virtualPrinter) stop() {
	if v.cancel != nil {
		v.cancel()
		<-v.done
		v.cancel = nil
	}
}

// TestReceiptsPrintOnceThroughOutages: a payment on the simulator is printed
// through the virtual printer over TCP, and the PNG it renders decodes back
// to the receipt's QR and shows the amount. Then the printer goes away while
// payments are taken: they all succeed, and when it comes back every
// receipt prints, none twice.
func TestReceiptsPrintOnceThroughOutages(t *testing.T) {
	dir := t.TempDir()
	vp := startVirtualPrinter(t, "127.0.0.1:0", dir)
	// agent.time_scale 0.1: a print is given 3 s (0.6 s at the default
	// test scale), so that a loaded machine (-race, two cores) does not
	// time out a print the printer confirms late and print it again.
	d := newDaemon(t, fmt.Sprintf("agent:\n  time_scale: 0.1\nprinter:\n  kind: network\n  address: %s\n  paper: 80mm\n  auto_print: true\n  copies: [customer]\n", vp.addr))
	r := d.start()
	api := "http://" + r.API

	pay := func(amount int64, code string) payment {
		t.Helper()
		var p payment
		if c := apiJSON(t, "POST", api+"/v1/payments", map[string]any{"amount": amount, "mode": "scan", "auth_code": code}, &p); c != 201 {
			t.Fatalf("create: HTTP %d", c)
		}
		waitFor(t, "payment "+p.ID+" to succeed", func() bool {
			apiJSON(t, "GET", api+"/v1/payments/"+p.ID, nil, &p)
			return p.State == "succeeded"
		})
		return p
	}

	p1 := pay(1250, "134567890123456789")
	waitFor(t, "the first receipt", func() bool { return len(vp.vp.Receipts()) == 1 })
	rc := vp.vp.Receipts()[0]
	img, err := png.Decode(bytes.NewReader(rc.PNG))
	if err != nil {
		t.Fatal(err)
	}
	qr, err := display.DecodeQR(img)
	if err != nil {
		t.Fatalf("the receipt's PNG has no readable QR: %v", err)
	}
	if qr != p1.OrderID {
		t.Fatalf("receipt QR = %q; want the order id %q", qr, p1.OrderID)
	}
	text := strings.Join(rc.Page.Lines, "\n")
	if !strings.Contains(text, "12.50") || !strings.Contains(text, p1.ID) {
		t.Fatalf("receipt text lacks the amount or the payment id:\n%s", text)
	}

	// The printer is unplugged; three payments are taken meanwhile.
	addr := vp.addr
	vp.stop()
	var ids []string
	for i, code := range []string{"134567890123456780", "284567890123456781", "6212345678901234567"} {
		ids = append(ids, pay(int64(300+i*100), code).ID)
	}
	waitFor(t, "the printer to be reported unreachable", func() bool {
		var st struct {
			Devices []struct{ Kind, State string } `json:"devices"`
		}
		apiJSON(t, "GET", api+"/v1/status", nil, &st)
		for _, d := range st.Devices {
			if d.Kind == "printer" && d.State != "ok" && d.State != "" {
				return true
			}
		}
		return false
	})
	if n := len(vp.vp.Receipts()); n != 1 {
		t.Fatalf("%d receipts printed while the printer was away", n)
	}

	// It comes back on the same address: the queued receipts print.
	vp2 := startVirtualPrinter(t, addr, dir)
	waitFor(t, "the queued receipts", func() bool { return len(vp2.vp.Receipts()) >= 3 })
	waitFor(t, "the print queue to empty", func() bool {
		var st struct {
			Outbox struct {
				Depth int `json:"depth"`
			} `json:"outbox"`
		}
		apiJSON(t, "GET", api+"/v1/status", nil, &st)
		return st.Outbox.Depth == 0
	})
	printed := map[string]int{}
	for _, rc := range vp2.vp.Receipts() {
		for _, id := range append(ids, p1.ID) {
			if strings.Contains(strings.Join(rc.Page.Lines, "\n"), id) {
				printed[id]++
			}
		}
	}
	for _, id := range ids {
		if printed[id] != 1 {
			t.Errorf("receipt of %s printed %d times after the printer came back; want once", id, printed[id])
		}
	}
	if printed[p1.ID] != 0 {
		t.Errorf("the first receipt was printed again")
	}
}
