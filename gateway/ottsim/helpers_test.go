package ottsim_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/ottsim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	merchant = "ON00004652"
	signKey  = "6698851A525C9433"
	operator = "0000000696"
	wechat   = "134567890123456789" // an 18-digit WeChat payment code
)

// clock is a hand-driven clock for the simulator's schedules.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a log sink safe for concurrent writers.
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

// rig is a simulator served by Run on a real loopback listener, and a
// client of it.
type rig struct {
	t      *testing.T
	sim    *ottsim.Sim
	clock  *clock
	url    string // base URL, no path
	client *gateway.Client
	hc     *http.Client
	logs   *syncBuffer // client and simulator logs
}

type rigOpt func(*ottsim.Options, *gateway.Config)

func withClientTimeout(d time.Duration) rigOpt {
	return func(_ *ottsim.Options, c *gateway.Config) { c.HTTPClient.Timeout = d }
}

// withSlowReply makes "06" answers wait d of simulated time (x 0.01).
func withSlowReply(d time.Duration) rigOpt {
	return func(o *ottsim.Options, _ *gateway.Config) { o.SlowReply = d }
}

func newRig(t *testing.T, opts ...rigOpt) *rig {
	t.Helper()
	r := &rig{t: t, clock: newClock(), logs: &syncBuffer{}}
	log := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	so := ottsim.Options{
		MerchantID: merchant, SignKey: signKey,
		TimeScale: 0.01, // 02: 50 ms, 03: 450 ms, 06: 300 ms, qr timeout 3 s
		Clock:     r.clock.Now,
		Logger:    log.With("side", "sim"),
	}
	r.hc = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	cc := gateway.Config{MerchantID: merchant, SignKey: signKey, OperatorID: operator, TerminalNo: "LANE1",
		CallbackURL: "https://pos.example/callback", HTTPClient: r.hc, Logger: log.With("side", "client")}
	for _, o := range opts {
		o(&so, &cc)
	}
	r.sim = ottsim.New(so)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.url = "http://" + l.Addr().String()
	cc.URL = r.url + "/processV2"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.sim.Run(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		r.hc.CloseIdleConnections()
		if logs := r.logs.String(); bytes.Contains([]byte(logs), []byte(wechat)) {
			t.Errorf("a payment code appears unmasked in the logs")
		}
	})
	r.client, err = gateway.New(cc)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) order(id string) ottsim.Order {
	r.t.Helper()
	for _, o := range r.sim.Ledger() {
		if o.OrderID == id {
			return o
		}
	}
	r.t.Fatalf("order %s not in the ledger", id)
	return ottsim.Order{}
}

func (r *rig) noOrder(id string) {
	r.t.Helper()
	for _, o := range r.sim.Ledger() {
		if o.OrderID == id {
			r.t.Fatalf("order %s is in the ledger (%+v), want none", id, o)
		}
	}
}

// httpLedger reads GET /_sim/ledger.
func (r *rig) httpLedger() []ottsim.Order {
	r.t.Helper()
	var out struct {
		Orders []ottsim.Order `json:"orders"`
	}
	r.getJSON("/_sim/ledger", &out)
	return out.Orders
}

func (r *rig) getJSON(path string, v any) int {
	r.t.Helper()
	resp, err := r.hc.Get(r.url + path)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		r.t.Fatalf("GET %s: %v", path, err)
	}
	return resp.StatusCode
}

func (r *rig) postJSON(path string, body any, v any) int {
	r.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := r.hc.Post(r.url+path, "application/json", bytes.NewReader(b))
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			r.t.Fatalf("POST %s: %v: %s", path, err, raw)
		}
	}
	return resp.StatusCode
}

// gwErr asserts err is a *gateway.Error with the outcome and code.
func gwErr(t *testing.T, err error, outcome gateway.Outcome, code string) *gateway.Error {
	t.Helper()
	var ge *gateway.Error
	if !errors.As(err, &ge) {
		t.Fatalf("err = %v (%T), want *gateway.Error", err, err)
	}
	if ge.Outcome != outcome || ge.Code != code {
		t.Fatalf("err = %v: outcome %v code %q, want %v %q", err, ge.Outcome, ge.Code, outcome, code)
	}
	if gateway.OutcomeOf(err) != outcome {
		t.Fatalf("OutcomeOf = %v, want %v", gateway.OutcomeOf(err), outcome)
	}
	return ge
}

func pay(id string, amount int64) gateway.PayRequest {
	return gateway.PayRequest{OrderID: id, Amount: amount, AuthCode: codeFor(id), Wallet: gateway.WeChat}
}

// codeFor is a WeChat payment code of its own for each order id: the
// simulator, like the wallets, charges a code once.
func codeFor(id string) string {
	h := fnv.New64a()
	h.Write([]byte(id))
	return fmt.Sprintf("13%016d", h.Sum64()%1e16)
}

func qr(id string, amount int64) gateway.QRRequest {
	return gateway.QRRequest{OrderID: id, Amount: amount, Wallet: gateway.Alipay}
}
