package stacktest

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"

	"go.uber.org/goleak"

	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/agent/books"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/internal/agenttest"
	"github.com/posagent/posagent/printer"
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
	merchantID = agenttest.MerchantID
	signKey    = agenttest.SignKey
	scale      = agenttest.Scale // agent and simulator time scale in end-to-end tests
)

var testLogger = agenttest.Logger

// simEnv is a simulator served over loopback HTTP (agenttest.Sim, with the
// names these tests use).
type simEnv struct {
	*agenttest.Sim
	sim  *ottsim.Sim
	url  string // base URL
	stop func()
}

func simOptions() ottsim.Options { return agenttest.SimOptions() }

func startSim(t testing.TB, addr string) *simEnv {
	t.Helper()
	s := agenttest.StartSim(t, addr)
	return &simEnv{Sim: s, sim: s.Sim, url: s.URL, stop: s.Stop}
}

// ledger returns the simulator's orders by order id.
func (s *simEnv) ledger() map[string]ottsim.Order { return agenttest.LedgerOf(s.sim) }

var newGatewayClient = agenttest.GatewayClient

// testOptions are the engine options of the end-to-end tests: real
// defaults compressed by scale, with a faster reconciler and retry.
func testOptions() agent.Options {
	return agent.Options{
		TimeScale: scale, MerchantName: agenttest.MerchantName, TerminalNo: agenttest.TerminalNo,
		Timing: timingWith(func(t *agent.Timing) {
			t.ReconcileBackoff, t.RetryBackoff, t.APIWait = agenttest.ReconcileBackoff, agenttest.RetryBackoff, agenttest.APIWait
		}),
	}
}

// timingWith is DefaultTiming with f's changes.
func timingWith(f func(*agent.Timing)) agent.Timing {
	t := agent.DefaultTiming()
	f(&t)
	return t
}

// agentEnv is an engine with its API on a real HTTP server, and two
// clients of that API: pos, the typed client a POS imports (package
// client), for what a POS does; and the raw HTTP client (agenttest.Raw,
// embedded: call, raw) only for what a POS does not send (a request
// without an Idempotency-Key, a key reused with another body, bodies the
// typed client cannot write) and the Prometheus scrape, each commented
// where it is used.
type agentEnv struct {
	*agenttest.Raw
	pos    pos
	t      testing.TB
	e      *agent.Engine
	bk     *books.Books // the books beside e, running with it
	st     *store.Store
	srv    *httptest.Server
	hc     *http.Client
	stop   func()
	cancel context.CancelFunc // ends Run only
	path   string
}

// startAgent starts an engine on the journal at path ("" a new one) with
// its API (conf: at most one) on a loopback HTTP server.
func startAgent(t testing.TB, path string, gw agent.Gateway, o agent.Options, conf ...APIConf) *agentEnv {
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
	e, err := agent.New(o)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	var c APIConf
	if len(conf) > 0 {
		c = conf[0]
	}
	bk := testBooks(t, e, o, c.Books)
	ctx, cancel := context.WithCancel(context.Background())
	done, booksDone := make(chan error, 1), make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	<-e.Ready()
	go func() { booksDone <- bk.Run(ctx) }()
	srv := httptest.NewServer(testAPI(e, bk, o, conf...))
	a := &agentEnv{t: t, e: e, bk: bk, st: st, srv: srv, hc: srv.Client(), path: path, cancel: cancel,
		Raw: &agenttest.Raw{T: t, Base: srv.URL, HC: srv.Client()}}
	if len(conf) > 0 {
		a.Token = conf[0].Token
	}
	a.pos = pos{t: t, Client: agenttest.POS(t, client.Options{URL: srv.URL, Token: a.Token, Transport: srv.Client().Transport})}
	var once sync.Once
	a.stop = func() {
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
	}
	t.Cleanup(a.stop)
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

// payment reads payment id through the typed client (GET
// /v1/payments/{id}) as the engine's own type, whose states and methods
// (State.Final, Resolution.Open) the tests use; no field is lost on the
// way (client's TestTypesMatchTheAPI).
func (a *agentEnv) payment(id string) *agent.Payment {
	a.t.Helper()
	j, err := json.Marshal(a.pos.get(id))
	if err != nil {
		a.t.Fatal(err)
	}
	var p agent.Payment
	if err := json.Unmarshal(j, &p); err != nil || p.ID != id {
		a.t.Fatalf("GET payment %s: %v %s", id, err, j)
	}
	return &p
}

// waitFinal polls the API until the payment is final (or cond holds).
// The limit is a hang guard, not a speed assertion.
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

// pos is a POS on the local API: the typed client a POS integrator imports
// (package client), with the waits these tests share.
type pos struct {
	*client.Client
	t testing.TB
}

// get reads a payment (GET /v1/payments/{id}).
func (p pos) get(id string) *client.Payment {
	p.t.Helper()
	got, err := p.Payment(context.Background(), id)
	if err != nil {
		p.t.Fatalf("GET payment %s: %v", id, err)
	}
	return got
}

// create starts a payment and fails the test unless the API answered with
// one. A test that asserts the status passes a context from
// agenttest.Status.
func (p pos) create(ctx context.Context, r client.PaymentRequest, key ...client.Key) *client.Payment {
	p.t.Helper()
	got, err := p.CreatePayment(ctx, r, key...)
	if err != nil || got.ID == "" {
		p.t.Fatalf("create %+v: %v %+v", r, err, got)
	}
	return got
}

// The money-moving calls of these tests, through the typed client, with
// the HTTP status of the answer (agenttest.Status; 0: none came) for the
// tests that assert it, and the call's error (a *client.Error carries the
// API's code and message: apiCode, apiMessage).

// pay starts a payment (POST /v1/payments).
func (p pos) pay(r client.PaymentRequest, key ...client.Key) (int, *client.Payment, error) {
	ctx, status := agenttest.Status(context.Background())
	got, err := p.CreatePayment(ctx, r, key...)
	return status(), got, err
}

// refund refunds amount of payment id (0: all that is left).
func (p pos) refund(id string, amount int64, key ...client.Key) (int, *client.Payment, error) {
	return p.refundAs(id, client.RefundRequest{Amount: amount}, key...)
}

// refundAs is refund with an operator or an approval.
func (p pos) refundAs(id string, r client.RefundRequest, key ...client.Key) (int, *client.Payment, error) {
	ctx, status := agenttest.Status(context.Background())
	got, err := p.Refund(ctx, id, r, key...)
	return status(), got, err
}

// mustRefund refunds amount of payment id (0: all) and fails the test
// unless the API took the refund.
func (p pos) mustRefund(id string, amount int64, key ...client.Key) *client.Payment {
	p.t.Helper()
	s, got, err := p.refund(id, amount, key...)
	if err != nil || s != 201 && s != 200 {
		p.t.Fatalf("refund %d of %s: %d %v", amount, id, s, err)
	}
	return got
}

// cancel stops payment id (POST /v1/payments/{id}/cancel).
func (p pos) cancel(id string) (int, *client.Payment, error) {
	ctx, status := agenttest.Status(context.Background())
	got, err := p.Cancel(ctx, id)
	return status(), got, err
}

// giveCode gives a waiting payment a code (POST /v1/payments/{id}/code).
func (p pos) giveCode(id, code string) (int, *client.Payment, error) {
	ctx, status := agenttest.Status(context.Background())
	got, err := p.GiveCode(ctx, id, code)
	return status(), got, err
}

// resolve settles an in-doubt payment by hand.
func (p pos) resolve(id string, r client.ResolveRequest) (int, *client.Payment, error) {
	ctx, status := agenttest.Status(context.Background())
	got, err := p.Resolve(ctx, id, r)
	return status(), got, err
}

// retryRefund makes again a refund proven not made.
func (p pos) retryRefund(id, refund string) (int, *client.Payment, error) {
	ctx, status := agenttest.Status(context.Background())
	got, err := p.RetryRefund(ctx, id, refund)
	return status(), got, err
}

// sync asks for a reconciliation and an outbox flush now (POST /v1/sync).
func (p pos) sync() {
	p.t.Helper()
	if _, err := p.Sync(context.Background()); err != nil {
		p.t.Fatalf("sync: %v", err)
	}
}

// apiCode is the API's error code in err ("" when err is no *client.Error).
func apiCode(err error) string {
	var ae *client.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

// apiMessage is the API's error message in err.
func apiMessage(err error) string {
	var ae *client.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return ""
}

// waitUntil reads the payment until cond holds of it. The limit is a hang
// guard, not a speed assertion.
func (p pos) waitUntil(id, what string, cond func(*client.Payment) bool) *client.Payment {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := p.get(id)
		if cond(got) {
			return got
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("payment %s never became %s; it is %s (history %v, error %v)", id, what, got.State, got.History, got.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFinal reads the payment until it and its refunds are final.
func (p pos) waitFinal(id string) *client.Payment {
	return p.waitUntil(id, "final", func(got *client.Payment) bool { return got.Final() && posRefundsFinal(got) })
}

// posRefundsFinal is refundsFinal of a payment the typed client read.
func posRefundsFinal(p *client.Payment) bool {
	for _, r := range p.Refunds {
		if r.State != client.RefundSucceeded && r.State != client.RefundFailed {
			return false
		}
	}
	return true
}

// payment codes per wallet (paycode.Classify rules).
var wechatCode, alipayCode = agenttest.WechatCode, agenttest.AlipayCode

// APIConf is what a test asks of the API in front of its engine.
type APIConf struct {
	Token     string
	Operators []APIOperator // operators: (config operators:)
	SSEPing   time.Duration
	// RenderReceipt draws receipt.png (nil: 404).
	RenderReceipt func(printer.Receipt) ([]byte, error)
	// Books adds to the books the API serves (testBooks): the shop's
	// time zone, close_at, the reconciliation rate.
	Books books.Options
}

// APIOperator is a configured operator (id and role).
type APIOperator struct{ ID, Role string }

// testAPI is the local API (agent/api) in front of e and its books, as
// posagent run serves it, its event-stream ping in the engine's time scale.
func testAPI(e *agent.Engine, bk *books.Books, o agent.Options, conf ...APIConf) http.Handler {
	var c APIConf
	if len(conf) > 0 {
		c = conf[0]
	}
	if c.SSEPing == 0 {
		c.SSEPing = e.Timing().SSEPing
	}
	acc := api.Access{}
	for _, op := range c.Operators {
		acc.Operators = append(acc.Operators, api.Operator{ID: op.ID, Role: op.Role})
	}
	return api.New(e, bk, api.Options{Token: c.Token, Access: acc, SSEPing: c.SSEPing, RenderReceipt: c.RenderReceipt,
		RenderReport: printer.RenderReportPaper, RenderPlacard: printer.RenderPlacardPaper})
}

// testBooks are the books beside e (agent/books) as the daemon builds them:
// the engine's journal, clock, merchant, lane and timing (o: the options e
// was made with); bo adds what a test sets (the shop's time zone,
// close_at, a reconciliation rate: 5 a second when unset, as configured by
// default).
func testBooks(t testing.TB, e *agent.Engine, o agent.Options, bo books.Options) *books.Books {
	t.Helper()
	bk, err := newBooks(e, o, bo)
	if err != nil {
		t.Fatal(err)
	}
	return bk
}

// newBooks is testBooks for the crash and model children (no testing.TB).
func newBooks(e *agent.Engine, o agent.Options, bo books.Options) (*books.Books, error) {
	tm := e.Timing()
	bo.Store, bo.Engine, bo.Clock, bo.Logger = o.Store, e, e.Clock(), o.Logger
	bo.Merchant, bo.Currency, bo.Lane = o.MerchantName, e.Currency(), o.TerminalNo
	bo.ReconcileSpread, bo.PrintTimeout = tm.ReconcileSpread, tm.PrintTimeout
	if bo.ReconcileRate == 0 {
		bo.ReconcileRate = 5
	}
	return books.New(bo)
}

// newID is an id in the engine's form (the prefix, the time in 13 base-36
// digits, 6 random base-36 letters), for payments written straight into a
// journal as fixtures.
func newID(prefix string, t time.Time) string {
	ts := strconv.FormatInt(t.UnixNano(), 36)
	r := strconv.FormatInt(rand.Int64N(36*36*36*36*36*36), 36)
	return prefix + strings.Repeat("0", 13-len(ts)) + ts + strings.Repeat("0", 6-len(r)) + r
}

var errCode = agenttest.ErrCode
