package client_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/agent/books"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/ottsim"
	"github.com/posagent/posagent/internal/agenttest"
	"github.com/posagent/posagent/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// daemon is the real stack a POS talks to: the simulator over loopback
// HTTP, the engine on a bbolt journal, and the local API served on its
// listeners (loopback TCP, a Unix socket, TLS) as posagent run serves it.
type daemon struct {
	t    testing.TB // nil in examples
	sim  *agenttest.Sim
	e    *agent.Engine
	url  string       // http://127.0.0.1:port
	stop func() error // stops it all; the journal is checked for consistency
}

// stack are the options of startDaemon.
type stack struct {
	access api.Access
	token  string
	extra  []net.Listener // served besides loopback TCP (a socket, TLS)
}

// startDaemon starts the whole stack; it stops when the test ends.
func startDaemon(t testing.TB, s stack) *daemon {
	t.Helper()
	d, err := newDaemon(t.TempDir(), s, agenttest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	d.t = t
	t.Cleanup(func() {
		if err := d.stop(); err != nil {
			t.Error(err)
		}
	})
	return d
}

// newDaemon starts the stack with its journal in dir.
func newDaemon(dir string, s stack, log *slog.Logger) (*daemon, error) {
	simL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	so := agenttest.SimOptions()
	so.Logger = log
	sim := &agenttest.Sim{Sim: ottsim.New(so), URL: "http://" + simL.Addr().String()}
	ctx, cancel := context.WithCancel(context.Background())
	simDone := make(chan error, 1)
	go func() { simDone <- sim.Sim.Run(ctx, simL) }()
	hc := gateway.DefaultHTTPClient()
	hc.Timeout = time.Duration(float64(gateway.DefaultTimeout) * agenttest.Scale)
	gw, err := gateway.New(gateway.Config{URL: sim.URL + "/processV2", MerchantID: agenttest.MerchantID, SignKey: agenttest.SignKey,
		OperatorID: "0000000696", TerminalNo: agenttest.TerminalNo, CallbackURL: "http://127.0.0.1:1/cb", HTTPClient: hc})
	st, serr := store.Open(filepath.Join(dir, "posagent.db"), store.Options{})
	var e *agent.Engine
	if err == nil && serr == nil {
		e, err = agent.New(agent.Options{Gateway: gw, Store: st, Logger: log,
			TimeScale: agenttest.Scale, MerchantName: agenttest.MerchantName, TerminalNo: agenttest.TerminalNo,
			Timing: timing()})
	}
	var bk *books.Books
	if err == nil && serr == nil {
		tm := e.Timing()
		bk, err = books.New(books.Options{Store: st, Engine: e, Clock: e.Clock(), Logger: log,
			Merchant: agenttest.MerchantName, Currency: e.Currency(), Lane: agenttest.TerminalNo,
			ReconcileRate: 5, ReconcileSpread: tm.ReconcileSpread, PrintTimeout: tm.PrintTimeout})
	}
	l, lerr := net.Listen("tcp", "127.0.0.1:0")
	if err = errors.Join(err, serr, lerr); err != nil {
		cancel()
		<-simDone
		if st != nil {
			st.Close()
		}
		if l != nil {
			l.Close()
		}
		return nil, err
	}
	runDone := make(chan error, 1)
	booksDone := make(chan error, 1)
	go func() { runDone <- e.Run(ctx) }()
	<-e.Ready()
	go func() { booksDone <- bk.Run(ctx) }()
	h := api.New(e, bk, api.Options{Token: s.token, Access: s.access, Logger: log, SSEPing: 300 * time.Millisecond})
	srv := api.NewServer(h, log)
	serveDone := make(chan error, 1)
	go func() { serveDone <- api.Serve(ctx, srv, append([]net.Listener{l}, s.extra...)...) }()
	d := &daemon{sim: sim, e: e, url: "http://" + l.Addr().String()}
	var once sync.Once
	var stopErr error
	d.stop = func() error {
		once.Do(func() {
			cancel()
			stopErr = errors.Join(<-serveDone, <-runDone, <-booksDone, <-simDone)
			if err := st.Check(); err != nil {
				stopErr = errors.Join(stopErr, fmt.Errorf("journal consistency: %w", err))
			}
			st.Close()
		})
		return stopErr
	}
	return d, nil
}

// client is a client of d over loopback TCP.
func (d *daemon) client(o client.Options) *client.Client {
	d.t.Helper()
	if o.URL == "" {
		o.URL = d.url
	}
	c, err := client.New(o)
	if err != nil {
		d.t.Fatal(err)
	}
	return c
}

// tlsListener is a loopback TLS listener with the api.tls auto
// certificate made in dir, and the certificate's fingerprint.
func tlsListener(t testing.TB, dir string) (net.Listener, string) {
	t.Helper()
	certPath, keyPath := api.AutoCertPaths(filepath.Join(dir, "posagent.db"))
	cert, err := api.LoadOrCreateCert(certPath, keyPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	return l, api.Fingerprint(cert.Certificate[0])
}

// waitPayment reads the payment until cond holds of it. The limit is a
// hang guard, not a speed requirement.
func waitPayment(t testing.TB, c *client.Client, id, what string, cond func(*client.Payment) bool) *client.Payment {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		p, err := c.Payment(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if cond(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("payment %s never became %s: %s (history %v, error %v)", id, what, p.State, p.History, p.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// timing is the engine's real timing with the end-to-end tests' faster
// reconciler, retry and API wait (agenttest), before TimeScale.
func timing() agent.Timing {
	t := agent.DefaultTiming()
	t.ReconcileBackoff, t.RetryBackoff, t.APIWait = agenttest.ReconcileBackoff, agenttest.RetryBackoff, agenttest.APIWait
	return t
}
