package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/daemon"
	"github.com/posagent/posagent/internal/displaytest"
)

// reloadEvent is a config.reloaded or config.reload_refused event.
type reloadEvent struct {
	Kind     string           `json:"kind"`
	Applied  []config.Change  `json:"applied"`
	Restart  []config.Change  `json:"restart"`
	Problems []config.Problem `json:"problems"`
}

// TestReloadLive reloads the real daemon (runDaemonWith, as `posagent run`
// runs it) while a qr payment is on the customer display and a receipt
// waits in the outbox for a printer that does not answer. The new file
// switches the display to Chinese, moves the scanner to another port, points
// the printer at one that answers, and changes the journal path and the
// listen address. After SIGHUP: the page shows Chinese without a page load,
// the scanner reads from its new port, the queued receipt prints, the qr
// payment is paid, and the journal path and listen address are reported as
// needing a restart. Then `posagent reload` with a broken file is refused
// with every problem, and nothing changes.
func TestReloadLive(t *testing.T) {
	bctx := displaytest.StartBrowser(t)
	dir := t.TempDir()
	linkA, linkB := filepath.Join(dir, "scanner-a"), filepath.Join(dir, "scanner-b")
	mA, _ := newPty(t, linkA)
	mB, _ := newPty(t, linkB)
	defer mA.Close()
	defer mB.Close()

	// A printer that answers (the new one) and an address where none does (the old one).
	prn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer prn.Close()
	var printedMu sync.Mutex
	var printed bytes.Buffer
	go func() {
		for {
			c, err := prn.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(c)
				printedMu.Lock()
				printed.Write(b)
				printedMu.Unlock()
			}()
		}
	}()
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()

	file := func(lang, scanner, printerAddr, journal, listen string) string {
		return fmt.Sprintf(`store:
  path: %s
api:
  listen: %s
sim:
  time_scale: 0.05
agent:
  time_scale: 0.1
display:
  kind: web
  language: %s
printer:
  kind: network
  address: %s
  status: false
  copies: [customer]
scanners:
  - name: counter
    kind: serial
    device: %s
`, journal, listen, lang, printerAddr, scanner)
	}
	journal := filepath.Join(dir, "posagent.db")
	path := filepath.Join(dir, "posagent.yaml")
	write := func(body string) {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(file("en", linkA, deadAddr, journal, "127.0.0.1:0"))
	cfg, _, err := config.Check(path, nil)
	if err != nil {
		t.Fatal(err)
	}

	// SIGHUP reaches the daemon as it does under `posagent run`.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			reload <- struct{}{}
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan running, 1), make(chan error, 1)
	go func() {
		done <- runDaemonWith(ctx, cfg, testLogger(t), func(r running) { ready <- r },
			daemon.Options{ConfigPath: path, Reload: reload, Reloadable: true, Level: new(slog.LevelVar)})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}()
	var r running
	select {
	case r = <-ready:
	case err := <-done:
		t.Fatalf("daemon did not start: %v", err)
	}
	api := "http://" + r.API

	// The POS's event stream.
	events := make(chan json.RawMessage, 200)
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	req, _ := http.NewRequestWithContext(sctx, "GET", api+"/v1/events", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	go func() {
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				events <- json.RawMessage(d)
			}
		}
	}()
	waitKind := func(kind string) json.RawMessage {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case ev := <-events:
				var k struct{ Kind string }
				json.Unmarshal(ev, &k)
				if k.Kind == kind {
					return ev
				}
			case <-timeout:
				t.Fatalf("no %s event", kind)
			}
		}
	}
	get := func(url string, out any) {
		t.Helper()
		apiJSON(t, "GET", url, nil, out)
	}
	outboxDepth := func() int {
		var st struct {
			Outbox struct{ Depth int } `json:"outbox"`
		}
		get(api+"/v1/status", &st)
		return st.Outbox.Depth
	}
	waitFor(t, "scanner A to connect", func() bool { return scannerState(t, r.API, "counter") == "connected" })

	// 1. A scan payment through scanner A; its receipt waits for the printer.
	var p1 payment
	if code := apiJSON(t, "POST", api+"/v1/payments", map[string]any{"amount": 1250, "mode": "scan"}, &p1); code != 201 {
		t.Fatalf("create scan payment: HTTP %d", code)
	}
	mA.Write([]byte("134567890123456789\r\n"))
	waitFor(t, "the scan payment to succeed", func() bool { get(api+"/v1/payments/"+p1.ID, &p1); return p1.State == "succeeded" })
	waitFor(t, "its receipt to wait in the outbox", func() bool { return outboxDepth() > 0 })

	// 2. A qr payment on the customer display, in English.
	if err := displaytest.Open(bctx, api+"/display"); err != nil {
		t.Fatal(err)
	}
	if err := displaytest.WaitConnected(bctx, true); err != nil {
		t.Fatal(err)
	}
	var p2 payment
	if code := apiJSON(t, "POST", api+"/v1/payments", map[string]any{"amount": 888, "mode": "qr", "wallet": "alipay"}, &p2); code != 201 {
		t.Fatalf("create qr payment: HTTP %d", code)
	}
	waitFor(t, "code_url", func() bool { get(api+"/v1/payments/"+p2.ID, &p2); return p2.CodeURL != "" })
	if err := displaytest.WaitScreen(bctx, "qr"); err != nil {
		t.Fatal(err)
	}
	if lang, _ := displaytest.Eval[string](bctx, `document.body.getAttribute("data-lang")`); lang != "en" {
		t.Fatalf("page language before the reload = %q, want en", lang)
	}
	loadedAt, _ := displaytest.Eval[float64](bctx, "window.POS.loadedAt")

	// 3. The new file, and SIGHUP.
	write(file("zh", linkB, prn.Addr().String(), filepath.Join(dir, "moved.db"), "127.0.0.1:7999"))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	var ev reloadEvent
	json.Unmarshal(waitKind("config.reloaded"), &ev)
	keys := func(cs []config.Change) string {
		var k []string
		for _, c := range cs {
			k = append(k, c.Key)
		}
		return strings.Join(k, " ")
	}
	if got := keys(ev.Applied); got != "scanners[0].device printer.address display.language" {
		t.Errorf("applied = %q", got)
	}
	if got := keys(ev.Restart); got != "api.listen store.path" {
		t.Errorf("restart = %q", got)
	}

	// The page turns Chinese in place; the QR stays.
	if err := displaytest.WaitUntil(bctx, `document.body.getAttribute("data-lang") === "zh"`); err != nil {
		t.Fatal(err)
	}
	if s, _ := displaytest.ScreenOf(bctx); s != "qr" {
		t.Fatalf("screen after the reload = %q, want qr", s)
	}
	if again, _ := displaytest.Eval[float64](bctx, "window.POS.loadedAt"); again != loadedAt {
		t.Fatalf("the page was loaded again; a reload must update it live")
	}
	// The scanner reads from its new port.
	waitFor(t, "scanner B to connect", func() bool { return scannerState(t, r.API, "counter") == "connected" })
	mB.Write([]byte("4006381333931\r\n"))
	waitKind("scan.barcode")
	// The queued receipt prints on the new printer.
	waitFor(t, "the queued receipt to print", func() bool {
		printedMu.Lock()
		defer printedMu.Unlock()
		return bytes.Contains(printed.Bytes(), []byte("12.50"))
	})
	// The qr payment is still there, and the customer pays it.
	if resp, err := http.Get(p2.CodeURL); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	waitFor(t, "the qr payment to succeed", func() bool { get(api+"/v1/payments/"+p2.ID, &p2); return p2.State == "succeeded" })
	if err := displaytest.WaitScreen(bctx, "paid"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every receipt to print", func() bool { return outboxDepth() == 0 })
	var st struct {
		Journal struct{ Path string } `json:"journal"`
	}
	get(api+"/v1/status", &st)
	if st.Journal.Path != journal {
		t.Fatalf("journal path = %s after a reload; a restart-only change must not apply", st.Journal.Path)
	}

	// 4. A broken file: refused with every problem; nothing changes.
	write(file("fr", linkA, prn.Addr().String(), journal, "127.0.0.1:0") + "sim:\n  time_scale: 1\n")
	out, err := cli(t, r.API, "reload")
	if err == nil {
		t.Fatalf("reload of a broken file succeeded:\n%s", out)
	}
	for _, want := range []string{"refused", "display.language fr", "sim is written twice, on line 5 and line 21"} {
		if !strings.Contains(out, want) {
			t.Errorf("reload output lacks %q:\n%s", want, out)
		}
	}
	json.Unmarshal(waitKind("config.reload_refused"), &ev)
	if len(ev.Problems) < 1 {
		t.Errorf("refusal event without problems: %+v", ev)
	}
	var dc struct{ Language string }
	get(api+"/display/config.json", &dc)
	if dc.Language != "zh" {
		t.Errorf("display language after a refused reload = %q, want zh", dc.Language)
	}
	mB.Write([]byte("5901234123457\r\n"))
	waitKind("scan.barcode") // still on port B
}

// testLogger logs to the test's output when -v is given.
func testLogger(t *testing.T) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// TestReloadTokensAndOperators: a reload puts new API tokens and operators
// in force at once, without a restart: the old pos token is refused, the
// new one works, and a payment names a cashier the reload added.
func TestReloadTokensAndOperators(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "posagent.yaml")
	file := func(posToken, operators string) string {
		return fmt.Sprintf(`store:
  path: %s
api:
  listen: 127.0.0.1:0
  tokens:
    pos: %s
    manager: manager-secret-1-cccccccccc
sim:
  time_scale: 0.05
agent:
  time_scale: 0.1
printer:
  kind: none
display:
  kind: none
%s`, filepath.Join(dir, "posagent.db"), posToken, operators)
	}
	write := func(body string) {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(file("pos-secret-1-aaaaaaaaaa", ""))
	cfg, _, err := config.Check(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	reload := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan running, 1), make(chan error, 1)
	go func() {
		done <- runDaemonWith(ctx, cfg, testLogger(t), func(r running) { ready <- r },
			daemon.Options{ConfigPath: path, Reload: reload, Reloadable: true, Level: new(slog.LevelVar)})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("daemon: %v", err)
		}
	}()
	var r running
	select {
	case r = <-ready:
	case err := <-done:
		t.Fatalf("daemon did not start: %v", err)
	}
	api := "http://" + r.API
	status := func(token string) int {
		req, _ := http.NewRequest("GET", api+"/v1/payments", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := status("pos-secret-1-aaaaaaaaaa"); s != 200 {
		t.Fatalf("the first pos token: %d", s)
	}
	write(file("pos-secret-2-bbbbbbbbbb", "operators:\n  - id: c7\n    name: Lin\n    role: cashier\n"))
	reload <- struct{}{}
	deadline := time.Now().Add(20 * time.Second) // hang guard
	for status("pos-secret-2-bbbbbbbbbb") != 200 {
		if time.Now().After(deadline) {
			t.Fatal("the new pos token never worked")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s := status("pos-secret-1-aaaaaaaaaa"); s != 401 {
		t.Fatalf("the old pos token after the reload: %d, want 401", s)
	}
	body := strings.NewReader(`{"amount":1000,"mode":"qr","wallet":"wechat","operator":"c7"}`)
	req, _ := http.NewRequest("POST", api+"/v1/payments", body)
	req.Header.Set("Authorization", "Bearer pos-secret-2-bbbbbbbbbb")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", "reload-op-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Operator string `json:"operator"`
	}
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != 201 || p.Operator != "c7" {
		t.Fatalf("a payment by the operator the reload added: %d %+v", resp.StatusCode, p)
	}
}
