package agent

import (
	"fmt"
	"sync"
	"testing"
)

// One cart becomes at most one payment (issue 22, finding 4): payment
// codes scanned at the same moment, each POST /v1/scans over real HTTP,
// against one amount due with scan_auto_start. Every round the simulator's
// ledger must hold exactly one order for the round's amount, charged that
// amount; a scan that lost the race is refused (409) or ignored (202,
// nothing was waiting any more), never charged.
func TestConcurrentScansOneCart(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	o := testOptions()
	o.ScanAutoStart = true
	a := startAgent(t, "", gw, o)

	const rounds, scans = 40, 6
	refused := 0
	for r := range rounds {
		amount := int64(2300 + r)
		if s, m := a.call("PUT", "/v1/cart", map[string]any{"amount": amount}); s != 200 {
			t.Fatalf("round %d: cart: %d %v", r, s, m)
		}
		codes := make([]string, scans)
		for i := range codes {
			codes[i], _ = sim.sim.IssueCode("wechat")
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		status := make([]int, scans)
		answer := make([]map[string]any, scans)
		for i := range scans {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				status[i], answer[i] = a.Call("POST", "/v1/scans", map[string]any{"code": codes[i], "device": fmt.Sprint("lane", i)})
			}()
		}
		close(start)
		wg.Wait()
		for i, s := range status {
			switch {
			case s == 202:
			case s == 409 && (errCode(answer[i]) == "cart_busy" || errCode(answer[i]) == "cart_changed"):
				refused++
			default:
				t.Errorf("round %d: scan %d: %d %v", r, i, s, answer[i])
			}
		}
		if c := a.e.CurrentCart(); c != nil {
			t.Fatalf("round %d: the cart is still due after a scan paid it: %+v", r, c)
		}
	}
	waitFor(t, "every order final", func() bool {
		for _, o := range sim.sim.Ledger() {
			if o.Status == "notpay" {
				return false
			}
		}
		return true
	})
	per := map[int64]int{}
	for _, o := range sim.sim.Ledger() {
		per[o.Amount]++
		if o.Charged != o.Amount {
			t.Errorf("order %s of %d charged %d", o.OrderID, o.Amount, o.Charged)
		}
	}
	for r := range rounds {
		if n := per[int64(2300+r)]; n != 1 {
			t.Errorf("round %d: %d orders charged from one cart of %d, want 1", r, n, 2300+r)
		}
	}
	if len(sim.sim.Ledger()) != rounds {
		t.Errorf("%d orders for %d carts", len(sim.sim.Ledger()), rounds)
	}
	t.Logf("%d rounds of %d concurrent scans: %d scans refused as racing", rounds, scans, refused)
}
