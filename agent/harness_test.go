package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/store"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(crashChild())
	}
	if os.Getenv(modelEnv) != "" {
		os.Exit(modelChild())
	}
	goleak.VerifyTestMain(m)
}

const (
	merchantID = "ON00004652"
	signKey    = "6698851A525C9433"
	scale      = 0.02 // agent and simulator time scale in end-to-end tests
)

// testLogger writes to the test log only with -v and POSAGENT_TEST_LOG=1.
func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("POSAGENT_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// simEnv is a simulator served over loopback HTTP.
type simEnv struct {
	sim  *ottsim.Sim
	url  string // base URL
	stop func()
}

func simOptions() ottsim.Options {
	return ottsim.Options{MerchantID: merchantID, SignKey: signKey, TimeScale: scale, QRTimeout: 60 * time.Second}
}

func startSim(t testing.TB, addr string) *simEnv {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	o := simOptions()
	o.Logger = testLogger(t)
	s := ottsim.New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, l) }()
	env := &simEnv{sim: s, url: "http://" + l.Addr().String()}
	env.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sim: %v", err)
		}
	}
	t.Cleanup(env.stop)
	return env
}

// ledger returns the simulator's orders by order id.
func (s *simEnv) ledger() map[string]ottsim.Order {
	out := map[string]ottsim.Order{}
	for _, o := range s.sim.Ledger() {
		out[o.OrderID] = o
	}
	return out
}

func newGatewayClient(t testing.TB, simURL string, opts ...func(*gateway.Config)) (*gateway.Client, *http.Client) {
	hc := gateway.DefaultHTTPClient()
	hc.Timeout = time.Duration(float64(gateway.DefaultTimeout) * scale)
	cfg := gateway.Config{URL: simURL + "/processV2", MerchantID: merchantID, SignKey: signKey,
		OperatorID: "0000000696", TerminalNo: "LANE1", CallbackURL: "http://127.0.0.1:1/cb", HTTPClient: hc}
	for _, o := range opts {
		o(&cfg)
	}
	c, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, hc
}

// testOptions are the engine options of the end-to-end tests: real
// defaults compressed by scale, with a faster reconciler and retry.
func testOptions() Options {
	return Options{
		TimeScale: scale, MerchantName: "Maple Tea House", TerminalNo: "LANE1",
		ReconcileBackoff: []time.Duration{10 * time.Second, 20 * time.Second, 60 * time.Second},
		RetryBackoff:     []time.Duration{3 * time.Second, 5 * time.Second, 10 * time.Second},
		APIWait:          50 * time.Second, // 1 s scaled: a POST waits for a quick answer
	}
}

// agentEnv is an engine with its API on a real HTTP server.
type agentEnv struct {
	t      testing.TB
	e      *Engine
	st     *store.Store
	srv    *httptest.Server
	hc     *http.Client
	token  string
	stop   func()
	cancel context.CancelFunc // ends Run only
	path   string
	keys   atomic.Int64 // Idempotency-Keys made by raw
}

func startAgent(t testing.TB, path string, gw Gateway, o Options) *agentEnv {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "posagent.db")
	}
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o.Gateway, o.Store = gw, st
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	e, err := New(o)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	<-e.Ready()
	srv := httptest.NewServer(e.Handler())
	a := &agentEnv{t: t, e: e, st: st, srv: srv, hc: srv.Client(), token: o.APIToken, path: path, cancel: cancel}
	var once sync.Once
	a.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			srv.CloseClientConnections()
			srv.Close()
			if err := st.Check(); err != nil {
				t.Errorf("journal consistency: %v", err)
			}
			st.Close()
		})
	}
	t.Cleanup(a.stop)
	return a
}

// call does one API request; body may be a string (raw) or a value (JSON).
func (a *agentEnv) call(method, path string, body any, hdr ...string) (int, map[string]any) {
	a.t.Helper()
	status, raw := a.raw(method, path, body, hdr...)
	var m map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &m); err != nil {
			a.t.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return status, m
}

func (a *agentEnv) raw(method, path string, body any, hdr ...string) (int, []byte) {
	a.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, a.srv.URL+path, rd)
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json") // as every POS must
	}
	if method == http.MethodPost {
		// Money-moving routes require a key: a test that does not give
		// its own gets a fresh one (as the CLI does per invocation); pass
		// "Idempotency-Key", "" to send none.
		req.Header.Set("Idempotency-Key", fmt.Sprintf("test-%d", a.keys.Add(1)))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func (a *agentEnv) payment(id string) *Payment {
	a.t.Helper()
	status, raw := a.raw("GET", "/v1/payments/"+id, nil)
	if status != 200 {
		a.t.Fatalf("GET payment %s: %d %s", id, status, raw)
	}
	var p Payment
	if err := json.Unmarshal(raw, &p); err != nil {
		a.t.Fatal(err)
	}
	return &p
}

func decodePayment(t testing.TB, m map[string]any) *Payment {
	t.Helper()
	j, _ := json.Marshal(m)
	var p Payment
	if err := json.Unmarshal(j, &p); err != nil || p.ID == "" {
		t.Fatalf("not a payment: %s", j)
	}
	return &p
}

// waitFinal polls the API until the payment is final (or cond holds).
// The limit is a hang guard, not a speed assertion.
func (a *agentEnv) waitUntil(id string, what string, cond func(*Payment) bool) *Payment {
	a.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		p := a.payment(id)
		if cond(p) {
			return p
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("payment %s never became %s; it is %s (history %v, error %v)", id, what, p.State, p.History, p.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (a *agentEnv) waitFinal(id string) *Payment {
	return a.waitUntil(id, "final", func(p *Payment) bool { return p.State.Final() && refundsFinal(p) })
}

func refundsFinal(p *Payment) bool {
	for _, r := range p.Refunds {
		if !r.State.Final() {
			return false
		}
	}
	return true
}

// payment codes per wallet (paycode.Classify rules).
func wechatCode(n int) string { return fmt.Sprintf("13%016d", n) }
func alipayCode(n int) string { return fmt.Sprintf("28%016d", n) }

func storeEvent(seq uint64, data []byte) store.Event { return store.Event{Seq: seq, Data: data} }

func asOpError(err error, oe **opError) bool { return errors.As(err, oe) }
