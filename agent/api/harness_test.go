package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/books"
	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/internal/agenttest"
	"github.com/posagent/posagent/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const scale = agenttest.Scale

// simEnv is a simulator served over loopback HTTP.
type simEnv struct {
	*agenttest.Sim
	sim *ottsim.Sim
	url string
}

func simOptions() ottsim.Options { return agenttest.SimOptions() }

func startSim(t testing.TB, addr string) *simEnv {
	t.Helper()
	s := agenttest.StartSim(t, addr)
	return &simEnv{Sim: s, sim: s.Sim, url: s.URL}
}

var (
	newGatewayClient = agenttest.GatewayClient
	testLogger       = agenttest.Logger
	wechatCode       = agenttest.WechatCode
	errCode          = agenttest.ErrCode
)

// testConfig is a test's engine options and the API's.
type testConfig struct {
	agent.Options
	APIToken string
	Access   Access
	Mount    map[string]http.Handler
	Bridge   http.Handler
	Callback http.Handler
	Path     string // the journal (startDoor; "" a fresh one)
}

// testOptions are the engine options of the end-to-end tests: real
// defaults compressed by scale, with a faster reconciler and retry.
func testOptions() testConfig {
	t := agent.DefaultTiming()
	t.ReconcileBackoff, t.RetryBackoff, t.APIWait = agenttest.ReconcileBackoff, agenttest.RetryBackoff, agenttest.APIWait
	return testConfig{Options: agent.Options{
		TimeScale: scale, MerchantName: agenttest.MerchantName, TerminalNo: agenttest.TerminalNo, Timing: t,
	}}
}

// agentEnv is an engine with its API on a real HTTP server, and a raw
// HTTP client of that API (agenttest.Raw): these tests are of the API's
// wire itself (exact statuses, headers, bodies, the front door), which the
// typed client (package client) is tested against in its own package.
type agentEnv struct {
	*agenttest.Raw
	t      testing.TB
	e      *agent.Engine
	api    *Server
	st     *store.Store
	srv    *httptest.Server
	path   string
	cancel context.CancelFunc // ends Run only
}

func startAgent(t testing.TB, path string, gw agent.Gateway, c testConfig) *agentEnv {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "posagent.db")
	}
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := c.Options
	o.Gateway, o.Store = gw, st
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	e, err := agent.New(o)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	tm := e.Timing()
	bk, err := books.New(books.Options{Store: st, Engine: e, Clock: e.Clock(), Logger: o.Logger, Merchant: o.MerchantName,
		Currency: e.Currency(), Lane: o.TerminalNo, ReconcileRate: 5, ReconcileSpread: tm.ReconcileSpread, PrintTimeout: tm.PrintTimeout})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done, booksDone := make(chan error, 1), make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	<-e.Ready()
	go func() { booksDone <- bk.Run(ctx) }()
	s := New(e, bk, Options{Token: c.APIToken, Access: c.Access, Mount: c.Mount, Bridge: c.Bridge, Callback: c.Callback, Logger: o.Logger,
		SSEPing: tm.SSEPing})
	srv := httptest.NewServer(s)
	a := &agentEnv{t: t, e: e, api: s, st: st, srv: srv, path: path, cancel: cancel,
		Raw: &agenttest.Raw{T: t, Base: srv.URL, HC: srv.Client(), Token: c.APIToken}}
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			if err := <-booksDone; err != nil {
				t.Errorf("books: Run: %v", err)
			}
			srv.CloseClientConnections()
			srv.Close()
			if err := st.Check(); err != nil {
				t.Errorf("journal consistency: %v", err)
			}
			st.Close()
		})
	})
	return a
}

func (a *agentEnv) call(method, path string, body any, hdr ...string) (int, map[string]any) {
	a.t.Helper()
	return a.Call(method, path, body, hdr...)
}

func (a *agentEnv) raw(method, path string, body any, hdr ...string) (int, []byte) {
	a.t.Helper()
	return a.Bytes(method, path, body, hdr...)
}

func (a *agentEnv) payment(id string) *agent.Payment {
	a.t.Helper()
	status, raw := a.raw("GET", "/v1/payments/"+id, nil)
	if status != 200 {
		a.t.Fatalf("GET payment %s: %d %s", id, status, raw)
	}
	var p agent.Payment
	if err := json.Unmarshal(raw, &p); err != nil {
		a.t.Fatal(err)
	}
	return &p
}

func decodePayment(t testing.TB, m map[string]any) *agent.Payment {
	t.Helper()
	j, _ := json.Marshal(m)
	var p agent.Payment
	if err := json.Unmarshal(j, &p); err != nil || p.ID == "" {
		t.Fatalf("not a payment: %s", j)
	}
	return &p
}

// waitUntil polls the API until cond holds of the payment. The limit is a
// hang guard, not a speed assertion.
func (a *agentEnv) waitUntil(id string, what string, cond func(*agent.Payment) bool) *agent.Payment {
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

// waitFinal waits until the payment and its refunds are final.
func (a *agentEnv) waitFinal(id string) *agent.Payment {
	return a.waitUntil(id, "final", func(p *agent.Payment) bool { return p.State.Final() && refundsFinal(p) })
}

func refundsFinal(p *agent.Payment) bool {
	for _, r := range p.Refunds {
		if !r.State.Final() {
			return false
		}
	}
	return true
}
