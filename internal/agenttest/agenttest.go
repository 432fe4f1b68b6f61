package agenttest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/ottsim"
)

// The simulator's merchant, and the time scale of end-to-end tests: the
// agent's and the simulator's durations are multiplied by Scale.
const (
	MerchantID = "ON00004652"
	SignKey    = "6698851A525C9433"
	Scale      = 0.02
)

// The engine options of the end-to-end tests besides the defaults
// (multiplied by Scale): a faster reconciler and retry, and a POST that
// waits 1 s (scaled) for a quick answer.
var (
	ReconcileBackoff = []time.Duration{10 * time.Second, 20 * time.Second, 60 * time.Second}
	RetryBackoff     = []time.Duration{3 * time.Second, 5 * time.Second, 10 * time.Second}
)

const (
	APIWait      = 50 * time.Second
	MerchantName = "Maple Tea House"
	TerminalNo   = "LANE1"
)

// Logger writes to the test log only with -v and POSAGENT_TEST_LOG=1.
func Logger(t testing.TB) *slog.Logger {
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

// Sim is a simulator served over loopback HTTP.
type Sim struct {
	Sim  *ottsim.Sim
	URL  string // base URL
	Stop func()
}

// SimOptions are the simulator's options in tests (Scale, a 60 s QR).
func SimOptions() ottsim.Options {
	return ottsim.Options{MerchantID: MerchantID, SignKey: SignKey, TimeScale: Scale, QRTimeout: 60 * time.Second}
}

// StartSim serves a simulator on addr ("" any loopback port) until the
// test ends.
func StartSim(t testing.TB, addr string) *Sim {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	o := SimOptions()
	o.Logger = Logger(t)
	s := ottsim.New(o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, l) }()
	env := &Sim{Sim: s, URL: "http://" + l.Addr().String()}
	env.Stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sim: %v", err)
		}
	}
	t.Cleanup(env.Stop)
	return env
}

// Ledger returns the simulator's orders by order id: the truth the
// money invariants are checked against.
func (s *Sim) Ledger() map[string]ottsim.Order { return LedgerOf(s.Sim) }

// LedgerOf is Ledger of any simulator.
func LedgerOf(sim *ottsim.Sim) map[string]ottsim.Order {
	out := map[string]ottsim.Order{}
	for _, o := range sim.Ledger() {
		out[o.OrderID] = o
	}
	return out
}

// GatewayClient is a gateway client for the simulator at simURL, its
// time-out in Scale.
func GatewayClient(t testing.TB, simURL string, opts ...func(*gateway.Config)) (*gateway.Client, *http.Client) {
	hc := gateway.DefaultHTTPClient()
	hc.Timeout = time.Duration(float64(gateway.DefaultTimeout) * Scale)
	cfg := gateway.Config{URL: simURL + "/processV2", MerchantID: MerchantID, SignKey: SignKey,
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

// WechatCode and AlipayCode are payment codes of each wallet
// (paycode.Classify's rules), n making each one distinct.
func WechatCode(n int) string { return fmt.Sprintf("13%016d", n) }

// AlipayCode: see WechatCode.
func AlipayCode(n int) string { return fmt.Sprintf("28%016d", n) }

// ErrCode is the error code of an API error body.
func ErrCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}
