package bridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/posagent/posagent/drivers/bridge"
	"github.com/posagent/posagent/drivers/bridge/bridgeclient"
	"github.com/posagent/posagent/paycode"
	"github.com/posagent/posagent/printer"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	t.Cleanup(cancel)
	return ctx
}

func TestNewRefusesBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    bridge.Options
		want string
	}{
		{"no token", bridge.Options{}, "a token is required"},
		{"bad format", bridge.Options{Token: "t", Format: "pdf"}, `format "pdf"`},
		{"negative width", bridge.Options{Token: "t", WidthDots: -1}, "negative width_dots"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bridge.New(tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: err %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestTokenRefusedBeforeUpgrade(t *testing.T) {
	th := startHub(t, bridge.Options{})
	ctx := testCtx(t)

	_, err := bridgeclient.Dial(ctx, th.url, "wrong-token", "sunmi-t2")
	if !errors.Is(err, bridgeclient.ErrUnauthorized) {
		t.Fatalf("Dial with a wrong token: %v, want ErrUnauthorized", err)
	}
	if strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("error %q shows a token", err)
	}

	// A WebSocket upgrade without any token is answered 401, not 101.
	for _, auth := range []string{"", "Bearer ", "Basic " + testToken, "Bearer " + testToken + "x"} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, th.srv.URL+"/v1/bridge", nil)
		req.Header.Set("Connection", "Upgrade")
		req.Header.Set("Upgrade", "websocket")
		req.Header.Set("Sec-WebSocket-Version", "13")
		req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", auth, resp.StatusCode)
		}
		var e struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != "unauthorized" {
			t.Errorf("Authorization %q: body %q, want a JSON error with code unauthorized", auth, body)
		}
		if resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: no WWW-Authenticate header", auth)
		}
	}
	if st := th.Status(); st.Connected {
		t.Errorf("a refused helper shows as connected: %+v", st)
	}
}

func TestVersionMismatchIsRefusedWithReason(t *testing.T) {
	th := startHub(t, bridge.Options{})
	ctx := testCtx(t)
	_, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t2", bridgeclient.WithVersions(2, 3))
	if !errors.Is(err, bridgeclient.ErrUnsupportedVersion) {
		t.Fatalf("Dial offering versions 2..3: %v, want ErrUnsupportedVersion", err)
	}
	if !strings.Contains(err.Error(), "unsupported protocol version 2..3; this agent speaks 1..1") {
		t.Errorf("error %q does not say which versions", err)
	}

	// A helper speaking 1..3 gets version 1.
	c, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t2", bridgeclient.WithVersions(1, 3))
	if err != nil {
		t.Fatalf("Dial offering 1..3: %v", err)
	}
	defer c.Close()
	if st := th.connected(t); st.Version != 1 || st.Device != "sunmi-t2" {
		t.Errorf("negotiated %+v, want version 1 for sunmi-t2", st)
	}
}

// A first message that is not a hello ends the connection with 4002 and an
// error message saying why.
func TestBadHelloClosesWith4002(t *testing.T) {
	th := startHub(t, bridge.Options{})
	ctx := testCtx(t)
	for _, tc := range []struct{ name, first, want string }{
		{"scan first", `{"type":"scan","id":"1","code":"6901234567892"}`, `must be a hello, got "scan"`},
		{"no device", `{"type":"hello","version":1}`, `missing "device"`},
		{"not json", `hello`, "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, _, err := websocket.Dial(ctx, th.url, &websocket.DialOptions{
				HTTPHeader: http.Header{"Authorization": {"Bearer " + testToken}},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			if err := conn.Write(ctx, websocket.MessageText, []byte(tc.first)); err != nil {
				t.Fatal(err)
			}
			_, b, err := conn.Read(ctx)
			if err != nil {
				t.Fatalf("read the error message: %v", err)
			}
			m, err := bridge.Decode(b)
			if err != nil || m.Type != bridge.TypeError || !strings.Contains(m.Error, tc.want) {
				t.Errorf("got %s (%v), want an error containing %q", b, err, tc.want)
			}
			_, _, err = conn.Read(ctx)
			if got := websocket.CloseStatus(err); got != bridge.CloseBadHello {
				t.Errorf("close status %d (%v), want %d", got, err, bridge.CloseBadHello)
			}
		})
	}
}

func TestScanOverBridgeCallsOnScan(t *testing.T) {
	scans := make(chan bridge.Scan, 4)
	at := time.Date(2026, 11, 25, 18, 31, 0, 0, time.UTC)
	th := startHub(t, bridge.Options{
		Clock: func() time.Time { return at },
		OnScan: func(ctx context.Context, s bridge.Scan) error {
			if _, ok := paycode.Classify(s.Code); !ok {
				return errors.New("no payment is waiting for this code")
			}
			scans <- s
			return nil
		},
	})
	ctx := testCtx(t)
	c, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t2")
	if err != nil {
		t.Fatal(err)
	}
	runClient(t, c)

	const code = "134567890123456789"
	if err := c.ScanSymbology(ctx, code, "]Q1"); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	s := <-scans // OnScan ran before the ack came back
	want := bridge.Scan{Code: code, Symbology: "]Q1", Device: "bridge:sunmi-t2", At: at}
	if s != want {
		t.Errorf("OnScan got %+v, want %+v", s, want)
	}

	err = c.Scan(ctx, "6901234567892")
	if !errors.Is(err, bridgeclient.ErrRefused) || !strings.Contains(err.Error(), "no payment is waiting") {
		t.Errorf("refused scan: %v, want ErrRefused with the agent's reason", err)
	}
}

func TestScanWithoutHandlerIsRefused(t *testing.T) {
	th := startHub(t, bridge.Options{})
	ctx := testCtx(t)
	c, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t2")
	if err != nil {
		t.Fatal(err)
	}
	runClient(t, c)
	if err := c.Scan(ctx, "134567890123456789"); !errors.Is(err, bridgeclient.ErrRefused) {
		t.Errorf("Scan with no OnScan: %v, want ErrRefused", err)
	}
}

func TestPrintReceiptAckedByClient(t *testing.T) {
	th := startHub(t, bridge.Options{WidthDots: 384}, escpos58)
	ctx := testCtx(t)
	jobs := make(chan bridgeclient.Job, 4)
	c, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t2",
		bridgeclient.WithPrintHandler(func(ctx context.Context, j bridgeclient.Job) error {
			jobs <- j
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	th.connected(t)
	runClient(t, c)

	r := sampleReceipt("pay_01")
	if err := th.PrintReceipt(ctx, r); err != nil {
		t.Fatalf("PrintReceipt: %v", err)
	}
	j := <-jobs
	wantID, _ := printer.JobID(r)
	want, _ := escpos58(r)
	if j.ID != wantID || j.Kind != bridge.KindPrint || j.Format != bridge.FormatESCPOS || j.WidthDots != 384 {
		t.Errorf("job %+v, want id %s, print, escpos, 384 dots", j, wantID)
	}
	if !bytes.Equal(j.Data, want) {
		t.Errorf("job data differs from the ESC/POS encoding (%d bytes, want %d)", len(j.Data), len(want))
	}
}

// Clover prints images: the job is a PNG at the printer's dot width.
func TestPrintReceiptAsPNG(t *testing.T) {
	th := startHub(t, bridge.Options{
		Format: bridge.FormatPNG, WidthDots: 576,
	}, func(r printer.Receipt) ([]byte, error) { return printer.RenderPNG(r, printer.Profile80()) })
	ctx := testCtx(t)
	jobs := make(chan bridgeclient.Job, 1)
	c, err := bridgeclient.Dial(ctx, th.url, testToken, "clover-station",
		bridgeclient.WithPrintHandler(func(ctx context.Context, j bridgeclient.Job) error {
			jobs <- j
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	th.connected(t)
	runClient(t, c)
	if err := th.PrintReceipt(ctx, sampleReceipt("pay_png")); err != nil {
		t.Fatalf("PrintReceipt: %v", err)
	}
	j := <-jobs
	if j.Format != bridge.FormatPNG || j.WidthDots != 576 {
		t.Errorf("job format %q width %d, want png 576", j.Format, j.WidthDots)
	}
	img, err := png.Decode(bytes.NewReader(j.Data))
	if err != nil {
		t.Fatalf("job data is not a PNG: %v", err)
	}
	if w := img.Bounds().Dx(); w != 576 {
		t.Errorf("PNG is %d px wide, want 576", w)
	}
}

func TestPrintReceiptWithoutHelper(t *testing.T) {
	th := startHub(t, bridge.Options{}, escpos58)
	ctx := testCtx(t)
	r := sampleReceipt("pay_02")
	if err := th.PrintReceipt(ctx, r); !errors.Is(err, bridge.ErrNoHelper) {
		t.Fatalf("PrintReceipt with no helper ever: %v, want ErrNoHelper", err)
	}

	// A helper comes and goes: afterwards it is ErrNoHelper again.
	c, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t2")
	if err != nil {
		t.Fatal(err)
	}
	th.connected(t)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(cctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("client Run after cancel: %v, want nil", err)
	}
	if st := th.disconnected(t); st.Reason == "" {
		t.Errorf("disconnect report without a reason: %+v", st)
	}
	if err := th.PrintReceipt(ctx, r); !errors.Is(err, bridge.ErrNoHelper) {
		t.Fatalf("PrintReceipt after the helper left: %v, want ErrNoHelper", err)
	}
}

func TestPrintReceiptBadInput(t *testing.T) {
	th := startHub(t, bridge.Options{}, func(printer.Receipt) ([]byte, error) {
		return nil, errors.New("paper profile unknown")
	})
	ctx := testCtx(t)
	if err := th.PrintReceipt(ctx, printer.Receipt{}); err == nil || !strings.Contains(err.Error(), "no payment id") {
		t.Errorf("receipt without payment id: %v", err)
	}
	if err := th.PrintReceipt(ctx, sampleReceipt("p")); err == nil || !strings.Contains(err.Error(), "encode: paper profile unknown") {
		t.Errorf("encoder failure: %v", err)
	}
	if err := th.SendJob(ctx, "bad\nid", []byte("x")); err == nil || !strings.Contains(err.Error(), "invalid job id") {
		t.Errorf("bad job id: %v", err)
	}
	if err := th.SendJob(ctx, "display:1", []byte("x")); err == nil || !strings.Contains(err.Error(), "invalid job id") {
		t.Errorf("job id in the display namespace: %v", err)
	}
	noEnc := startHub(t, bridge.Options{})
	if err := noEnc.PrintReceipt(ctx, sampleReceipt("p")); err == nil || !strings.Contains(err.Error(), "no receipt encoder") {
		t.Errorf("no encoder: %v", err)
	}
}

func TestNackIsAnErrorAndRetryPrints(t *testing.T) {
	th := startHub(t, bridge.Options{}, escpos58)
	ctx := testCtx(t)
	var mu sync.Mutex
	calls := 0
	c, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t2",
		bridgeclient.WithPrintHandler(func(ctx context.Context, j bridgeclient.Job) error {
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls == 1 {
				return errors.New("paper out")
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	th.connected(t)
	runClient(t, c)
	r := sampleReceipt("pay_03")
	err = th.PrintReceipt(ctx, r)
	var ne *bridge.NackError
	if !errors.As(err, &ne) || ne.Message != "paper out" {
		t.Fatalf("PrintReceipt with paper out: %v, want a NackError saying paper out", err)
	}
	if !strings.Contains(err.Error(), "refused by the helper: paper out") {
		t.Errorf("nack error reads %q", err)
	}
	if err := th.PrintReceipt(ctx, r); err != nil {
		t.Fatalf("retry after paper loaded: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 2 {
		t.Errorf("OnPrint called %d times, want 2 (a failed print is printed again)", calls)
	}
}

// A helper that never answers: PrintReceipt gives up at AckTimeout, or when
// its context ends, and says which.
func TestPrintReceiptGivesUpWaiting(t *testing.T) {
	for _, tc := range []struct {
		name       string
		ackTimeout time.Duration
		ctxTimeout time.Duration
		check      func(error) bool
	}{
		{"ack timeout", 30 * time.Millisecond, waitFor, func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "no ack within 30ms")
		}},
		{"context", 0, 30 * time.Millisecond, func(err error) bool {
			return errors.Is(err, context.DeadlineExceeded)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			th := startHub(t, bridge.Options{AckTimeout: tc.ackTimeout}, escpos58)
			ctx := testCtx(t)
			unblock := make(chan struct{})
			c, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t2",
				bridgeclient.WithPrintHandler(func(ctx context.Context, j bridgeclient.Job) error {
					select { // the printer hangs
					case <-unblock:
					case <-ctx.Done():
					}
					return errors.New("printer hung")
				}))
			if err != nil {
				t.Fatal(err)
			}
			th.connected(t)
			runClient(t, c)
			defer close(unblock)
			pctx, cancel := context.WithTimeout(ctx, tc.ctxTimeout)
			defer cancel()
			if err := th.PrintReceipt(pctx, sampleReceipt("pay_slow")); !tc.check(err) {
				t.Errorf("PrintReceipt with a hung printer: %v", err)
			}
		})
	}
}

// countingStore records every lookup of the acked store: how often each job
// id reached the helper's print worker.
type countingStore struct {
	*bridgeclient.LRU
	mu   sync.Mutex
	seen map[string]int
}

func (s *countingStore) Has(id string) bool {
	s.mu.Lock()
	s.seen[id]++
	s.mu.Unlock()
	return s.LRU.Has(id)
}

func (s *countingStore) deliveries(id string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[id]
}

// The helper drops off after it received (and printed) a job but before its
// ack left. PrintReceipt fails; the outbox retries; the helper reconnects,
// gets the same job_id and acknowledges it without printing it again.
func TestReconnectRedeliversSameJobWithoutReprint(t *testing.T) {
	th := startHub(t, bridge.Options{PingInterval: time.Hour}, escpos58)
	px := startProxy(t, th.srv.Listener.Addr().String())
	ctx := testCtx(t)

	store := &countingStore{LRU: bridgeclient.NewLRU(16), seen: map[string]int{}}
	release := make(chan struct{})
	var mu sync.Mutex
	var printed []bridgeclient.Job
	c, err := bridgeclient.Dial(ctx, "ws://"+px.addr()+"/v1/bridge", testToken, "sunmi-t2",
		bridgeclient.WithAckedStore(store), bridgeclient.WithLogger(testLogger(t)),
		bridgeclient.WithBackoff(5*time.Millisecond, 20*time.Millisecond),
		bridgeclient.WithPrintHandler(func(ctx context.Context, j bridgeclient.Job) error {
			mu.Lock()
			printed = append(printed, j)
			n := len(printed)
			mu.Unlock()
			if n == 1 {
				px.cut() // the network drops while the receipt prints
				select { // the ack is only attempted once the agent gave up
				case <-release:
				case <-ctx.Done():
				}
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	first := th.connected(t)
	runClient(t, c)

	r := sampleReceipt("pay_04")
	jobID, _ := printer.JobID(r)
	err = th.PrintReceipt(ctx, r)
	if !errors.Is(err, bridge.ErrHelperGone) {
		t.Fatalf("PrintReceipt across a drop: %v, want ErrHelperGone", err)
	}
	close(release)

	second := th.connected(t)
	if second.Session == first.Session {
		t.Fatalf("reconnected with the same session id %s", first.Session)
	}
	if err := th.PrintReceipt(ctx, r); err != nil { // the outbox's retry
		t.Fatalf("retry after reconnect: %v", err)
	}
	if n := store.deliveries(jobID); n != 2 {
		t.Errorf("job %s reached the helper %d times, want 2 (first send, retry)", jobID, n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(printed) != 1 {
		t.Fatalf("printed %d times, want exactly once", len(printed))
	}
	if printed[0].ID != jobID {
		t.Errorf("printed job %s, want %s", printed[0].ID, jobID)
	}
	if !store.LRU.Has(jobID) {
		t.Errorf("job %s not remembered as printed", jobID)
	}
}

func TestDisplayFramesLatestWins(t *testing.T) {
	th := startHub(t, bridge.Options{})
	ctx := testCtx(t)
	if err := th.ShowFrame(nil); err == nil {
		t.Error("ShowFrame(nil) accepted")
	}
	if err := th.ShowFrame([]byte("frame-0")); err != nil { // before any helper
		t.Fatal(err)
	}
	frames := make(chan string, 64)
	c, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t2",
		bridgeclient.WithDisplayHandler(func(ctx context.Context, j bridgeclient.Job) error {
			if j.Kind != bridge.KindDisplay || j.Format != bridge.FormatPNG {
				t.Errorf("display job %+v", j)
			}
			frames <- string(j.Data)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	th.connected(t)
	runClient(t, c)
	if got := <-frames; got != "frame-0" {
		t.Fatalf("first frame after connecting %q, want the latest one shown before, frame-0", got)
	}
	for _, f := range []string{"frame-1", "frame-2", "frame-3", "frame-4"} {
		if err := th.ShowFrame([]byte(f)); err != nil {
			t.Fatal(err)
		}
	}
	last := ""
	for last != "frame-4" {
		select {
		case got := <-frames:
			if got <= last {
				t.Fatalf("frame %q shown after %q", got, last)
			}
			last = got
		case <-ctx.Done():
			t.Fatalf("latest frame never shown; last %q", last)
		}
	}
}

func TestDeviceStateReported(t *testing.T) {
	th := startHub(t, bridge.Options{})
	ctx := testCtx(t)
	c, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t2", bridgeclient.WithHelper("posbridge-android/1.0"))
	if err != nil {
		t.Fatal(err)
	}
	if st := th.connected(t); st.Helper != "posbridge-android/1.0" || st.Session == "" || len(st.Devices) != 0 {
		t.Errorf("connect report %+v", st)
	}
	runClient(t, c)
	paperOut := bridge.DeviceState{Kind: "printer", Name: "sunmi-inner", State: "paper_out", Error: "paper out"}
	if err := c.ReportState(ctx, paperOut); err != nil {
		t.Fatalf("ReportState: %v", err)
	}
	st := th.connected(t) // the state report
	if len(st.Devices) != 1 || st.Devices[0] != paperOut {
		t.Errorf("state report %+v, want %+v", st.Devices, paperOut)
	}
	if got := th.Status(); len(got.Devices) != 1 || got.Devices[0] != paperOut || !got.Connected {
		t.Errorf("Status() %+v", got)
	}
}

// A second helper connection replaces the first, whose Run stops with
// ErrReplaced instead of fighting for the bridge.
func TestNewerConnectionReplacesOlder(t *testing.T) {
	th := startHub(t, bridge.Options{})
	ctx := testCtx(t)
	c1, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t2")
	if err != nil {
		t.Fatal(err)
	}
	s1 := th.connected(t)
	done1 := make(chan error, 1)
	go func() { done1 <- c1.Run(ctx) }()

	c2, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t2")
	if err != nil {
		t.Fatal(err)
	}
	runClient(t, c2)
	if err := <-done1; !errors.Is(err, bridgeclient.ErrReplaced) {
		t.Fatalf("older client Run: %v, want ErrReplaced", err)
	}
	if st := th.Status(); !st.Connected || st.Session == s1.Session || st.Session != c2.Session() {
		t.Errorf("current session %+v, want the newer one %s", st, c2.Session())
	}
}

// A helper that stops answering pings is dropped, so jobs fail fast.
func TestUnansweredPingDropsHelper(t *testing.T) {
	th := startHub(t, bridge.Options{PingInterval: 20 * time.Millisecond, PingTimeout: 50 * time.Millisecond})
	ctx := testCtx(t)
	conn, _, err := websocket.Dial(ctx, th.url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + testToken}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"hello","version":1,"device":"mute"}`)); err != nil {
		t.Fatal(err)
	}
	th.connected(t)
	// Never read again: pongs are never sent.
	if st := th.disconnected(t); st.Device != "mute" {
		t.Errorf("disconnect report %+v", st)
	}
}

// Messages a helper gets wrong are answered with error and do not end the
// session.
func TestBadMessagesAnsweredWithError(t *testing.T) {
	th := startHub(t, bridge.Options{})
	ctx := testCtx(t)
	conn, _, err := websocket.Dial(ctx, th.url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + testToken}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	send := func(s string) {
		if err := conn.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	recv := func() bridge.Message {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		m, err := bridge.Decode(b)
		if err != nil {
			t.Fatalf("agent sent %s: %v", b, err)
		}
		return m
	}
	send(`{"type":"hello","version":1,"device":"sunmi-t2"}`)
	if m := recv(); m.Type != bridge.TypeWelcome || m.Version != 1 || m.Session == "" {
		t.Fatalf("welcome %+v", m)
	}
	for _, tc := range []struct{ in, ref, want string }{
		{`{"type":"teleport","id":"7"}`, "7", `unknown message type "teleport"`},
		{`{"type":"scan","id":"8"}`, "8", `missing "code"`},
		{`{"type":"nack","job_id":"x"}`, "", `missing "error"`},
		{`{"type":"job","job_id":"j","kind":"print","format":"escpos","data":"AA=="}`, "", `unexpected "job" from a helper`},
		{`[1,2]`, "", "not a JSON object"},
	} {
		send(tc.in)
		m := recv()
		if m.Type != bridge.TypeError || m.Ref != tc.ref || !strings.Contains(m.Error, tc.want) {
			t.Errorf("%s: got %+v, want error ref %q containing %q", tc.in, m, tc.ref, tc.want)
		}
	}
	send(`{"type":"ping","id":"p1"}`)
	if m := recv(); m.Type != bridge.TypePong || m.Ref != "p1" {
		t.Errorf("ping answered %+v", m)
	}
}

func BenchmarkPrintReceiptRoundTrip(b *testing.B) {
	h, err := bridge.New(bridge.Options{Token: testToken})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/bridge", h.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	hubDone := make(chan error, 1)
	go func() { hubDone <- h.Run(ctx) }()
	defer func() { cancel(); <-hubDone }()
	c, err := bridgeclient.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/v1/bridge", testToken, "bench",
		bridgeclient.WithPrintHandler(func(context.Context, bridgeclient.Job) error { return nil }))
	if err != nil {
		b.Fatal(err)
	}
	cctx, ccancel := context.WithCancel(ctx)
	clientDone := make(chan error, 1)
	go func() { clientDone <- c.Run(cctx) }()
	defer func() { ccancel(); <-clientDone }()
	r := sampleReceipt("bench")
	for i := 0; b.Loop(); i++ {
		r.PaymentID = "bench" + strconv.Itoa(i) // a new job each time
		if err := (printer.JobPrinter{Sender: h, Encode: escpos58}).PrintReceipt(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

// syncBuffer is a log sink safe for the hub's goroutines.
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

// Payment codes appear masked in the hub's logs; tokens never appear.
func TestLogsMaskCodesAndHideToken(t *testing.T) {
	var logs syncBuffer
	th := startHub(t, bridge.Options{
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnScan: func(context.Context, bridge.Scan) error { return nil },
	})
	ctx := testCtx(t)
	if _, err := bridgeclient.Dial(ctx, th.url, "guessed-token", "sunmi-t2"); err == nil {
		t.Fatal("wrong token accepted")
	}
	c, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t2")
	if err != nil {
		t.Fatal(err)
	}
	runClient(t, c)
	const code = "285678901234567890"
	if err := c.Scan(ctx, code); err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if strings.Contains(out, code) || !strings.Contains(out, paycode.Mask(code)) {
		t.Errorf("scan not logged masked:\n%s", out)
	}
	for _, secret := range []string{testToken, "guessed-token"} {
		if strings.Contains(out, secret) {
			t.Errorf("log shows a token %q:\n%s", secret, out)
		}
	}
}

// The largest valid state report fits the read limit; a message beyond it
// ends the session with 1009 (message too big).
func TestReadLimit(t *testing.T) {
	th := startHub(t, bridge.Options{})
	ctx := testCtx(t)
	c, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t2")
	if err != nil {
		t.Fatal(err)
	}
	th.connected(t)
	runClient(t, c)
	devs := make([]bridge.DeviceState, 64)
	for i := range devs {
		devs[i] = bridge.DeviceState{Kind: strings.Repeat("k", 128), Name: fmt.Sprintf("%0128d", i),
			State: strings.Repeat("s", 128), Error: strings.Repeat("e", 1024)}
	}
	if err := c.ReportState(ctx, devs...); err != nil {
		t.Fatalf("largest valid state report: %v", err)
	}

	conn, _, err := websocket.Dial(ctx, th.url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + testToken}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	huge := `{"type":"hello","version":1,"device":"x","pad":"` + strings.Repeat("x", 300<<10) + `"}`
	_ = conn.Write(ctx, websocket.MessageText, []byte(huge))
	_, _, err = conn.Read(ctx)
	if got := websocket.CloseStatus(err); got != websocket.StatusMessageTooBig {
		t.Errorf("oversized message: close %d (%v), want 1009", got, err)
	}
}

// The helper app itself restarts between printing a job and acknowledging
// it: with its printed ids in a FileStore, the new process acknowledges the
// retry without printing.
func TestHelperRestartDoesNotReprint(t *testing.T) {
	th := startHub(t, bridge.Options{PingInterval: time.Hour}, escpos58)
	px := startProxy(t, th.srv.Listener.Addr().String())
	ctx := testCtx(t)
	path := filepath.Join(t.TempDir(), "printed-jobs.txt")
	url := "ws://" + px.addr() + "/v1/bridge"
	var mu sync.Mutex
	printed := 0
	onPrint := func(cut bool, release <-chan struct{}) func(context.Context, bridgeclient.Job) error {
		return func(ctx context.Context, j bridgeclient.Job) error {
			mu.Lock()
			printed++
			mu.Unlock()
			if cut {
				px.cut() // the network drops while it prints; the ack cannot leave
				select {
				case <-release:
				case <-ctx.Done():
				}
			}
			return nil // printed: the client records the id before acking
		}
	}

	store1, err := bridgeclient.OpenFileStore(path, 64)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	c1, err := bridgeclient.Dial(ctx, url, testToken, "sunmi-t2", bridgeclient.WithAckedStore(store1),
		bridgeclient.WithBackoff(time.Hour, time.Hour), // it dies before reconnecting
		bridgeclient.WithPrintHandler(onPrint(true, release)))
	if err != nil {
		t.Fatal(err)
	}
	th.connected(t)
	run1, stop1 := context.WithCancel(ctx)
	done1 := make(chan error, 1)
	go func() { done1 <- c1.Run(run1) }()

	r := sampleReceipt("pay_restart")
	if err := th.PrintReceipt(ctx, r); !errors.Is(err, bridge.ErrHelperGone) {
		t.Fatalf("PrintReceipt across the drop: %v, want ErrHelperGone", err)
	}
	close(release)
	stop1() // the app is killed before it reconnects
	if err := <-done1; err != nil {
		t.Fatalf("first app Run: %v", err)
	}
	store1.Close()

	// The app starts again, reading its printed ids from disk.
	store2, err := bridgeclient.OpenFileStore(path, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer store2.Close()
	c2, err := bridgeclient.Dial(ctx, url, testToken, "sunmi-t2", bridgeclient.WithAckedStore(store2),
		bridgeclient.WithPrintHandler(onPrint(false, nil)))
	if err != nil {
		t.Fatal(err)
	}
	th.connected(t)
	runClient(t, c2)
	if err := th.PrintReceipt(ctx, r); err != nil { // the outbox's retry
		t.Fatalf("retry after the app restarted: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if printed != 1 {
		t.Errorf("printed %d times, want once", printed)
	}
}
