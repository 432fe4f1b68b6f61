package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent/view"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/store/record"
	"golang.org/x/crypto/bcrypt"
)

// The attacks of issue 12, each over real HTTP against the engine served
// as the daemon serves it (NewServer, Serve): on the code before the front
// door every one of them succeeded.

const (
	posTok     = "pos-token-0123456789abcdef"
	mgrTok     = "manager-token-0123456789ab"
	displayTok = "display-token-0123456789ab"
	managerPIN = "2468"
)

// door is a daemon-like API: the engine's handler behind the real server
// on a TCP listener (and optionally a Unix socket and TLS).
type doorEnv struct {
	*agentEnv
	base  string
	sock  string
	fp    string // TLS fingerprint
	sim   *simEnv
	close func()
}

func securedOptions(t testing.TB) testConfig {
	o := testOptions()
	h, err := bcrypt.GenerateFromPassword([]byte(managerPIN), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	o.Access = Access{
		Tokens:    map[Role]string{RolePOS: posTok, RoleManager: mgrTok, RoleDisplay: displayTok},
		Operators: []Operator{{ID: "c1", Name: "Ana", Role: "cashier", GatewayID: "0000000697"}, {ID: "m1", Name: "Mei", Role: "manager", PINHash: string(h), GatewayID: "0000000698"}},
		Approval:  true, ApprovalAbove: 500,
		AllowedOrigins: []string{"https://pos.example.com"},
		PINLockout:     time.Hour,
	}
	return o
}

func startDoor(t testing.TB, o testConfig, withTLS bool) *doorEnv {
	t.Helper()
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	t.Cleanup(hc.CloseIdleConnections)
	dir := t.TempDir()
	var tlsConf *tls.Config
	fp := ""
	if withTLS {
		cp, kp := AutoCertPaths(filepath.Join(dir, "posagent.db"))
		cert, err := LoadOrCreateCert(cp, kp, []string{"127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		if fp, err = CertFileFingerprint(cp); err != nil {
			t.Fatal(err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}}
		o.Access.TLSFingerprint = Fingerprint(cert.Certificate[0]) // as posagent run does
	}
	sock := ""
	if o.Access.Socket != "" {
		sock = filepath.Join(dir, "api.sock")
		o.Access.Socket = sock
	}
	path := filepath.Join(dir, "posagent.db")
	if o.Path != "" {
		path = o.Path
	}
	a := startAgent(t, path, gw, o)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	scheme := "http"
	if tlsConf != nil {
		l, scheme = tls.NewListener(l, tlsConf), "https"
	}
	ls := []net.Listener{l}
	if sock != "" {
		u, err := ListenUnix(sock, "")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, u)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, NewServer(a.api, nil), ls...) }()
	d := &doorEnv{agentEnv: a, base: scheme + "://" + l.Addr().String(), sock: sock, fp: fp, sim: sim}
	var once sync.Once
	d.close = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(func() { d.close() })
	return d
}

// do sends one request to the daemon with the given headers.
func (d *doorEnv) do(hc *http.Client, method, path, body string, hdr ...string) (int, map[string]any, http.Header) {
	d.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, d.base+path, rd)
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.EqualFold(hdr[i], "Host") {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(raw, &m)
	return resp.StatusCode, m, resp.Header
}

func bearerH(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func jsonH(tok, key string) []string {
	return []string{"Authorization", "Bearer " + tok, "Content-Type", "application/json", "Idempotency-Key", key}
}

// paid takes a succeeded payment of amount through the pos token.
func (d *doorEnv) paid(amount int64, code int) string {
	d.t.Helper()
	status, m, _ := d.do(nil, "POST", "/v1/payments", fmt.Sprintf(`{"amount":%d,"mode":"scan","auth_code":%q,"operator":"c1"}`, amount, wechatCode(code)), jsonH(posTok, fmt.Sprint("pay-", code))...)
	if status != 201 {
		d.t.Fatalf("pay: %d %v", status, m)
	}
	return d.waitFinal(decodePayment(d.t, m).ID).ID
}

func (d *doorEnv) refunded(id string) int64 {
	d.t.Helper()
	p := d.payment(id)
	for _, o := range d.sim.sim.Ledger() {
		if o.OrderID == p.OrderID {
			return o.Refunded
		}
	}
	d.t.Fatalf("payment %s is not in the ledger", id)
	return 0
}

func TestAttacksRefused(t *testing.T) {
	d := startDoor(t, securedOptions(t), false)
	d.Token = posTok
	id := d.paid(1000, 1)

	t.Run("rebinding Host", func(t *testing.T) {
		status, m, _ := d.do(nil, "GET", "/v1/payments", "", append(bearerH(posTok), "Host", "rebind.attacker.example:7420", "Origin", "http://rebind.attacker.example:7420")...)
		if status != 421 || errCode(m) != "host_not_allowed" {
			t.Errorf("rebound Host: %d %v, want 421 host_not_allowed", status, m)
		}
	})
	t.Run("foreign Origin", func(t *testing.T) {
		for _, h := range [][]string{{"Origin", "https://evil.example"}, {"Origin", "null"}, {"Sec-Fetch-Site", "cross-site"}} {
			status, m, _ := d.do(nil, "POST", "/v1/payments/"+id+"/refunds", `{}`, append(jsonH(mgrTok, "x-"+h[1]), h...)...)
			if status != 403 || errCode(m) != "origin_not_allowed" {
				t.Errorf("%v: %d %v, want 403 origin_not_allowed", h, status, m)
			}
		}
		// The allowed web POS: preflight answered, then its own token.
		status, _, hd := d.do(nil, "OPTIONS", "/v1/payments", "", "Origin", "https://pos.example.com", "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type,idempotency-key")
		if status != 204 || hd.Get("Access-Control-Allow-Origin") != "https://pos.example.com" || !strings.Contains(hd.Get("Access-Control-Allow-Headers"), "Idempotency-Key") {
			t.Errorf("preflight: %d %v", status, hd)
		}
		status, _, hd = d.do(nil, "GET", "/v1/payments", "", append(bearerH(posTok), "Origin", "https://pos.example.com")...)
		if status != 200 || hd.Get("Access-Control-Allow-Origin") != "https://pos.example.com" {
			t.Errorf("allowed origin with a token: %d", status)
		}
		if status, _, _ := d.do(nil, "GET", "/v1/payments", "", "Origin", "https://pos.example.com"); status != 401 {
			t.Errorf("allowed origin without a token: %d, want 401", status)
		}
	})
	t.Run("text/plain body", func(t *testing.T) {
		status, m, _ := d.do(nil, "POST", "/v1/payments/"+id+"/refunds", `{}`, "Authorization", "Bearer "+mgrTok, "Content-Type", "text/plain", "Idempotency-Key", "plain-1")
		if status != 415 || errCode(m) != "unsupported_media_type" {
			t.Errorf("text/plain refund: %d %v, want 415", status, m)
		}
	})
	t.Run("display token pays or refunds", func(t *testing.T) {
		status, m, _ := d.do(nil, "POST", "/v1/payments", `{"amount":700,"mode":"scan"}`, jsonH(displayTok, "disp-pay")...)
		if status != 403 || errCode(m) != "forbidden" {
			t.Errorf("display pays: %d %v", status, m)
		}
		status, m, _ = d.do(nil, "POST", "/v1/payments/"+id+"/refunds", `{"amount":100}`, jsonH(displayTok, "disp-ref")...)
		if status != 403 || errCode(m) != "forbidden" {
			t.Errorf("display refunds: %d %v", status, m)
		}
		status, _, _ = d.do(nil, "GET", "/v1/events?token="+displayTok+"&after=999999", "")
		if status != 400 {
			t.Errorf("display token in the events URL, cursor beyond newest: %d, want 400", status)
		}
		status, _, _ = d.do(nil, "POST", "/v1/payments/"+id+"/refunds?token="+displayTok, `{"amount":100}`, "Content-Type", "application/json", "Idempotency-Key", "disp-url")
		if status != 401 {
			t.Errorf("display token in a refund URL: %d, want 401", status)
		}
	})
	t.Run("pos refunds above the limit", func(t *testing.T) {
		status, m, _ := d.do(nil, "POST", "/v1/payments/"+id+"/refunds", `{"amount":600}`, jsonH(posTok, "big-1")...)
		if status != 403 || errCode(m) != "approval_required" {
			t.Errorf("pos refund of 600 above 500: %d %v", status, m)
		}
		status, m, _ = d.do(nil, "POST", "/v1/payments/"+id+"/refunds", `{}`, jsonH(posTok, "big-all")...)
		if status != 403 || errCode(m) != "approval_required" {
			t.Errorf("pos refund of everything (1000): %d %v", status, m)
		}
		status, m, _ = d.do(nil, "POST", "/v1/payments/"+id+"/refunds", `{"amount":200,"operator":"c1"}`, jsonH(posTok, "small-1")...)
		if status != 201 {
			t.Errorf("pos refund of 200 within the limit: %d %v", status, m)
		}
		status, m, _ = d.do(nil, "POST", "/v1/payments/"+id+"/refunds", `{"amount":600,"operator":"c1","approval":{"operator":"m1","pin":"2468"}}`, jsonH(posTok, "big-2")...)
		if status != 201 {
			t.Fatalf("pos refund of 600 approved by m1: %d %v", status, m)
		}
		p := d.waitFinal(id)
		if p.Refunded != 800 || d.refunded(id) != 800 {
			t.Errorf("refunded %d, ledger %d, want 800", p.Refunded, d.refunded(id))
		}
		if r := p.Refunds[len(p.Refunds)-1]; r.Operator != "c1" || r.Approver != "m1" {
			t.Errorf("refund recorded operator %q approver %q", r.Operator, r.Approver)
		}
	})
	t.Run("canonical idempotency", func(t *testing.T) {
		body1 := `{"amount":1234,"mode":"scan","reference":"INV-9"}`
		body2 := `{ "reference":"INV-9", "mode":"scan",   "amount":1234 }`
		s1, m1, _ := d.do(nil, "POST", "/v1/payments", body1, jsonH(posTok, "canon-1")...)
		s2, m2, _ := d.do(nil, "POST", "/v1/payments", body2, jsonH(posTok, "canon-1")...)
		if s1 != 201 || s2 != 201 || m1["id"] != m2["id"] {
			t.Errorf("same JSON, other key order: %d %v / %d %v", s1, m1["id"], s2, m2["id"])
		}
		if s, m, _ := d.do(nil, "POST", "/v1/payments", `{"amount":1235,"mode":"scan","reference":"INV-9"}`, jsonH(posTok, "canon-1")...); s != 409 {
			t.Errorf("another body: %d %v", s, m)
		}
		d.do(nil, "POST", "/v1/payments/"+m1["id"].(string)+"/cancel", "", jsonH(posTok, "canon-cancel")...)
	})
	t.Run("wrong methods", func(t *testing.T) {
		status, m, hd := d.do(nil, "DELETE", "/v1/payments", "", bearerH(posTok)...)
		if status != 405 || hd.Get("Allow") != "GET, POST, HEAD" || errCode(m) != "method_not_allowed" {
			t.Errorf("DELETE /v1/payments: %d %q %v", status, hd.Get("Allow"), m)
		}
	})
	// Every money-moving answer above that succeeded is on the audit trail,
	// with the refused approvals.
	status, m, _ := d.do(nil, "GET", "/v1/audit", "", bearerH(mgrTok)...)
	if status != 200 {
		t.Fatalf("audit: %d %v", status, m)
	}
	raw, _ := json.Marshal(m["audit"])
	var trail []view.AuditEntry
	json.Unmarshal(raw, &trail)
	var refunds, denied int
	for _, a := range trail {
		if a.Action == "payment.refund" && a.Result == "ok" {
			refunds++
			if a.Credential != "pos" || a.Operator != "c1" || a.Client != "127.0.0.1" {
				t.Errorf("refund audit entry: %+v", a)
			}
		}
		if a.Result == "approval_required" {
			denied++
		}
	}
	if refunds != 2 || denied != 2 {
		t.Errorf("audit trail: %d refunds, %d refused approvals; want 2, 2: %+v", refunds, denied, trail)
	}
	if s, _, _ := d.do(nil, "GET", "/v1/audit", "", bearerH(posTok)...); s != 403 {
		t.Errorf("pos reads the audit trail: %d", s)
	}
}

func TestWrongPINFiveTimes(t *testing.T) {
	d := startDoor(t, securedOptions(t), false)
	d.Token = posTok
	id := d.paid(1000, 2)
	for i := 1; i <= 5; i++ {
		status, m, _ := d.do(nil, "POST", "/v1/payments/"+id+"/refunds", `{"amount":900,"approval":{"operator":"m1","pin":"1111"}}`, jsonH(posTok, fmt.Sprint("pin-", i))...)
		want, code := 403, "approval_denied"
		if i == 5 {
			want, code = 429, "approval_locked"
		}
		if status != want || errCode(m) != code {
			t.Errorf("wrong PIN %d: %d %v, want %d %s", i, status, m, want, code)
		}
		if strings.Contains(fmt.Sprint(m), "1111") {
			t.Error("the PIN is in the answer")
		}
	}
	// Locked: even the right PIN is refused now.
	status, m, _ := d.do(nil, "POST", "/v1/payments/"+id+"/refunds", `{"amount":900,"approval":{"operator":"m1","pin":"2468"}}`, jsonH(posTok, "pin-right")...)
	if status != 429 || errCode(m) != "approval_locked" {
		t.Errorf("right PIN while locked: %d %v", status, m)
	}
	if got := d.refunded(id); got != 0 {
		t.Errorf("the ledger shows %d refunded", got)
	}
	// Nothing the journal keeps holds the PINs tried.
	raw, err := os.ReadFile(d.path)
	raw = append(raw, bytes.Join(record.Unpacked(raw), nil)...) // packed records, as plain
	if err == nil && (strings.Contains(string(raw), `"pin":"1111"`) || strings.Contains(string(raw), `"pin":"2468"`)) {
		t.Error("a PIN is in the journal")
	}
}

func TestUnixSocketUID(t *testing.T) {
	o := securedOptions(t)
	o.Access.Socket = "x"
	o.Access.SocketUIDs = []int{os.Getuid() + 4242} // not us
	d := startDoor(t, o, false)
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", d.sock)
	}}}
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequest("GET", "http://localhost/v1/status", nil)
	req.Header.Set("Authorization", "Bearer "+posTok)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Errorf("socket caller with a uid not allowed: %d, want 403", resp.StatusCode)
	}
	fi, err := os.Stat(d.sock)
	if err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode: %v %v", fi.Mode(), err)
	}
}

func TestTLSPinnedFingerprint(t *testing.T) {
	d := startDoor(t, securedOptions(t), true)
	pinTLS, err := client.PinnedTLS(d.fp)
	if err != nil {
		t.Fatal(err)
	}
	pinned := &http.Client{Transport: &http.Transport{TLSClientConfig: pinTLS}}
	defer pinned.CloseIdleConnections()
	status, m, _ := d.do(pinned, "GET", "/v1/status", "", bearerH(posTok)...)
	if status != 200 {
		t.Fatalf("pinned client: %d %v", status, m)
	}
	if api, _ := m["api"].(map[string]any); api["tls_fingerprint"] != d.fp {
		t.Errorf("/v1/status tls_fingerprint %v, want %s", m["api"], d.fp)
	}
	otherTLS, err := client.PinnedTLS(strings.Repeat("AB:", 31) + "AB")
	if err != nil {
		t.Fatal(err)
	}
	other := &http.Client{Transport: &http.Transport{TLSClientConfig: otherTLS}}
	defer other.CloseIdleConnections()
	req, _ := http.NewRequest("GET", d.base+"/v1/status", nil)
	if _, err := other.Do(req); err == nil || !strings.Contains(err.Error(), "pinned") {
		t.Errorf("a client pinning another certificate connected: %v", err)
	}
	if _, err := http.Get(d.base + "/healthz"); err == nil {
		t.Error("an unpinned client trusted the self-signed certificate")
	}
}

// rawConn speaks HTTP/1.1 by hand, for requests no client library sends.
func rawConn(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(addr, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func readStatus(t *testing.T, c net.Conn, r *bufio.Reader) int {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(30 * time.Second)) // a hang guard, not a speed assertion
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestBoundedResources(t *testing.T) {
	o := securedOptions(t)
	o.Access.BodyTimeout = 300 * time.Millisecond
	o.Access.MaxStreams, o.Access.MaxStreamsPerRole = 3, 2
	d := startDoor(t, o, false)
	t.Run("huge Content-Length answered at once", func(t *testing.T) {
		c, r := rawConn(t, d.base)
		fmt.Fprintf(c, "POST /v1/payments HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nIdempotency-Key: k\r\nContent-Length: 99999999999\r\n\r\n{\"amount\":", posTok)
		if s := readStatus(t, c, r); s != 413 {
			t.Errorf("status %d, want 413", s)
		}
	})
	t.Run("unauthenticated trickle gets its 401 from the headers", func(t *testing.T) {
		c, r := rawConn(t, d.base)
		fmt.Fprint(c, "POST /v1/payments HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
		if s := readStatus(t, c, r); s != 401 {
			t.Errorf("status %d, want 401", s)
		}
	})
	t.Run("a body that never arrives", func(t *testing.T) {
		c, r := rawConn(t, d.base)
		fmt.Fprintf(c, "POST /v1/payments HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nIdempotency-Key: slow\r\nContent-Length: 40\r\n\r\n{\"am", posTok)
		if s := readStatus(t, c, r); s != 408 {
			t.Errorf("status %d, want 408", s)
		}
	})
	t.Run("event streams capped", func(t *testing.T) {
		var bodies []io.Closer
		defer func() {
			for _, b := range bodies {
				b.Close()
			}
		}()
		codes := map[int]int{}
		for range 4 {
			req, _ := http.NewRequest("GET", d.base+"/v1/events", nil)
			req.Header.Set("Authorization", "Bearer "+posTok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			codes[resp.StatusCode]++
			if resp.StatusCode == 503 && resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			bodies = append(bodies, resp.Body)
		}
		if codes[200] != 2 || codes[503] != 2 {
			t.Errorf("4 pos streams with 2 allowed per role: %v", codes)
		}
		// The slot kept for the display: the total (3) is full for every
		// other role, and a display still gets in.
		req, _ := http.NewRequest("GET", d.base+"/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+displayTok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, resp.Body)
		if resp.StatusCode != 200 {
			t.Errorf("the display with every other slot taken: %d, want 200 (its reserved slot)", resp.StatusCode)
		}
	})
	t.Run("a stop closes slow connections", func(t *testing.T) {
		c, _ := rawConn(t, d.base)
		fmt.Fprint(c, "GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\n") // headers never end
		done := make(chan struct{})
		go func() { d.close(); close(done) }()
		select {
		case <-done: // Serve returned nil (checked by close)
		case <-time.After(30 * time.Second): // a hang guard
			t.Fatal("Serve did not return with a slow connection open")
		}
	})
}
