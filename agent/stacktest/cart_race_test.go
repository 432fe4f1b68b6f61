package stacktest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/view"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/internal/agenttest"
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
		amount := int64(2300 + 100*r) // x00: the simulator pays it
		if s, err := a.pos.setCart(client.CartRequest{Amount: amount}); s != 200 {
			t.Fatalf("round %d: cart: %d %v", r, s, err)
		}
		codes := make([]string, scans)
		for i := range codes {
			codes[i], _ = sim.sim.IssueCode("wechat")
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		status := make([]int, scans)
		answer := make([]error, scans)
		for i := range scans {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				status[i], answer[i] = a.pos.scan(codes[i], fmt.Sprint("lane", i))
			}()
		}
		close(start)
		wg.Wait()
		for i, s := range status {
			switch {
			case s == 202:
			case s == 409 && (client.IsCode(answer[i], "cart_busy") || client.IsCode(answer[i], "cart_changed")):
				refused++
			default:
				t.Errorf("round %d: scan %d: %d %v", r, i, s, answer[i])
			}
		}
		if c := a.e.Intake().CurrentCart(); c != nil {
			t.Fatalf("round %d: the cart is still due after a scan paid it: %+v", r, c)
		}
	}
	ordersOf(t, a, sim, 0)
	per := map[int64]int{}
	for _, o := range sim.sim.Ledger() {
		per[o.Amount]++
		if o.Charged != o.Amount {
			t.Errorf("order %s of %d charged %d", o.OrderID, o.Amount, o.Charged)
		}
	}
	for r := range rounds {
		if n := per[int64(2300+100*r)]; n != 1 {
			t.Errorf("round %d: %d orders charged from one cart of %d, want 1", r, n, 2300+100*r)
		}
	}
	if len(sim.sim.Ledger()) != rounds {
		t.Errorf("%d orders for %d carts", len(sim.sim.Ledger()), rounds)
	}
	t.Logf("%d rounds of %d concurrent scans: %d scans refused as racing", rounds, scans, refused)
}

// scanGate pauses the first scan that reaches step (Options.scanStep)
// until released, so that a test can send other requests there.
type scanGate struct {
	step    string
	once    sync.Once
	reached chan struct{}
	release chan struct{}
}

func newScanGate(step string) *scanGate {
	return &scanGate{step: step, reached: make(chan struct{}), release: make(chan struct{})}
}

func (g *scanGate) hook(step string) {
	if step != g.step {
		return
	}
	first := false
	g.once.Do(func() { first = true })
	if first {
		close(g.reached)
		<-g.release
	}
}

// The cart and scan calls of these tests, through the typed client: the
// HTTP status of the answer (agenttest.Status; 0: none came) and the
// call's error (a *client.Error carries the API's code).

func (p pos) scan(code, device string) (int, error) {
	ctx, status := agenttest.Status(context.Background())
	err := p.Scan(ctx, client.ScanRequest{Code: code, Device: device})
	return status(), err
}

func (p pos) setCart(r client.CartRequest) (int, error) {
	ctx, status := agenttest.Status(context.Background())
	_, err := p.SetCart(ctx, r)
	return status(), err
}

func (p pos) clearCart() (int, error) {
	ctx, status := agenttest.Status(context.Background())
	err := p.ClearCart(ctx)
	return status(), err
}

func (p pos) chooseTip(percent int) (int, *client.Cart, error) {
	ctx, status := agenttest.Status(context.Background())
	c, err := p.ChooseTip(ctx, client.TipChoice{Percent: &percent})
	return status(), c, err
}

// scanAnswer is the answer to a scan: its status and the call's error.
type scanAnswer struct {
	status int
	err    error
}

// scanAsync posts a scan over HTTP in the background; the answer comes on
// the returned channel.
func (a *agentEnv) scanAsync(code string) <-chan scanAnswer {
	out := make(chan scanAnswer, 1)
	go func() {
		s, err := a.pos.scan(code, "lane1")
		out <- scanAnswer{s, err}
	}()
	return out
}

// answered returns what a scanAsync answered.
func answered(t *testing.T, ch <-chan scanAnswer) (int, error) {
	t.Helper()
	select {
	case r := <-ch:
		return r.status, r.err
	case <-time.After(30 * time.Second): // a hang guard
		t.Fatal("the scan never answered")
	}
	return 0, nil
}

// gatedAgent is an agent with scan_auto_start whose first scan from the
// cart pauses at step.
func gatedAgent(t *testing.T, step string, edit ...func(*agent.Options)) (*agentEnv, *simEnv, *scanGate) {
	t.Helper()
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	t.Cleanup(hc.CloseIdleConnections)
	g := newScanGate(step)
	o := testOptions()
	o.ScanAutoStart, o.ScanStep = true, g.hook
	for _, f := range edit {
		f(&o)
	}
	return startAgent(t, "", gw, o), sim, g
}

// ordersOf waits until every payment in the journal is final and returns
// the simulator's orders of amount.
func ordersOf(t *testing.T, a *agentEnv, sim *simEnv, amount int64) (out []ottsim.Order) {
	t.Helper()
	// (Over raw HTTP this asked for limit=1000, above the API's 500: the
	// 400 it got was read as no payments, and nothing was waited for.)
	for p, err := range a.pos.AllPayments(context.Background(), client.ListQuery{Limit: 500}) {
		if err != nil {
			t.Fatal(err)
		}
		a.pos.waitFinal(p.ID)
	}
	for _, o := range sim.sim.Ledger() {
		if o.Amount == amount {
			out = append(out, o)
		}
	}
	return out
}

// Two scans read the same cart; the one that read it first takes it only
// after the other paid it. It is refused: one order, and the cart is not
// due any more (on the old code both were charged).
func TestScanThatLostTheRaceChargesNothing(t *testing.T) {
	a, sim, g := gatedAgent(t, "cart-read")
	if s, err := a.pos.setCart(client.CartRequest{Amount: 2300}); s != 200 {
		t.Fatalf("cart: %d %v", s, err)
	}
	c1, _ := sim.sim.IssueCode("wechat")
	c2, _ := sim.sim.IssueCode("wechat")
	first := a.scanAsync(c1)
	<-g.reached // the first scan has read the cart, not taken it
	if s, err := a.pos.scan(c2, "lane2"); s != 202 {
		t.Fatalf("the second scan: %d %v", s, err)
	}
	close(g.release)
	if s, err := answered(t, first); s != 409 || !client.IsCode(err, "cart_changed") {
		t.Errorf("the scan that lost the race: %d %v, want 409 cart_changed", s, err)
	}
	if os := ordersOf(t, a, sim, 2300); len(os) != 1 || os[0].Charged != 2300 {
		t.Fatalf("orders of the cart: %+v, want one charged 2300", os)
	}
	if c := a.e.Intake().CurrentCart(); c != nil {
		t.Fatalf("a paid cart is due: %+v", c)
	}
}

// A scan that lost the race and whose own payment is refused (its code was
// already used) never restores the cart another scan paid: on the old
// code it did, and a third scan charged the cart again.
func TestLostRaceNeverRestoresAPaidCart(t *testing.T) {
	a, sim, g := gatedAgent(t, "cart-read")
	used := wechatCode(7301)
	ctx, status := agenttest.Status(context.Background())
	paid := a.pos.create(ctx, client.PaymentRequest{Amount: 500, Mode: "scan", AuthCode: used})
	if status() != 201 {
		t.Fatalf("pay: %d %+v", status(), paid)
	}
	a.pos.waitFinal(paid.ID)
	if s, err := a.pos.setCart(client.CartRequest{Amount: 2300}); s != 200 {
		t.Fatalf("cart: %d %v", s, err)
	}
	first := a.scanAsync(used)
	<-g.reached
	c2, _ := sim.sim.IssueCode("wechat")
	if s, err := a.pos.scan(c2, "lane2"); s != 202 {
		t.Fatalf("the second scan: %d %v", s, err)
	}
	close(g.release)
	if s, err := answered(t, first); s != 409 {
		t.Errorf("the scan that lost the race: %d %v, want 409", s, err)
	}
	if c := a.e.Intake().CurrentCart(); c != nil {
		t.Fatalf("the paid cart came back: %+v", c)
	}
	c3, _ := sim.sim.IssueCode("wechat")
	if s, err := a.pos.scan(c3, "lane3"); s != 202 {
		t.Fatalf("a third scan: %d %v", s, err)
	}
	if os := ordersOf(t, a, sim, 2300); len(os) != 1 {
		t.Fatalf("the cart of 23.00 was charged %d times: %+v", len(os), os)
	}
}

// The POS changes the cart while a scan records its payment: the change is
// refused (409 cart_busy), the amount charged is the one taken, and no
// cart stays due (on the old code the new amount was accepted and stayed
// due while the old one was charged). A change before the scan took the
// cart wins instead: that scan is refused and charges nothing.
func TestCartChangedDuringScan(t *testing.T) {
	t.Run("after the take", func(t *testing.T) {
		a, sim, g := gatedAgent(t, "cart-taken")
		if s, err := a.pos.setCart(client.CartRequest{Amount: 2300}); s != 200 {
			t.Fatalf("cart: %d %v", s, err)
		}
		code, _ := sim.sim.IssueCode("wechat")
		scan := a.scanAsync(code)
		<-g.reached
		if s, err := a.pos.setCart(client.CartRequest{Amount: 2500}); s != 409 || !client.IsCode(err, "cart_busy") {
			t.Errorf("PUT /v1/cart during the scan: %d %v, want 409 cart_busy", s, err)
		}
		if s, err := a.pos.clearCart(); s != 409 || !client.IsCode(err, "cart_busy") {
			t.Errorf("DELETE /v1/cart during the scan: %d %v, want 409 cart_busy", s, err)
		}
		close(g.release)
		if s, err := answered(t, scan); s != 202 {
			t.Fatalf("scan: %d %v", s, err)
		}
		if c := a.e.Intake().CurrentCart(); c != nil {
			t.Errorf("a cart is due after the scan paid it: %+v", c)
		}
		if os := ordersOf(t, a, sim, 2300); len(os) != 1 || os[0].Charged != 2300 || len(sim.sim.Ledger()) != 1 {
			t.Fatalf("ledger %+v, want one order charged 2300", sim.sim.Ledger())
		}
	})
	t.Run("before the take", func(t *testing.T) {
		a, sim, g := gatedAgent(t, "cart-read")
		if s, err := a.pos.setCart(client.CartRequest{Amount: 2300}); s != 200 {
			t.Fatalf("cart: %d %v", s, err)
		}
		code, _ := sim.sim.IssueCode("wechat")
		scan := a.scanAsync(code)
		<-g.reached
		if s, err := a.pos.setCart(client.CartRequest{Amount: 2500}); s != 200 {
			t.Fatalf("PUT /v1/cart before the take: %d %v", s, err)
		}
		close(g.release)
		if s, err := answered(t, scan); s != 409 || !client.IsCode(err, "cart_changed") {
			t.Errorf("scan of a changed cart: %d %v, want 409 cart_changed", s, err)
		}
		if c := a.e.Intake().CurrentCart(); c == nil || c.Amount != 2500 {
			t.Errorf("the new cart is not due: %+v", c)
		}
		ordersOf(t, a, sim, 0)
		if n := len(sim.sim.Ledger()); n != 0 {
			t.Fatalf("%d orders charged for a cart that changed under the scan: %+v", n, sim.sim.Ledger())
		}
	})
}

// A tip chosen again while a scan starts the cart's payment is either the
// tip charged or refused, never lost: before the take it wins and the
// scan is refused (on the old code the old tip was charged); after the
// take it is refused (409 cart_busy) and the tip taken is charged.
func TestTipChosenAgainDuringScan(t *testing.T) {
	tips := func(o *agent.Options) { o.TipChoices = []int{10, 15, 18} }
	prompt := func(t *testing.T, a *agentEnv) {
		t.Helper()
		if s, err := a.pos.setCart(client.CartRequest{Amount: 2000, TipPrompt: true}); s != 200 {
			t.Fatalf("cart: %d %v", s, err)
		}
		if s, _, err := a.pos.chooseTip(10); s != 200 {
			t.Fatalf("tip: %d %v", s, err)
		}
	}
	t.Run("before the take", func(t *testing.T) {
		a, sim, g := gatedAgent(t, "cart-read", tips)
		prompt(t, a)
		code, _ := sim.sim.IssueCode("wechat")
		scan := a.scanAsync(code)
		<-g.reached
		if s, c, err := a.pos.chooseTip(18); s != 200 || c == nil || c.Tip != 360 {
			t.Fatalf("the tip chosen again: %d %+v %v", s, c, err)
		}
		close(g.release)
		s, err := answered(t, scan)
		ordersOf(t, a, sim, 0)
		for _, o := range sim.sim.Ledger() {
			if o.Tip != 360 {
				t.Errorf("charged a tip of %d after the tip 360 was accepted (scan %d %v)", o.Tip, s, err)
			}
		}
		if s != 409 || !client.IsCode(err, "cart_changed") {
			t.Errorf("scan: %d %v, want 409 cart_changed", s, err)
		}
		if c := a.e.Intake().CurrentCart(); c == nil || c.Tip != 360 {
			t.Errorf("cart %+v, want the tip 360 due", c)
		}
	})
	t.Run("after the take", func(t *testing.T) {
		a, sim, g := gatedAgent(t, "cart-taken", tips)
		prompt(t, a)
		code, _ := sim.sim.IssueCode("wechat")
		scan := a.scanAsync(code)
		<-g.reached
		if s, _, err := a.pos.chooseTip(18); s != 409 || !client.IsCode(err, "cart_busy") {
			t.Errorf("the tip chosen again during the scan: %d %v, want 409 cart_busy", s, err)
		}
		close(g.release)
		if s, err := answered(t, scan); s != 202 {
			t.Fatalf("scan: %d %v", s, err)
		}
		if os := ordersOf(t, a, sim, 2000); len(os) != 1 || os[0].Tip != 200 || os[0].Charged != 2200 {
			t.Fatalf("orders %+v, want one with the tip 200 taken", os)
		}
	})
}

// Issue 23, finding 9: a payment a scan started from the amount due is on
// the audit trail, with the scanner, the payment, the amount and the tip
// (before, only API requests were).
func TestScanStartedPaymentIsAudited(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	o := testOptions()
	o.ScanAutoStart = true
	a := startAgent(t, "", gw, o)
	if s, err := a.pos.setCart(client.CartRequest{Amount: 2300, Tip: 200}); s != 200 {
		t.Fatalf("cart: %d %v", s, err)
	}
	code, _ := sim.sim.IssueCode("alipay")
	if s, err := a.pos.scan(code, "counter"); s != 202 {
		t.Fatalf("scan: %d %v", s, err)
	}
	var entry *view.AuditEntry
	waitFor(t, "the scan's payment on the audit trail", func() bool {
		trail, err := a.e.View().AuditTrail(time.Time{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range trail {
			if trail[i].Action == "payment.create" && trail[i].Credential == "scanner" {
				entry = &trail[i]
				return true
			}
		}
		return false
	})
	if entry.Payment == "" || entry.Amount != 2300 || entry.Tip != 200 || entry.Client != "scanner counter" || strings.Contains(entry.Detail, code) {
		t.Fatalf("audit entry %+v", entry)
	}
	if p := a.pos.get(entry.Payment); p.Amount != 2300 || p.Tip != 200 {
		t.Fatalf("the audited payment: %+v", p)
	}
}
