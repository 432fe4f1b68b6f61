package ottsim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/internal/envelope"
	"github.com/posagent/posagent/gateway/ottsim"
)

// FuzzProcess: any body posted to /processV2 gets a JSON envelope (or a
// deliberate drop), never a panic, and a refusal never creates an order.
func FuzzProcess(f *testing.F) {
	seal := func(action string, fl envelope.Fields) string {
		data, digest, _ := envelope.Seal(fl, signKey)
		b, _ := json.Marshal(envelope.RequestEnvelope{Action: action, Version: "1.0", MerchantID: merchant, Data: data, MD5: digest})
		return string(b)
	}
	payFields := func(amount string) envelope.Fields {
		return envelope.Fields{{Key: "order_id", Value: "F1"}, {Key: "operator_id", Value: operator},
			{Key: "amount", Value: amount}, {Key: "auth_code", Value: wechat}, {Key: "biz_type", Value: "ALIPAY"},
			{Key: "call_back_url", Value: "http://x/cb"}}
	}
	f.Add(seal("PASSIVEPAY", payFields("100")))
	f.Add(seal("PASSIVEPAY", payFields("104")))
	f.Add(seal("ACTIVEPAY", payFields("100")))
	f.Add(seal("STATUS_QUERY", envelope.Fields{{Key: "order_id", Value: "F1"}}))
	f.Add(seal("REFUND", envelope.Fields{{Key: "ori_order_id", Value: "F1"}, {Key: "refund_amt", Value: "1"}}))
	f.Add(seal("EX_RATE_QUERY", envelope.Fields{{Key: "fee_type", Value: "CAD"}}))
	f.Add(`{"action":"PASSIVEPAY","version":"1.0","merchant_id":"ON00004652","data":"AAAA","md5":"00"}`)
	f.Add(`{}`)
	f.Add(``)
	f.Add(`[`)
	f.Fuzz(func(t *testing.T, body string) {
		sim := ottsim.New(ottsim.Options{MerchantID: merchant, SignKey: signKey, TimeScale: 1e-6})
		h := sim.Handler()
		req := httptest.NewRequest(http.MethodPost, "/processV2", strings.NewReader(body))
		rec := httptest.NewRecorder()
		dropped := func() (dropped bool) {
			defer func() {
				if p := recover(); p != nil {
					if p != http.ErrAbortHandler {
						panic(p)
					}
					dropped = true
				}
			}()
			h.ServeHTTP(rec, req)
			return false
		}()
		if dropped {
			return // amount ending in 04: the connection is dropped on purpose
		}
		env, err := envelope.ParseResponseEnvelope(rec.Body.Bytes())
		if err != nil {
			t.Fatalf("answer to %q is not an envelope: %v: %s", body, err, rec.Body.Bytes())
		}
		if env.Data != "" {
			if _, err := envelope.Open(env.Data, env.MD5, signKey); err != nil {
				t.Fatalf("the simulator's own answer does not open: %v", err)
			}
		}
		switch env.RspCode {
		case "PARAM_ERROR", "PARAM_INVALID", "ORDER_TYPE_ERROR":
			if n := len(sim.Ledger()); n != 0 {
				t.Fatalf("refused with %s but made %d orders", env.RspCode, n)
			}
		}
	})
}

func TestRunTwiceIsRefused(t *testing.T) {
	sim := ottsim.New(ottsim.Options{MerchantID: merchant, SignKey: signKey})
	l1, _ := net.Listen("tcp", "127.0.0.1:0")
	l2, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx, l1) }()
	// Wait until the first Run serves.
	for range 200 {
		if resp, err := http.Get("http://" + l1.Addr().String() + "/_sim/faults"); err == nil {
			resp.Body.Close()
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := sim.Run(ctx, l2); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second Run: %v", err)
	}
	if _, err := net.Dial("tcp", l2.Addr().String()); err == nil {
		t.Errorf("the refused Run left its listener open")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel: %v, want nil (cancellation is not an error)", err)
	}
	if _, err := net.Dial("tcp", l1.Addr().String()); err == nil {
		t.Errorf("Run returned with its listener open")
	}
	http.DefaultClient.CloseIdleConnections()
}

func TestRunEndsSlowRepliesOnShutdown(t *testing.T) {
	// 06 with the default 30 s SlowReply: Run must not wait for it.
	sim := ottsim.New(ottsim.Options{MerchantID: merchant, SignKey: signKey})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx, l) }()
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	c, _ := gateway.New(gateway.Config{URL: "http://" + l.Addr().String() + "/processV2", MerchantID: merchant,
		SignKey: signKey, OperatorID: operator, HTTPClient: hc})
	errc := make(chan error, 1)
	go func() { _, err := c.PassivePay(context.Background(), pay("SLOW", 106)); errc <- err }()
	for len(sim.Ledger()) == 0 {
		time.Sleep(2 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	err := <-errc
	if gateway.OutcomeOf(err) != gateway.Unknown || errors.Is(err, gateway.ErrNotSent) {
		t.Fatalf("the abandoned slow reply: %v, want Unknown (sent)", err)
	}
}

func TestHandlerAloneUsesRequestHostForCodeURL(t *testing.T) {
	sim := ottsim.New(ottsim.Options{MerchantID: merchant, SignKey: signKey})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	c, _ := gateway.New(gateway.Config{URL: srv.URL + "/processV2", MerchantID: merchant, SignKey: signKey,
		OperatorID: operator, CallbackURL: "http://x/cb", HTTPClient: srv.Client()})
	res, err := c.ActivePay(context.Background(), qr("H1", 100))
	if err != nil || res.CodeURL != srv.URL+"/_sim/pay/H1" {
		t.Fatalf("%+v %v", res, err)
	}
	sim2 := ottsim.New(ottsim.Options{MerchantID: merchant, SignKey: signKey, BaseURL: "http://192.0.2.7:7421/"})
	srv2 := httptest.NewServer(sim2.Handler())
	defer srv2.Close()
	c2, _ := gateway.New(gateway.Config{URL: srv2.URL + "/processV2", MerchantID: merchant, SignKey: signKey,
		OperatorID: operator, CallbackURL: "http://x/cb", HTTPClient: srv2.Client()})
	if res, err := c2.ActivePay(context.Background(), qr("H2", 100)); err != nil || res.CodeURL != "http://192.0.2.7:7421/_sim/pay/H2" {
		t.Fatalf("BaseURL: %+v %v", res, err)
	}
}

func TestPayPageUnknownOrder(t *testing.T) {
	r := newRig(t)
	resp, err := r.hc.Get(r.url + "/_sim/pay/NOPE")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(body), "Unknown order") ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("%d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	resp, err = r.hc.Get(r.url + "/_sim/pay/%3Cscript%3E")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(body), "<script>") {
		t.Fatalf("order id not escaped: %s", body)
	}
}

func TestOptionsFaultsInForceFromStart(t *testing.T) {
	r := newRig(t, func(o *ottsim.Options, _ *gateway.Config) { o.Faults = ottsim.Faults{ErrorRate: 1} })
	_, err := r.client.PassivePay(bg, pay("OF1", 100))
	gwErr(t, err, gateway.Unknown, "SYSTEM_ERROR")
	r.noOrder("OF1")
}

// lost_rate: the gateway acts, then the answer is lost: the order is
// charged while the client can only say the outcome is unknown.
func TestLostAnswerFaultActsFirst(t *testing.T) {
	r := newRig(t, func(o *ottsim.Options, _ *gateway.Config) { o.Faults = ottsim.Faults{LostRate: 1} })
	_, err := r.client.PassivePay(bg, pay("LA1", 100))
	if gateway.OutcomeOf(err) != gateway.Unknown || errors.Is(err, gateway.ErrNotSent) {
		t.Fatalf("lost answer: %v, want unknown after sending", err)
	}
	var charged int64
	for _, o := range r.sim.Ledger() {
		if o.OrderID == "LA1" {
			charged = o.Charged
		}
	}
	if charged != 100 {
		t.Fatalf("the order was not acted on before the answer was lost: charged %d", charged)
	}
}

// BenchmarkPassivePayLoopback is one scan payment through the client and
// the simulator over loopback HTTP (seal, send, verify, ledger, answer,
// verify).
func BenchmarkPassivePayLoopback(b *testing.B) {
	sim := ottsim.New(ottsim.Options{MerchantID: merchant, SignKey: signKey})
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx, l) }()
	defer func() { cancel(); <-done }()
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	c, _ := gateway.New(gateway.Config{URL: "http://" + l.Addr().String() + "/processV2", MerchantID: merchant,
		SignKey: signKey, OperatorID: operator, HTTPClient: hc})
	i := 0
	for b.Loop() {
		i++
		id := "B" + strconv.Itoa(i)
		if _, err := c.PassivePay(ctx, pay(id, 1000)); err != nil {
			b.Fatal(err)
		}
	}
}

// A payment code pays once, as the wallets do: the same code under another
// order id is refused (FAIL) and nothing more is charged; resending the
// same order is the gateway's duplicate check (ORDER_USED), not a charge.
func TestCodeIsSingleUse(t *testing.T) {
	r := newRig(t)
	code, err := r.sim.IssueCode("wechat")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.client.PassivePay(bg, gateway.PayRequest{OrderID: "SU1", Amount: 500, AuthCode: code, Wallet: gateway.WeChat}); err != nil {
		t.Fatalf("first use: %v", err)
	}
	_, err = r.client.PassivePay(bg, gateway.PayRequest{OrderID: "SU2", Amount: 500, AuthCode: code, Wallet: gateway.WeChat})
	gwErr(t, err, gateway.Failed, "FAIL")
	if !strings.Contains(err.Error(), "already used") {
		t.Fatalf("second use: %v", err)
	}
	_, err = r.client.PassivePay(bg, gateway.PayRequest{OrderID: "SU1", Amount: 500, AuthCode: code, Wallet: gateway.WeChat})
	gwErr(t, err, gateway.Unknown, "ORDER_USED")
	charged := 0
	for _, o := range r.sim.Ledger() {
		if o.AuthCode == code {
			charged++
			if o.Charged != 500 || o.OrderID != "SU1" {
				t.Fatalf("ledger %+v", o)
			}
		}
	}
	if charged != 1 {
		t.Fatalf("code on %d orders, want 1", charged)
	}
	if _, err := r.sim.IssueCode("visa"); err == nil {
		t.Fatal("IssueCode accepted an unknown wallet")
	}
}

// A code older than its validity (60 s, x 0.01 here) is refused.
func TestCodeExpires(t *testing.T) {
	r := newRig(t)
	code, _ := r.sim.IssueCode("alipay")
	r.clock.Advance(601 * time.Millisecond) // 60.1 s of simulated time
	_, err := r.client.PassivePay(bg, gateway.PayRequest{OrderID: "EX1", Amount: 500, AuthCode: code, Wallet: gateway.Alipay})
	gwErr(t, err, gateway.Failed, "FAIL")
	if !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired code: %v", err)
	}
	fresh, _ := r.sim.IssueCode("alipay")
	r.clock.Advance(500 * time.Millisecond)
	if _, err := r.client.PassivePay(bg, gateway.PayRequest{OrderID: "EX2", Amount: 500, AuthCode: fresh, Wallet: gateway.Alipay}); err != nil {
		t.Fatalf("a code inside its validity: %v", err)
	}
}
