package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/config"
)

// testDaemon is the real daemon (runDaemon, as `posagent run` runs it) with the
// in-process simulator, a journal in a temp dir and compressed time.
type testDaemon struct {
	t      *testing.T
	cfg    *config.Config
	cancel context.CancelFunc
	done   chan error
	run    running
}

func newDaemon(t *testing.T, extraYAML string) *testDaemon {
	t.Helper()
	dir := t.TempDir()
	yaml := "store:\n  path: " + filepath.Join(dir, "posagent.db") + "\n" +
		"api:\n  listen: 127.0.0.1:0\n" +
		"sim:\n  time_scale: 0.02\n" + extraYAML
	if !strings.Contains(extraYAML, "agent:") {
		yaml += "agent:\n  time_scale: 0.02\n"
	}
	if !strings.Contains(extraYAML, "printer:") {
		yaml += "printer:\n  kind: none\n"
	}
	path := filepath.Join(dir, "posagent.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	d := &testDaemon{t: t, cfg: cfg}
	t.Cleanup(d.stop)
	return d
}

// start runs the daemon; after a stop it runs again on the same API
// address and journal.
func (d *testDaemon) start() running {
	d.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan running, 1)
	done := make(chan error, 1)
	go func() {
		done <- runDaemon(ctx, d.cfg, slog.New(slog.DiscardHandler), func(r running) { ready <- r })
	}()
	d.cancel, d.done = cancel, done
	select {
	case r := <-ready:
		d.run = r
		d.cfg.API.Listen = r.API
		return r
	case err := <-done:
		d.t.Fatalf("daemon did not start: %v", err)
	case <-time.After(20 * time.Second):
		d.t.Fatal("daemon did not start")
	}
	return running{}
}

func (d *testDaemon) stop() {
	if d.cancel == nil {
		return
	}
	d.cancel()
	if err := <-d.done; err != nil {
		d.t.Errorf("daemon: %v", err)
	}
	d.cancel = nil
}

// startDaemonAt starts a daemon and says where it runs.
func startDaemonAt(t *testing.T, extraYAML string) running {
	t.Helper()
	return newDaemon(t, extraYAML).start()
}

// startDaemon starts a daemon and returns its API address.
func startDaemon(t *testing.T, extraYAML string) string {
	t.Helper()
	return startDaemonAt(t, extraYAML).API
}

// cli runs a posagent command against the daemon at addr.
func cli(t *testing.T, addr string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"--api", addr}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// TestNewcomerTour is the README's one-minute tour against the real daemon:
// a scan payment, a qr payment paid by "the customer" opening code_url, a
// partial and a full refund, the list, and a declined payment's exit status.
func TestNewcomerTour(t *testing.T) {
	addr := startDaemon(t, "")

	out, err := cli(t, addr, "pay", "12.50", "--code", "134567890123456789")
	if err != nil || !strings.Contains(out, "paid 12.50 CAD with wechat") {
		t.Fatalf("scan pay: %v\n%s", err, out)
	}

	// qr: follow in the background, pay as the customer when code_url shows.
	type res struct {
		out string
		err error
	}
	qrc := make(chan res, 1)
	go func() {
		o, e := cli(t, addr, "pay", "8.00", "--qr", "--wallet", "alipay", "--json")
		qrc <- res{o, e}
	}()
	var codeURL string
	for i := 0; i < 200 && codeURL == ""; i++ {
		time.Sleep(25 * time.Millisecond)
		var list struct {
			Payments []payment `json:"payments"`
		}
		raw, _ := cli(t, addr, "payments", "--json", "--state", "processing")
		if json.Unmarshal([]byte(raw), &list) == nil && len(list.Payments) > 0 {
			codeURL = list.Payments[0].CodeURL
		}
	}
	if codeURL == "" {
		t.Fatal("the qr payment never showed a code_url")
	}
	resp, err := http.Get(codeURL)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	r := <-qrc
	if r.err != nil || !strings.Contains(r.out, "paid 8.00 CAD with alipay") {
		t.Fatalf("qr pay: %v\n%s", r.err, r.out)
	}
	var p payment
	if i := strings.Index(r.out, "{"); i < 0 || json.Unmarshal([]byte(r.out[i:strings.LastIndex(r.out, "}")+1]), &p) != nil {
		t.Fatalf("no JSON in qr pay output:\n%s", r.out)
	}

	out, err = cli(t, addr, "refund", p.ID, "5.00")
	if err != nil || !strings.Contains(out, "of 5.00 CAD: succeeded") {
		t.Fatalf("partial refund: %v\n%s", err, out)
	}
	out, err = cli(t, addr, "refund", p.ID)
	if err != nil || !strings.Contains(out, "of 3.00 CAD: succeeded") || !strings.Contains(out, "refunded 8.00 in all") {
		t.Fatalf("refund of the rest: %v\n%s", err, out)
	}
	if _, err := cli(t, addr, "refund", p.ID, "0.01"); err == nil || !strings.Contains(err.Error(), "422") {
		t.Fatalf("refund past the amount paid: err = %v; want a 422 refusal", err)
	}

	out, err = cli(t, addr, "pay", "3.01", "--code", "134567890123450301") // a code pays once: a fresh one
	var ee exitError
	if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(ee.msg, "declined") {
		t.Fatalf("declined pay: err = %v\n%s; want exit 1 naming declined", err, out)
	}

	out, err = cli(t, addr, "payments")
	if err != nil || strings.Count(out, "\npay_") != 3 || !strings.Contains(out, "failed") {
		t.Fatalf("payments: %v\n%s", err, out)
	}
	out, err = cli(t, addr, "show", p.ID)
	if err != nil || !regexp.MustCompile(`refunded +8\.00 CAD`).MatchString(out) || strings.Count(out, "ref_") != 2 {
		t.Fatalf("show: %v\n%s", err, out)
	}
}

func TestRunRefusesOpenListenWithoutToken(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "posagent.yaml")
	db := filepath.Join(dir, "posagent.db")
	if err := os.WriteFile(path, []byte("store:\n  path: "+db+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.API.Listen, cfg.API.Token = "0.0.0.0:0", ""
	err = runDaemon(context.Background(), cfg, slog.New(slog.DiscardHandler), nil)
	if err == nil || !strings.Contains(err.Error(), "api.token") {
		t.Fatalf("err = %v; want a refusal naming api.token", err)
	}
	if _, statErr := os.Stat(db); !os.IsNotExist(statErr) {
		t.Errorf("the journal was created before the refusal")
	}
}
