package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/agent/books"
	"github.com/posagent/posagent/drivers/bridge"
	"github.com/posagent/posagent/drivers/bridge/bridgeclient"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/paycode"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/store"
)

const (
	e2eMerchant = "ON00004652"
	e2eSignKey  = "6698851A525C9433"
	e2eScale    = 0.02 // agent and simulator time scale
)

// e2eAgent is the daemon's parts wired as the lead wires them: the real
// simulator over loopback HTTP, the gateway client, a bbolt journal in a
// temp dir, the engine with the hub as its printer, and the hub mounted at
// /v1/bridge on the engine's API server.
type e2eAgent struct {
	sim    *ottsim.Sim
	eng    *agent.Engine
	hub    *bridge.Hub
	srv    *httptest.Server
	hc     *http.Client
	bridge string // ws URL
	states chan bridge.HelperStatus
}

func startE2E(t *testing.T) *e2eAgent {
	t.Helper()
	a := &e2eAgent{states: make(chan bridge.HelperStatus, 64)}
	var stops []func()
	t.Cleanup(func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	})
	run := func(name string, f func(context.Context) error) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- f(ctx) }()
		stops = append(stops, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("%s Run: %v", name, err)
			}
		})
	}

	// The simulator.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a.sim = ottsim.New(ottsim.Options{MerchantID: e2eMerchant, SignKey: e2eSignKey, TimeScale: e2eScale, Logger: testLogger(t)})
	run("sim", func(ctx context.Context) error { return a.sim.Run(ctx, l) })

	// The gateway client and the journal.
	ghc := gateway.DefaultHTTPClient()
	ghc.Timeout = time.Duration(float64(gateway.DefaultTimeout) * e2eScale)
	stops = append(stops, ghc.CloseIdleConnections)
	gw, err := gateway.New(gateway.Config{URL: "http://" + l.Addr().String() + "/processV2",
		MerchantID: e2eMerchant, SignKey: e2eSignKey, OperatorID: "0000000696", TerminalNo: "LANE1",
		CallbackURL: "http://127.0.0.1:1/cb", HTTPClient: ghc})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "posagent.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	stops = append(stops, func() {
		if err := st.Check(); err != nil {
			t.Errorf("journal consistency: %v", err)
		}
		st.Close()
	})

	// The hub: ESC/POS for a Sunmi; scans go to the engine.
	a.hub, err = bridge.New(bridge.Options{
		Token: testToken, WidthDots: 384, Logger: testLogger(t),
		OnScan: func(ctx context.Context, s bridge.Scan) error { return a.eng.Intake().HandleScan(ctx, agent.Scan(s)) },
		OnState: func(s bridge.HelperStatus) {
			select {
			case a.states <- s:
			default:
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	tm := agent.DefaultTiming()
	tm.RetryBackoff, tm.APIWait = []time.Duration{3 * time.Second, 5 * time.Second}, 50*time.Second
	a.eng, err = agent.New(agent.Options{
		Gateway: gw, Store: st, Logger: testLogger(t), Timing: tm, TimeScale: e2eScale,
		MerchantName: "Maple Tea House", TerminalNo: "LANE1", Currency: "CAD",
		Printer: printer.JobPrinter{Sender: a.hub, Encode: escpos58}, AutoPrint: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	bk, err := books.New(books.Options{Store: st, Engine: a.eng, Clock: a.eng.Clock(), Currency: "CAD", Lane: "LANE1"})
	if err != nil {
		t.Fatal(err)
	}
	run("engine", a.eng.Run)
	// As posagent run wires it: the bridge endpoint has its own token and
	// sits beside the API's front door.
	mux := http.NewServeMux()
	mux.Handle("/v1/bridge", a.hub.Handler())
	mux.Handle("/", api.New(a.eng, bk, api.Options{}))
	a.srv = httptest.NewServer(mux)
	stops = append(stops, a.srv.Close)
	run("hub", a.hub.Run) // stopped before the server closes
	a.hc = &http.Client{}
	stops = append(stops, a.hc.CloseIdleConnections)
	a.bridge = "ws" + strings.TrimPrefix(a.srv.URL, "http") + "/v1/bridge"
	return a
}

// createScan starts a scan payment through the local API.
func (a *e2eAgent) createScan(t *testing.T, amount int64, ref, code string) agent.Payment {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"amount": amount, "currency": "CAD", "mode": "scan", "reference": ref, "auth_code": code})
	req, _ := http.NewRequest("POST", a.srv.URL+"/v1/payments", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "bridge-e2e-"+ref) // money-moving requests carry a key
	resp, err := a.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /v1/payments: %d %s", resp.StatusCode, raw)
	}
	var p agent.Payment
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// waitUntil polls cond; the bound is a hang guard, not a speed assertion.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (a *e2eAgent) waitState(t *testing.T, connected bool) {
	t.Helper()
	timer := time.NewTimer(waitFor)
	defer timer.Stop()
	for {
		select {
		case s := <-a.states:
			if s.Connected == connected {
				return
			}
		case <-timer.C:
			t.Fatalf("helper never connected=%v", connected)
		}
	}
}

// printLog records what the helper printed.
type printLog struct {
	mu   sync.Mutex
	jobs []bridgeclient.Job
}

func (p *printLog) print(ctx context.Context, j bridgeclient.Job) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.jobs = append(p.jobs, j)
	return nil
}

// receiptJob names the customer-copy print jobs of a payment: the agent keys
// each job by payment id and outbox sequence ("rcpt:<id>_<seq>:customer").
func receiptJob(paymentID string) string { return "rcpt:" + paymentID + "_" }

func isJob(j bridgeclient.Job, prefix string) bool {
	return strings.HasPrefix(j.ID, prefix) && strings.HasSuffix(j.ID, ":customer")
}

// count is how many jobs of prefix (receiptJob) the helper printed.
func (p *printLog) count(prefix string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, j := range p.jobs {
		if isJob(j, prefix) {
			n++
		}
	}
	return n
}

func (p *printLog) total() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.jobs)
}

func (p *printLog) data(id string) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, j := range p.jobs {
		if isJob(j, id) {
			return j.Data
		}
	}
	return nil
}

// A scan posted over the bridge becomes a succeeded payment on the
// simulator, and its receipt comes back over the bridge as a job the helper
// acknowledges (the outbox then forgets it).
func TestE2EScanOverBridgeToReceipt(t *testing.T) {
	a := startE2E(t)
	ctx := testCtx(t)
	prints := &printLog{}
	c, err := bridgeclient.Dial(ctx, a.bridge, testToken, "sunmi-t2", bridgeclient.WithPrintHandler(prints.print))
	if err != nil {
		t.Fatal(err)
	}
	a.waitState(t, true)
	runClient(t, c)

	p := a.createScan(t, 1250, "INV-1001", "")
	if p.State != agent.AwaitingCode {
		t.Fatalf("new scan payment is %s, want awaiting_code", p.State)
	}
	const code = "134567890123456789" // WeChat Pay
	if err := c.Scan(ctx, code); err != nil {
		t.Fatalf("Scan over the bridge: %v", err)
	}
	var final *agent.Payment
	waitUntil(t, "payment final", func() bool {
		final, err = a.eng.Payment(p.ID)
		return err == nil && final.State.Final()
	})
	if final.State != agent.Succeeded || final.AuthCodeMasked != paycode.Mask(code) {
		t.Fatalf("payment %s: state %s code %q, want succeeded with the bridge's code", p.ID, final.State, final.AuthCodeMasked)
	}
	var charged int64 = -1
	for _, o := range a.sim.Ledger() {
		if o.OrderID == final.OrderID {
			charged = o.Charged
		}
	}
	if charged != 1250 {
		t.Errorf("simulator charged %d for %s, want 1250", charged, final.OrderID)
	}

	jobID := receiptJob(p.ID)
	waitUntil(t, "receipt printed and outbox empty", func() bool {
		return prints.count(jobID) == 1 && a.eng.Status().Outbox.ByKind["receipt"] == 0
	})
	if got := prints.data(jobID); !bytes.Contains(got, []byte("Maple Tea House")) || !bytes.Contains(got, []byte(final.OrderID)) {
		t.Errorf("receipt bytes lack the merchant or the order id:\n%q", got)
	}
	if prints.total() != 1 {
		t.Errorf("helper printed %d jobs, want 1", prints.total())
	}
}

// Receipts of payments made while the helper was away reach it after it
// reconnects, each printed once; the one it printed before is not printed
// again.
func TestE2EReconnectGetsMissedReceiptsOnce(t *testing.T) {
	a := startE2E(t)
	ctx := testCtx(t)
	prints := &printLog{}
	acked := bridgeclient.NewLRU(64) // survives the helper's restart, as on Android
	dial := func() *bridgeclient.Client {
		c, err := bridgeclient.Dial(ctx, a.bridge, testToken, "sunmi-t2",
			bridgeclient.WithPrintHandler(prints.print), bridgeclient.WithAckedStore(acked))
		if err != nil {
			t.Fatal(err)
		}
		a.waitState(t, true)
		return c
	}

	c1 := dial()
	runCtx, stop1 := context.WithCancel(ctx)
	done1 := make(chan error, 1)
	go func() { done1 <- c1.Run(runCtx) }()
	p0 := a.createScan(t, 1100, "INV-0", "134567890123450000")
	id0 := receiptJob(p0.ID)
	waitUntil(t, "first receipt printed", func() bool {
		return prints.count(id0) == 1 && a.eng.Status().Outbox.ByKind["receipt"] == 0
	})

	// The helper goes away; two payments succeed meanwhile.
	stop1()
	if err := <-done1; err != nil {
		t.Fatalf("client Run: %v", err)
	}
	a.waitState(t, false)
	var missed []string
	for i, code := range []string{"134567890123451111", "284567890123452222"} {
		p := a.createScan(t, int64(1200+i*100), fmt.Sprintf("INV-%d", i+1), code)
		waitUntil(t, "payment succeeded", func() bool {
			q, err := a.eng.Payment(p.ID)
			return err == nil && q.State == agent.Succeeded
		})
		missed = append(missed, receiptJob(p.ID))
	}
	waitUntil(t, "the outbox holds both receipts", func() bool {
		return a.eng.Status().Outbox.ByKind["receipt"] == 2
	})
	for _, id := range missed {
		if n := prints.count(id); n != 0 {
			t.Fatalf("%s printed %d times while no helper was connected", id, n)
		}
	}

	// It comes back and gets what it missed.
	runClient(t, dial())
	waitUntil(t, "missed receipts printed and outbox empty", func() bool {
		return prints.count(missed[0]) >= 1 && prints.count(missed[1]) >= 1 &&
			a.eng.Status().Outbox.ByKind["receipt"] == 0
	})
	for _, id := range append([]string{id0}, missed...) {
		if n := prints.count(id); n != 1 {
			t.Errorf("%s printed %d times, want once", id, n)
		}
	}
	if prints.total() != 3 {
		t.Errorf("helper printed %d jobs, want 3", prints.total())
	}
}
