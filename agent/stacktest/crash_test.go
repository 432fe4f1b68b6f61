package stacktest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/books"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/internal/agenttest"
	"github.com/posagent/posagent/store"
)

// The crash test runs the daemon (engine + API on one journal file) in a
// child process: this test binary re-executed with childEnv set, which
// TestMain dispatches to crashChild.
const childEnv = "POSAGENT_CRASH_CHILD"

func crashChild() int {
	path, simURL, addrFile := os.Getenv("POSAGENT_CRASH_DB"), os.Getenv("POSAGENT_CRASH_SIM"), os.Getenv("POSAGENT_CRASH_ADDR")
	st, err := store.Open(path, store.Options{LockTimeout: 10 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	hc := gateway.DefaultHTTPClient()
	hc.Timeout = time.Duration(float64(gateway.DefaultTimeout) * scale)
	gw, err := gateway.New(gateway.Config{URL: simURL + "/processV2", MerchantID: merchantID, SignKey: signKey,
		OperatorID: "0000000696", CallbackURL: "http://127.0.0.1:1/cb", HTTPClient: hc})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	o := testOptions()
	o.Gateway, o.Store = gw, st
	e, err := agent.New(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	bk, err := newBooks(e, o, books.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 2
	}
	go e.Run(context.Background()) // until SIGKILL
	<-e.Ready()
	go bk.Run(context.Background())
	go http.Serve(l, testAPI(e, bk, o))
	tmp := addrFile + ".tmp"
	os.WriteFile(tmp, []byte(l.Addr().String()), 0o600)
	os.Rename(tmp, addrFile)
	select {} // until SIGKILL
}

type child struct {
	cmd  *exec.Cmd
	base string
}

func startChild(t *testing.T, dir, path, simURL string, n int) *child {
	t.Helper()
	addrFile := filepath.Join(dir, fmt.Sprintf("addr-%d", n))
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", "POSAGENT_CRASH_DB="+path, "POSAGENT_CRASH_SIM="+simURL, "POSAGENT_CRASH_ADDR="+addrFile)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second) // hang guard
	for {
		if b, err := os.ReadFile(addrFile); err == nil {
			return &child{cmd: cmd, base: "http://" + string(b)}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("child daemon never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pos is the typed client a POS imports (package client), dialled at the
// child through tr: it never sends a request again by itself (Retries -1),
// so a request whose answer a SIGKILL cut is the test's to send again
// after the restart, with its own key, as a POS does; 5 s per request.
func (c *child) pos(t testing.TB, tr http.RoundTripper) *client.Client {
	t.Helper()
	return agenttest.POS(t, client.Options{URL: c.base, Timeout: 5 * time.Second, Transport: tr})
}

func (c *child) kill() {
	c.cmd.Process.Kill() // SIGKILL: no cleanup at all
	c.cmd.Wait()
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: a few seconds of real processes")
	}
	sim := startSim(t, "")
	dir := t.TempDir()
	path := filepath.Join(dir, "posagent.db")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	var rmu sync.Mutex
	rnd := func(n int) int { rmu.Lock(); defer rmu.Unlock(); return rng.IntN(n) }

	tr := http.DefaultTransport.(*http.Transport).Clone() // the POS's connections to each child
	defer tr.CloseIdleConnections()
	hc := &http.Client{Timeout: 5 * time.Second} // the customers' phones
	defer hc.CloseIdleConnections()
	bg := context.Background()

	var codeN atomic.Int64
	var customers sync.WaitGroup
	// Requests whose answer was lost in a crash are retried with the same
	// Idempotency-Key after the restart, as a POS would: never a second payment.
	type retry struct {
		key client.Key
		req client.PaymentRequest
	}
	var qmu sync.Mutex
	var retries []retry
	resend := func(pos *client.Client) {
		qmu.Lock()
		todo := retries
		retries = nil
		qmu.Unlock()
		for _, r := range todo {
			if _, err := pos.CreatePayment(bg, r.req, r.key); err != nil {
				qmu.Lock()
				retries = append(retries, r)
				qmu.Unlock()
			}
		}
	}
	const rounds = 8
	for round := 0; round < rounds; round++ {
		c := startChild(t, dir, path, sim.url, round)
		pos := c.pos(t, tr)
		resend(pos)
		killAt := time.Duration(50+rnd(600)) * time.Millisecond
		ctx, cancel := context.WithTimeout(context.Background(), killAt)
		var workers sync.WaitGroup
		for w := 0; w < 3; w++ {
			workers.Add(1)
			go func() {
				defer workers.Done()
				for ctx.Err() == nil {
					cents := int64(100*(10+rnd(40)) + rnd(7))
					var req client.PaymentRequest
					if rnd(2) == 0 {
						req = client.PaymentRequest{Amount: cents, Mode: "scan", AuthCode: wechatCode(int(codeN.Add(1)))}
					} else {
						req = client.PaymentRequest{Amount: cents, Mode: "qr", Wallet: "alipay"}
					}
					key := fmt.Sprintf("k%d", codeN.Add(1))
					req.Reference = key
					p, err := pos.CreatePayment(bg, req, client.Key(key))
					if err != nil || p == nil || p.ID == "" { // lost in the crash, or refused: sent again after the restart
						qmu.Lock()
						retries = append(retries, retry{client.Key(key), req})
						qmu.Unlock()
						time.Sleep(10 * time.Millisecond)
						continue
					}
					id := p.ID
					if u := p.CodeURL; u != "" && rnd(4) != 0 {
						customers.Add(1)
						go func(delay time.Duration) { // the customer pays, maybe late
							defer customers.Done()
							time.Sleep(delay)
							if resp, err := hc.Get(u); err == nil {
								resp.Body.Close()
							}
						}(time.Duration(rnd(1500)) * time.Millisecond)
					}
					if rnd(3) == 0 { // the cashier gives up (the customer may still pay: reversed)
						pos.Cancel(bg, id)
					}
					if rnd(6) == 0 {
						pos.Refund(bg, id, client.RefundRequest{Amount: 100})
					}
				}
			}()
		}
		<-ctx.Done()
		c.kill()
		cancel()
		workers.Wait()
	}
	customers.Wait()

	// Final run: recovery drives everything to a final state.
	c := startChild(t, dir, path, sim.url, rounds)
	defer c.kill()
	pos := c.pos(t, tr)
	resend(pos)
	var list []*client.Payment
	deadline := time.Now().Add(90 * time.Second) // hang guard
	for {
		pos.Sync(bg)
		list = nil
		for p, err := range pos.AllPayments(bg, client.ListQuery{Limit: 500}) {
			if err != nil {
				t.Fatal(err)
			}
			list = append(list, &p)
		}
		open := 0
		for _, p := range list {
			if !p.Final() || !posRefundsFinal(p) {
				open++
			}
		}
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			for _, p := range list {
				if !p.Final() || !posRefundsFinal(p) {
					t.Errorf("still open: %s %s %d %s history %v refunds %+v error %v", p.ID, p.Mode, p.Amount, p.State, p.History, p.Refunds, p.Error)
				}
			}
			t.Fatalf("%d payments never became final", open)
		}
		time.Sleep(100 * time.Millisecond)
	}

	ledger := sim.ledger()
	byRef := map[string]int{}
	for _, p := range list {
		byRef[p.Reference]++
		if byRef[p.Reference] > 1 {
			t.Errorf("Idempotency-Key %s produced %d payments", p.Reference, byRef[p.Reference])
		}
	}
	byOrder := map[string]*client.Payment{}
	counts := map[string]int{}
	for _, p := range list {
		byOrder[p.OrderID] = p
		counts[p.State]++
		o, ok := ledger[p.OrderID]
		var refunded int64
		for _, r := range p.Refunds {
			if r.State == "succeeded" {
				refunded += r.Amount
			}
		}
		switch p.State {
		case client.Succeeded:
			if !ok || o.Charged != p.Amount || o.Refunded != refunded {
				t.Errorf("%s succeeded %d refunded %d: ledger %+v", p.ID, p.Amount, refunded, o)
			}
		case client.Reversed:
			if !ok || o.Charged != p.Amount || o.Refunded != p.Amount || refunded != p.Amount {
				t.Errorf("%s reversed %d: ledger %+v, journal refunded %d", p.ID, p.Amount, o, refunded)
			}
		default:
			if ok && o.Charged != 0 {
				t.Errorf("%s %s but the simulator charged %d (%s)", p.ID, p.State, o.Charged, o.Status)
			}
		}
	}
	for id, o := range ledger {
		if _, ok := byOrder[id]; !ok && o.Charged > 0 {
			t.Errorf("order %s charged %d at the simulator is not in the journal (lost)", id, o.Charged)
		}
	}
	t.Logf("%d payments after %d SIGKILLs: %v", len(list), rounds, counts)
	if len(list) < rounds {
		t.Errorf("only %d payments were created", len(list))
	}
	c.kill()
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Check(); err != nil {
		t.Error(err)
	}
}
