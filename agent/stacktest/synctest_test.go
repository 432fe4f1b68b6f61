package stacktest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/posagent/posagent/agent"

	"github.com/posagent/posagent/agent/books"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/internal/agenttest"
	"github.com/posagent/posagent/store"
)

// These flow tests run inside a synctest bubble: the engine, the gateway
// client and the simulator at their real defaults (a 60 s scan window, a
// 2 min reconciler, a 2 min wait for a code), on fake time that jumps
// ahead whenever every goroutine waits, so they are exact and take
// milliseconds. The simulator is the real one, reached through its
// handler in memory (a socket would not let the bubble's time move); the
// journal is a real bbolt file.

// memTransport serves HTTP requests with a handler, in memory. A handler
// that aborts (http.ErrAbortHandler: the simulator dropping the
// connection after acting) is a connection cut before the answer.
type memTransport struct{ h http.Handler }

func (m memTransport) RoundTrip(r *http.Request) (resp *http.Response, err error) {
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			resp, err = nil, io.ErrUnexpectedEOF
		}
	}()
	r = r.Clone(r.Context())
	r.RemoteAddr, r.RequestURI = "127.0.0.1:50000", r.URL.RequestURI() // a local caller, as a server sets them
	if r.Body == nil {
		r.Body = http.NoBody
	}
	// The request is on the "wire" now, as a real transport reports it.
	if tr := httptrace.ContextClientTrace(r.Context()); tr != nil {
		if tr.WroteHeaders != nil {
			tr.WroteHeaders()
		}
		if tr.WroteRequest != nil {
			tr.WroteRequest(httptrace.WroteRequestInfo{})
		}
	}
	w := httptest.NewRecorder()
	m.h.ServeHTTP(w, r)
	return w.Result(), nil
}

// bubbleEnv is an engine, its API and a simulator in one bubble; the API
// is called in memory by the typed client a POS imports (pos).
type bubbleEnv struct {
	pos  pos // the typed client a POS imports, over an in-memory transport
	t    *testing.T
	e    *agent.Engine
	bk   *books.Books // the books beside e, running with it
	st   *store.Store
	gw   agent.Gateway // what the engine was given (a script's wrapper, or the client)
	sim  *ottsim.Sim
	env  *simEnv // the same simulator, for checkLedger
	stop func()
}

// bubbleOpt adds to a bubble: a journal already written, or a gateway
// wrapped around the real client (scripted answers).
type bubbleOpt struct {
	path string
	wrap func(*gateway.Client) agent.Gateway
	sim  *ottsim.Sim // the simulator of an earlier bubble run (its ledger)
	key  string      // the sign key the client uses (a misconfigured terminal)
}

func withJournal(path string) bubbleOpt                              { return bubbleOpt{path: path} }
func withSim(sim *ottsim.Sim) bubbleOpt                              { return bubbleOpt{sim: sim} }
func withSignKey(key string) bubbleOpt                               { return bubbleOpt{key: key} }
func withGateway(wrap func(*gateway.Client) agent.Gateway) bubbleOpt { return bubbleOpt{wrap: wrap} }

// startBubble starts an engine at real time defaults (o adds to them)
// against an in-memory simulator. Call it inside synctest.Test.
func startBubble(t *testing.T, o agent.Options, so ottsim.Options, opts ...bubbleOpt) *bubbleEnv {
	t.Helper()
	path := filepath.Join(t.TempDir(), "posagent.db")
	var wrap func(*gateway.Client) agent.Gateway
	var sim *ottsim.Sim
	key := signKey
	for _, x := range opts {
		if x.path != "" {
			path = x.path
		}
		if x.wrap != nil {
			wrap = x.wrap
		}
		if x.sim != nil {
			sim = x.sim
		}
		if x.key != "" {
			key = x.key
		}
	}
	so.MerchantID, so.SignKey = merchantID, signKey
	so.BaseURL = "http://sim.invalid"
	if sim == nil {
		sim = ottsim.New(so)
	}
	gw, err := gateway.New(gateway.Config{URL: "http://sim.invalid/processV2", MerchantID: merchantID, SignKey: key,
		OperatorID: "0000000696", TerminalNo: "LANE1", CallbackURL: "http://127.0.0.1:1/cb",
		HTTPClient: &http.Client{Transport: memTransport{sim.Handler()}, Timeout: gateway.DefaultTimeout}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o.Gateway, o.Store, o.Logger = agent.Gateway(gw), st, testLogger(t)
	if wrap != nil {
		o.Gateway = wrap(gw)
	}
	// A bubble's clock starts at 2000-01-01: plausible for these tests.
	o.NotBefore = time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)
	e, err := agent.New(o)
	if err != nil {
		t.Fatal(err)
	}
	bk := testBooks(t, e, o, books.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done, booksDone := make(chan error, 1), make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	<-e.Ready()
	go func() { booksDone <- bk.Run(ctx) }()
	b := &bubbleEnv{t: t, e: e, bk: bk, st: st, gw: o.Gateway, sim: sim, env: &simEnv{sim: sim}}
	b.pos = pos{t: t, Client: agenttest.POS(t, client.Options{URL: "http://127.0.0.1:7420", Transport: memTransport{testAPI(e, bk, o)}})}
	b.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := <-booksDone; err != nil {
			t.Errorf("books: Run: %v", err)
		}
		if err := st.Check(); err != nil {
			t.Errorf("journal consistency: %v", err)
		}
		st.Close()
	}
	return b
}

// settle lets every goroutine of the bubble run until all wait on time.
func settle() { synctest.Wait() }

func (b *bubbleEnv) payment(id string) *agent.Payment {
	b.t.Helper()
	p, err := b.e.Payment(id)
	if err != nil {
		b.t.Fatal(err)
	}
	return p
}

// customer is the customer's phone: it opens a qr payment's code_url.
func (b *bubbleEnv) customer() *http.Client {
	return &http.Client{Transport: memTransport{b.sim.Handler()}}
}

// waitUntil lets fake time run, a second at a time, until cond holds of
// the payment (at most a day of it).
func (b *bubbleEnv) waitUntil(id, what string, cond func(*agent.Payment) bool) *agent.Payment {
	b.t.Helper()
	for range 24 * 3600 {
		settle()
		if p := b.payment(id); cond(p) {
			return p
		}
		time.Sleep(time.Second)
	}
	p := b.payment(id)
	b.t.Fatalf("payment %s not %s after a day: %s (history %v)", id, what, p.State, p.History)
	return nil
}

// waitFinal waits until the payment and its refunds are final.
func (b *bubbleEnv) waitFinal(id string) *agent.Payment {
	b.t.Helper()
	return b.waitUntil(id, "final", func(p *agent.Payment) bool { return p.State.Final() && refundsFinal(p) })
}

// at is when the payment entered state (zero: never).
func at(p *agent.Payment, state agent.State) time.Time {
	for _, h := range p.History {
		if h.State == string(state) {
			return h.At
		}
	}
	return time.Time{}
}

// A scan payment the wallet takes 5 s to confirm is succeeded at the first
// query after it (3 s after the reply, then every 3 s): at +6 s exactly.
func TestBubbleScanPaidAtTheFirstQueryAfterTheWallet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, agent.Options{}, ottsim.Options{})
		defer b.stop()
		code, err := b.sim.IssueCode("wechat")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		p, _, err := b.e.CreatePayment(context.Background(), agent.CreateRequest{Amount: 1202, Mode: "scan", AuthCode: code}, agent.IdemKey{Key: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		settle()
		p = b.payment(p.ID)
		if p.State != agent.Succeeded {
			t.Fatalf("state %s, want succeeded (history %v)", p.State, p.History)
		}
		if got := at(p, agent.Succeeded).Sub(start); got != 6*time.Second {
			t.Errorf("succeeded %v after the code, want 6s (queries at +3 s, +6 s; paid at +5 s)", got)
		}
	})
}

// A scan payment the gateway does not decide within the 60 s window is in
// doubt when the window ends, not before; the reconciler's query 2 min
// later finds the order closed and cancels it: nothing was charged, and no
// guess was made final before an answer.
func TestBubbleScanWindowEndsInDoubtThenReconciled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 03: PROCESSING, never paid, closed CloseAfter (here 2 min) later.
		b := startBubble(t, agent.Options{BackoffJitter: -1}, ottsim.Options{CloseAfter: 2 * time.Minute})
		defer b.stop()
		code, err := b.sim.IssueCode("alipay")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		p, _, err := b.e.CreatePayment(context.Background(), agent.CreateRequest{Amount: 1203, Mode: "scan", AuthCode: code}, agent.IdemKey{Key: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(start.Add(59 * time.Second))) // CreatePayment waited APIWait (3 s)
		settle()
		if s := b.payment(p.ID).State; s != agent.Processing {
			t.Fatalf("at +59 s the payment is %s, want processing; history %v", s, b.payment(p.ID).History)
		}
		time.Sleep(10 * time.Minute)
		settle()
		p = b.payment(p.ID)
		doubt := at(p, agent.InDoubt).Sub(start)
		if doubt < 60*time.Second || doubt > 63*time.Second {
			t.Errorf("in doubt %v after the code, want at the end of the 60 s window (the last query at most 3 s later); history %v", doubt, p.History)
		}
		if p.State != agent.Failed && p.State != agent.Cancelled {
			t.Fatalf("after the reconciler the payment is %s (history %v)", p.State, p.History)
		}
		if final := p.UpdatedAt.Sub(start); final < doubt+2*time.Minute {
			t.Errorf("made final %v after the code, before the reconciler's first query at %v", final, doubt+2*time.Minute)
		}
		for _, o := range b.sim.Ledger() {
			if o.OrderID == p.OrderID && o.Charged != 0 {
				t.Fatalf("charged %d", o.Charged)
			}
		}
	})
}

// The gateway charges the code and the connection drops before its answer
// (04): the payment is never called failed; the queries that follow find
// it paid, and the ledger agrees.
func TestBubbleDroppedAnswerIsFoundPaid(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, agent.Options{}, ottsim.Options{})
		defer b.stop()
		code, err := b.sim.IssueCode("wechat")
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := b.e.CreatePayment(context.Background(), agent.CreateRequest{Amount: 1504, Mode: "scan", AuthCode: code}, agent.IdemKey{Key: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		settle()
		p = b.payment(p.ID)
		if p.State != agent.Succeeded || !at(p, agent.Failed).IsZero() {
			t.Fatalf("state %s, history %v: a charged payment must end succeeded", p.State, p.History)
		}
		charged := 0
		for _, o := range b.sim.Ledger() {
			if o.AuthCode == code && o.Charged == 1504 {
				charged++
			}
		}
		if charged != 1 {
			t.Fatalf("the code was charged %d times, want once", charged)
		}
	})
}

// A scan payment that never gets its code is cancelled (no_code) when
// AwaitCodeTimeout (2 min) ends, not before; the cart expires at 10 min.
func TestBubbleWaitsEndOnTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := startBubble(t, agent.Options{}, ottsim.Options{})
		defer b.stop()
		p, _, err := b.e.CreatePayment(context.Background(), agent.CreateRequest{Amount: 500, Mode: "scan"}, agent.IdemKey{Key: "k1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.e.Intake().SetCart(agent.Cart{Amount: 900}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Until(p.CreatedAt.Add(2*time.Minute - time.Second)))
		settle()
		if s := b.payment(p.ID).State; s != agent.AwaitingCode {
			t.Fatalf("1 s before the timeout the payment is %s", s)
		}
		time.Sleep(time.Minute)
		settle()
		p = b.payment(p.ID)
		if p.State != agent.Cancelled || p.Error == nil || p.Error.Code != "no_code" {
			t.Fatalf("after the timeout: %s %+v", p.State, p.Error)
		}
		if b.e.Intake().CurrentCart() == nil {
			t.Fatal("the cart expired before 10 min")
		}
		time.Sleep(8 * time.Minute)
		settle()
		if c := b.e.Intake().CurrentCart(); c != nil {
			t.Fatalf("the cart outlived 10 min: %+v", c)
		}
	})
}
