package bridge_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/posagent/posagent/drivers/bridge"
	"github.com/posagent/posagent/drivers/bridge/bridgeclient"
	"github.com/posagent/posagent/printer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testToken = "s3cret-bridge-token"

// waitFor is a liveness bound for events that must happen; it is generous
// and never a speed assertion.
const waitFor = 10 * time.Second

// testHub is a hub served over real loopback HTTP. It prints receipts as
// the daemon does, through printer.JobPrinter with the hub as its sender.
type testHub struct {
	*bridge.Hub
	encode func(printer.Receipt) ([]byte, error) // nil: no encoder
	srv    *httptest.Server
	url    string // ws://127.0.0.1:port/v1/bridge
	states chan bridge.HelperStatus
}

// startHub runs a hub behind httptest; o.Token defaults to testToken;
// encode, when given, is the receipt encoder th.PrintReceipt uses. The
// hub's OnState feeds th.states. Stopped at test cleanup.
func startHub(t *testing.T, o bridge.Options, encode ...func(printer.Receipt) ([]byte, error)) *testHub {
	t.Helper()
	if o.Token == "" {
		o.Token = testToken
	}
	th := &testHub{states: make(chan bridge.HelperStatus, 64)}
	if len(encode) > 0 {
		th.encode = encode[0]
	}
	user := o.OnState
	o.OnState = func(s bridge.HelperStatus) {
		if user != nil {
			user(s)
		}
		select {
		case th.states <- s:
		default:
		}
	}
	if o.Logger == nil {
		o.Logger = testLogger(t)
	}
	h, err := bridge.New(o)
	if err != nil {
		t.Fatalf("bridge.New: %v", err)
	}
	th.Hub = h
	mux := http.NewServeMux()
	mux.Handle("/v1/bridge", h.Handler())
	th.srv = httptest.NewServer(mux)
	th.url = "ws" + strings.TrimPrefix(th.srv.URL, "http") + "/v1/bridge"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("hub Run: %v", err)
		}
		th.srv.Close()
	})
	return th
}

// connected waits for an OnState report of a connected helper.
func (th *testHub) connected(t *testing.T) bridge.HelperStatus {
	t.Helper()
	return th.waitState(t, func(s bridge.HelperStatus) bool { return s.Connected })
}

// disconnected waits for an OnState report of the helper leaving.
func (th *testHub) disconnected(t *testing.T) bridge.HelperStatus {
	t.Helper()
	return th.waitState(t, func(s bridge.HelperStatus) bool { return !s.Connected })
}

func (th *testHub) waitState(t *testing.T, ok func(bridge.HelperStatus) bool) bridge.HelperStatus {
	t.Helper()
	timer := time.NewTimer(waitFor)
	defer timer.Stop()
	for {
		select {
		case s := <-th.states:
			if ok(s) {
				return s
			}
		case <-timer.C:
			t.Fatalf("no expected helper state report within %s", waitFor)
		}
	}
}

// runClient runs c until test cleanup; the returned channel gets Run's result.
func runClient(t *testing.T, c *bridgeclient.Client) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("client Run: %v", err)
			}
		})
	})
	return done
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// PrintReceipt prints r through the hub as the daemon does.
func (th *testHub) PrintReceipt(ctx context.Context, r printer.Receipt) error {
	return printer.JobPrinter{Sender: th.Hub, Encode: th.encode}.PrintReceipt(ctx, r)
}

// escpos58 is the real receipt encoder for a 58 mm Sunmi-like printer.
func escpos58(r printer.Receipt) ([]byte, error) {
	return printer.Encode(r, printer.Profile58()), nil
}

func sampleReceipt(paymentID string) printer.Receipt {
	return printer.Receipt{
		Copy: "customer", Merchant: "Maple Tea House", Terminal: "LANE1",
		Time:      time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC),
		PaymentID: paymentID, OrderID: "ON00004652LANE1" + paymentID, Mode: "scan", Wallet: "wechat",
		Amount: 1250, Currency: "CAD", CodeMasked: "1345**********6789", State: "succeeded",
	}
}

// proxy is a loopback TCP proxy whose live connections can be cut, to play
// a network drop between the helper and the agent. New connections still
// pass after a cut.
type proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	// mu guards conns.
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, u)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); io.Copy(u, c); u.Close(); c.Close() }()
		go func() { defer p.wg.Done(); io.Copy(c, u); u.Close(); c.Close() }()
	}
}

// cut closes every connection passing through the proxy now.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
