package bridgeclient_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/posagent/posagent/drivers/bridge"
	"github.com/posagent/posagent/drivers/bridge/bridgeclient"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const waitFor = 10 * time.Second // liveness bound, never a speed assertion

func TestLRU(t *testing.T) {
	l := bridgeclient.NewLRU(3)
	for _, id := range []string{"a", "b", "c"} {
		if err := l.Add(id); err != nil {
			t.Fatal(err)
		}
	}
	if !l.Has("a") { // refreshes a: b is now the oldest
		t.Fatal("a forgotten")
	}
	_ = l.Add("d")
	for id, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if got := l.Has(id); got != want {
			t.Errorf("Has(%q) = %v, want %v", id, got, want)
		}
	}
	_ = l.Add("d") // again: no growth
	if l.Len() != 3 {
		t.Errorf("Len %d, want 3", l.Len())
	}
	if bridgeclient.NewLRU(0).Has("x") {
		t.Error("empty LRU has x")
	}
}

// agent is a hub served on a fixed loopback address, so it can be stopped
// and started again where the client expects it.
type agent struct {
	hub    *bridge.Hub
	srv    *http.Server
	cancel context.CancelFunc
	done   chan struct{}
	states chan bridge.HelperStatus
}

func startAgent(t *testing.T, addr, token string) *agent {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	a := &agent{states: make(chan bridge.HelperStatus, 32), done: make(chan struct{})}
	a.hub, err = bridge.New(bridge.Options{Token: token, OnState: func(s bridge.HelperStatus) { a.states <- s }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/bridge", a.hub.Handler())
	a.srv = &http.Server{Handler: mux}
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	go func() { _ = a.srv.Serve(ln) }()
	go func() { _ = a.hub.Run(ctx); close(a.done) }()
	t.Cleanup(a.stop)
	return a
}

func (a *agent) stop() {
	a.cancel()
	<-a.done
	a.srv.Close()
}

func (a *agent) wait(t *testing.T, ok func(bridge.HelperStatus) bool) bridge.HelperStatus {
	t.Helper()
	timer := time.NewTimer(waitFor)
	defer timer.Stop()
	for {
		select {
		case s := <-a.states:
			if ok(s) {
				return s
			}
		case <-timer.C:
			t.Fatal("no expected state report")
		}
	}
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// The agent restarts: the client reconnects with backoff, and the device
// state it reported before is sent again to the new agent unasked.
func TestRunReconnectsAfterAgentRestart(t *testing.T) {
	addr := freeAddr(t)
	a1 := startAgent(t, addr, "tok")
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := bridgeclient.Dial(ctx, "ws://"+addr+"/v1/bridge", "tok", "sunmi-t2",
		bridgeclient.WithBackoff(5*time.Millisecond, 40*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	a1.wait(t, func(s bridge.HelperStatus) bool { return s.Connected })
	runCtx, stopRun := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()

	ok := bridge.DeviceState{Kind: "printer", Name: "sunmi-inner", State: "ok"}
	if err := c.ReportState(ctx, ok); err != nil {
		t.Fatal(err)
	}
	a1.stop() // closes the session: 1001 going away

	// While the agent is down, requests fail at once and say why.
	for c.Session() != "" {
		if ctx.Err() != nil {
			t.Fatal("the client never noticed the agent stopped")
		}
		time.Sleep(time.Millisecond)
	}
	if err := c.Scan(ctx, "134567890123456789"); !errors.Is(err, bridgeclient.ErrNotConnected) {
		t.Errorf("Scan while the agent is down: %v, want ErrNotConnected", err)
	}

	a2 := startAgent(t, addr, "tok")
	st := a2.wait(t, func(s bridge.HelperStatus) bool { return s.Connected && len(s.Devices) > 0 })
	if st.Devices[0] != ok {
		t.Errorf("state after reconnect %+v, want %+v", st.Devices, ok)
	}
	stopRun()
	if err := <-done; err != nil {
		t.Errorf("Run after cancel: %v, want nil", err)
	}
	a2.wait(t, func(s bridge.HelperStatus) bool { return !s.Connected })
}

// If the agent comes back with another token, retrying cannot help: Run
// stops with ErrUnauthorized.
func TestRunStopsWhenTokenRefused(t *testing.T) {
	addr := freeAddr(t)
	a1 := startAgent(t, addr, "old")
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := bridgeclient.Dial(ctx, "ws://"+addr+"/v1/bridge", "old", "sunmi-t2",
		bridgeclient.WithBackoff(5*time.Millisecond, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	a1.wait(t, func(s bridge.HelperStatus) bool { return s.Connected })
	a1.stop()
	startAgent(t, addr, "new")
	if err := <-done; !errors.Is(err, bridgeclient.ErrUnauthorized) {
		t.Fatalf("Run: %v, want ErrUnauthorized", err)
	}
}

func TestCloseWithoutRunAndRunTwice(t *testing.T) {
	addr := freeAddr(t)
	a := startAgent(t, addr, "tok")
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	c, err := bridgeclient.Dial(ctx, "ws://"+addr+"/v1/bridge", "tok", "d1")
	if err != nil {
		t.Fatal(err)
	}
	a.wait(t, func(s bridge.HelperStatus) bool { return s.Connected })
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	a.wait(t, func(s bridge.HelperStatus) bool { return !s.Connected })
	if err := c.Run(ctx); err != nil {
		t.Errorf("Run after Close: %v, want nil (nothing to do)", err)
	}
	if err := c.Run(ctx); err == nil {
		t.Error("second Run accepted")
	}
}

func TestDialErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	addr := freeAddr(t) // nothing listens there
	_, err := bridgeclient.Dial(ctx, "ws://"+addr+"/v1/bridge", "tok", "d1")
	if err == nil || errors.Is(err, bridgeclient.ErrUnauthorized) {
		t.Fatalf("Dial to a closed port: %v", err)
	}
	if got := err.Error(); len(got) < len("bridgeclient: dial: ") || got[:len("bridgeclient: dial: ")] != "bridgeclient: dial: " {
		t.Errorf("error %q lacks package and operation", got)
	}
}

// Example shows the helper's shape: dial, print jobs, report state, post scans.
func Example() {
	ctx := context.Background()
	c, err := bridgeclient.Dial(ctx, "ws://127.0.0.1:7420/v1/bridge", "the-bridge-token", "sunmi-t2",
		bridgeclient.WithHelper("posbridge-android/1.0"),
		bridgeclient.WithPrintHandler(func(ctx context.Context, j bridgeclient.Job) error {
			// Send j.Data to the printer service (ESC/POS) or print the PNG.
			return nil
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	go func() { _ = c.Run(ctx) }()
	_ = c.ReportState(ctx, bridge.DeviceState{Kind: "printer", Name: "sunmi-inner", State: "ok"})
	_ = c.Scan(ctx, "134567890123456789")
}
