package ottsim_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/internal/envelope"
	"github.com/posagent/posagent/gateway/ottsim"
)

// tamperProxy forwards to the rig's simulator and lets mutate rewrite the
// raw response body.
func (r *rig) tamperProxy(mutate func(body []byte) []byte) *gateway.Client {
	r.t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		resp, err := r.hc.Post(r.url+"/processV2", "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		w.Header().Set("Content-Type", "application/json")
		w.Write(mutate(out))
	}))
	r.t.Cleanup(srv.Close)
	return r.clientAt(srv.URL + "/processV2")
}

func (r *rig) clientAt(url string) *gateway.Client {
	r.t.Helper()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	r.t.Cleanup(hc.CloseIdleConnections)
	c, err := gateway.New(gateway.Config{URL: url, MerchantID: merchant, SignKey: signKey, OperatorID: operator,
		CallbackURL: "https://pos.example/callback", HTTPClient: hc})
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

func envelopeOf(t *testing.T, body []byte) envelope.ResponseEnvelope {
	t.Helper()
	env, err := envelope.ParseResponseEnvelope(body)
	if err != nil {
		t.Fatalf("proxy: %v: %s", err, body)
	}
	return env
}

func marshal(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestTamperedResponsesAreNotBelieved(t *testing.T) {
	r := newRig(t)
	// A genuine answer for another order, to replay.
	if _, err := r.client.PassivePay(bg, pay("OTHER", 9900)); err != nil {
		t.Fatal(err)
	}
	var replay []byte
	spy := r.tamperProxy(func(b []byte) []byte { replay = b; return b })
	if _, err := spy.Query(bg, "OTHER"); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name   string
		mutate func(t *testing.T, b []byte) []byte
	}{
		{"flipped data byte", func(t *testing.T, b []byte) []byte {
			env := envelopeOf(t, b)
			ct, _ := base64.StdEncoding.DecodeString(env.Data)
			ct[len(ct)/2] ^= 0x01
			env.Data = base64.StdEncoding.EncodeToString(ct)
			return marshal(env)
		}},
		{"flipped last block", func(t *testing.T, b []byte) []byte {
			env := envelopeOf(t, b)
			ct, _ := base64.StdEncoding.DecodeString(env.Data)
			ct[len(ct)-1] ^= 0x80
			env.Data = base64.StdEncoding.EncodeToString(ct)
			return marshal(env)
		}},
		{"changed md5", func(t *testing.T, b []byte) []byte {
			env := envelopeOf(t, b)
			env.MD5 = strings.Repeat("A", 32)
			return marshal(env)
		}},
		{"re-signed with another amount", func(t *testing.T, b []byte) []byte {
			env := envelopeOf(t, b)
			f, err := envelope.Open(env.Data, env.MD5, signKey)
			if err != nil {
				t.Fatal(err)
			}
			for i := range f {
				if f[i].Key == "total_amount" {
					f[i].Value = "1"
				}
			}
			env.Data, env.MD5, _ = envelope.Seal(f, signKey)
			return marshal(env)
		}},
		{"another order's genuine answer", func(t *testing.T, b []byte) []byte { return replay }},
		{"SUCCESS without data", func(t *testing.T, b []byte) []byte {
			env := envelopeOf(t, b)
			env.Data, env.MD5 = "", ""
			return marshal(env)
		}},
		{"another merchant", func(t *testing.T, b []byte) []byte {
			env := envelopeOf(t, b)
			env.MerchantID = "QC00005496"
			return marshal(env)
		}},
		{"rsp_code turned FAIL over paid data", func(t *testing.T, b []byte) []byte {
			env := envelopeOf(t, b)
			env.RspCode = "FAIL"
			return marshal(env)
		}},
		{"not JSON", func(t *testing.T, b []byte) []byte { return []byte("<html>bad gateway</html>") }},
		{"data not base64", func(t *testing.T, b []byte) []byte {
			env := envelopeOf(t, b)
			env.Data = "!!!" + env.Data
			return marshal(env)
		}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := r.tamperProxy(func(b []byte) []byte { return tc.mutate(t, b) })
			id := "T" + string(rune('A'+i))
			res, err := c.PassivePay(bg, pay(id, 1500))
			gwErr(t, err, gateway.Unknown, codeOf(err))
			if !errors.Is(err, gateway.ErrUnverified) || errors.Is(err, gateway.ErrNotSent) || res != nil {
				t.Fatalf("err %v (res %+v): want ErrUnverified, no result", err, res)
			}
			// The simulator did charge: only a query may settle it.
			if o := r.order(id); o.Charged != 1500 {
				t.Fatalf("ledger %+v", o)
			}
			if q, err := r.client.Query(bg, id); err != nil || q.OrderStatus != "success" {
				t.Fatalf("query through the honest path: %+v %v", q, err)
			}
		})
	}
}

// codeOf returns the code of a *gateway.Error (to assert the outcome only).
func codeOf(err error) string {
	var e *gateway.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// A refusal whose data cannot be read is not believed: rsp_code is not
// covered by the digest, so the outcome is unknown and only a query settles it.
func TestRefusalWithUndecryptableDataIsUnknown(t *testing.T) {
	r := newRig(t)
	c := r.tamperProxy(func(b []byte) []byte {
		env := envelopeOf(t, b)
		if env.RspCode == "FAIL" {
			env.Data, env.MD5 = "bm90IGNpcGhlcnRleHQ=", strings.Repeat("0", 32)
		}
		return marshal(env)
	})
	res, err := c.PassivePay(bg, pay("UD01", 1101))
	gwErr(t, err, gateway.Unknown, "FAIL")
	if !errors.Is(err, gateway.ErrUnverified) || res != nil {
		t.Fatalf("err %v res %+v: want ErrUnverified and no result", err, res)
	}
	if o := r.order("UD01"); o.Charged != 0 {
		t.Fatalf("ledger %+v", o)
	}
	if q, err := r.client.QueryOrder(bg, "UD01", 1101, 0); gateway.OutcomeOf(err) != gateway.Failed && (q == nil || q.OrderStatus != "failure") {
		t.Fatalf("query through the honest path: %+v %v", q, err)
	}
}

func TestHTTPErrorStatusIsUnknown(t *testing.T) {
	r := newRig(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		http.Error(w, "upstream down", http.StatusBadGateway)
	}))
	defer srv.Close()
	_, err := r.clientAt(srv.URL).PassivePay(bg, pay("H502", 100))
	gwErr(t, err, gateway.Unknown, "")
	if errors.Is(err, gateway.ErrNotSent) || !strings.Contains(err.Error(), "502") {
		t.Fatalf("err %v", err)
	}
}

func TestConnectionRefusedIsNotSent(t *testing.T) {
	r := newRig(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := r.clientAt("http://" + addr + "/processV2")
	for _, call := range []func() error{
		func() error { _, err := c.PassivePay(bg, pay("NS1", 100)); return err },
		func() error { _, err := c.ActivePay(bg, qr("NS2", 100)); return err },
		func() error { _, err := c.Query(bg, "NS1"); return err },
		func() error {
			_, err := c.Refund(bg, gateway.RefundRequest{OrderID: "NS3", OriginalOrderID: "NS1", Amount: 1})
			return err
		},
	} {
		err := call()
		gwErr(t, err, gateway.Unknown, "")
		if !errors.Is(err, gateway.ErrNotSent) || !strings.Contains(err.Error(), "refused") {
			t.Fatalf("err %v: want ErrNotSent (connection refused)", err)
		}
	}
}

func TestDialFailureIsNotSent(t *testing.T) {
	dnsErr := &net.DNSError{Err: "no such host", Name: "frontapi.ottpay.invalid", IsNotFound: true}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(context.Context, string, string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: dnsErr}
	}}}
	c, err := gateway.New(gateway.Config{URL: "https://frontapi.ottpay.invalid/processV2", MerchantID: merchant,
		SignKey: signKey, OperatorID: operator, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PassivePay(bg, pay("DNS1", 100))
	gwErr(t, err, gateway.Unknown, "")
	var de *net.DNSError
	if !errors.Is(err, gateway.ErrNotSent) || !errors.As(err, &de) {
		t.Fatalf("err %v: want ErrNotSent wrapping the DNS error", err)
	}
}

func TestDowntimeRefusesThenRecovers(t *testing.T) {
	r := newRig(t)
	var v struct {
		ottsim.Faults
		DownUntil *time.Time `json:"down_until"`
	}
	// 100 s of simulated downtime = 1 s at TimeScale 0.01.
	if code := r.postJSON("/_sim/faults", ottsim.Faults{DownForMS: 100000}, &v); code != 200 || v.DownUntil == nil {
		t.Fatalf("POST /_sim/faults: %d %+v", code, v)
	}
	// The listener closes just after the answer above: wait for it, and
	// drop the client's idle keep-alive connection to the old server.
	host := strings.TrimPrefix(r.url, "http://")
	for range 200 {
		c, err := net.Dial("tcp", host)
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(2 * time.Millisecond)
	}
	r.hc.CloseIdleConnections()
	_, err := r.client.PassivePay(bg, pay("DOWN1", 1000))
	gwErr(t, err, gateway.Unknown, "")
	if !errors.Is(err, gateway.ErrNotSent) {
		t.Fatalf("during downtime: %v, want ErrNotSent", err)
	}
	r.noOrder("DOWN1")
	// The same order id is safe to resend once the simulator is back.
	var res *gateway.Result
	for range 500 {
		res, err = r.client.PassivePay(bg, pay("DOWN1", 1000))
		if !errors.Is(err, gateway.ErrNotSent) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil || res.OrderStatus != "success" {
		t.Fatalf("after downtime: %+v %v", res, err)
	}
	if o := r.order("DOWN1"); o.Charged != 1000 {
		t.Fatalf("ledger %+v", o)
	}
}

func TestFaultErrorRateActsOnNothing(t *testing.T) {
	r := newRig(t)
	r.sim.SetFaults(ottsim.Faults{ErrorRate: 1})
	_, err := r.client.PassivePay(bg, pay("FE1", 1000))
	gwErr(t, err, gateway.Unknown, "SYSTEM_ERROR")
	r.noOrder("FE1")
	_, err = r.client.Refund(bg, gateway.RefundRequest{OrderID: "FE2", OriginalOrderID: "FE1", Amount: 1})
	gwErr(t, err, gateway.Unknown, "SYSTEM_ERROR") // not FAIL: the gateway never looked
	r.sim.SetFaults(ottsim.Faults{})
	if _, err := r.client.PassivePay(bg, pay("FE1", 1000)); err != nil {
		t.Fatalf("after clearing faults: %v", err)
	}
}

func TestFaultDropRateActsOnNothing(t *testing.T) {
	r := newRig(t)
	r.sim.SetFaults(ottsim.Faults{DropRate: 1})
	_, err := r.client.PassivePay(bg, pay("FD1", 1000))
	gwErr(t, err, gateway.Unknown, "")
	if errors.Is(err, gateway.ErrNotSent) {
		t.Fatalf("a drop after sending is not NotSent: %v", err)
	}
	r.noOrder("FD1")
}

func TestFaultRatesAreStatistical(t *testing.T) {
	r := newRig(t)
	r.sim.SetFaults(ottsim.Faults{ErrorRate: 0.5})
	var failed int
	for i := range 40 {
		id := "FR" + string(rune('A'+i/26)) + string(rune('A'+i%26))
		if _, err := r.client.PassivePay(bg, pay(id, 1000)); err != nil {
			failed++
			r.noOrder(id)
		} else if r.order(id).Charged != 1000 {
			t.Fatalf("ledger %+v", r.order(id))
		}
	}
	if failed == 0 || failed == 40 {
		t.Fatalf("error_rate 0.5 failed %d of 40", failed)
	}
}

func TestFaultLatency(t *testing.T) {
	// latency_ms 100000 x 0.01 = 1 s, past a 50 ms client timeout.
	r := newRig(t, withClientTimeout(50*time.Millisecond))
	if code := r.postJSON("/_sim/faults", ottsim.Faults{LatencyMS: 100000}, nil); code != 200 {
		t.Fatalf("POST /_sim/faults: %d", code)
	}
	var f ottsim.Faults
	if r.getJSON("/_sim/faults", &f); f.LatencyMS != 100000 {
		t.Fatalf("GET /_sim/faults: %+v", f)
	}
	_, err := r.client.Query(bg, "ANY")
	gwErr(t, err, gateway.Unknown, "")
	if errors.Is(err, gateway.ErrNotSent) {
		t.Fatal(err)
	}
}

func TestFaultsEndpointRejectsBadInput(t *testing.T) {
	r := newRig(t)
	for _, body := range []any{
		map[string]any{"error_rate": 1.5},
		map[string]any{"drop_rate": -0.1},
		map[string]any{"latency_ms": -1},
		map[string]any{"latncy_ms": 5},
		"not an object",
	} {
		var out struct{ Error string }
		if code := r.postJSON("/_sim/faults", body, &out); code != 400 || out.Error == "" {
			t.Errorf("%v: %d %+v, want 400 with a message", body, code, out)
		}
	}
	if f := r.sim.Faults(); f != (ottsim.Faults{}) {
		t.Fatalf("bad input changed the faults: %+v", f)
	}
}

func TestDowntimeNeedsRun(t *testing.T) {
	sim := ottsim.New(ottsim.Options{MerchantID: merchant, SignKey: signKey})
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/_sim/faults", "application/json", strings.NewReader(`{"down_for_ms":100}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("down_for_ms without Run: %d, want 409", resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
}

// rawPost sends a processV2 body as is and returns the envelope.
func rawPost(t *testing.T, url string, body string) envelope.ResponseEnvelope {
	t.Helper()
	resp, err := http.Post(url+"/processV2", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return envelopeOf(t, raw)
}

func sealed(t *testing.T, action, merchantID string, f envelope.Fields, key string) envelope.RequestEnvelope {
	t.Helper()
	data, digest, err := envelope.Seal(f, key)
	if err != nil {
		t.Fatal(err)
	}
	return envelope.RequestEnvelope{Action: action, Version: "1.0", MerchantID: merchantID, Data: data, MD5: digest}
}

func TestSimRefusesBadRequests(t *testing.T) {
	sim := ottsim.New(ottsim.Options{MerchantID: merchant, SignKey: signKey})
	srv := httptest.NewServer(sim.Handler())
	defer func() { srv.Close(); http.DefaultClient.CloseIdleConnections() }()
	good := envelope.Fields{{Key: "order_id", Value: "B1"}, {Key: "operator_id", Value: operator},
		{Key: "amount", Value: "100"}, {Key: "auth_code", Value: wechat}, {Key: "biz_type", Value: "WECHATPAY"}}
	without := func(key string) envelope.Fields {
		var f envelope.Fields
		for _, kv := range good {
			if kv.Key != key {
				f = append(f, kv)
			}
		}
		return f
	}
	with := func(key, v string) envelope.Fields {
		f := append(envelope.Fields{}, good...)
		for i := range f {
			if f[i].Key == key {
				f[i].Value = v
			}
		}
		return f
	}
	badDigest := sealed(t, "PASSIVEPAY", merchant, good, signKey)
	badDigest.MD5 = envelope.Digest(with("amount", "1"))
	wrongKey := sealed(t, "PASSIVEPAY", merchant, good, "0000000000000000")
	badB64 := sealed(t, "PASSIVEPAY", merchant, good, signKey)
	badB64.Data = "%%%"
	shortCT := sealed(t, "PASSIVEPAY", merchant, good, signKey)
	shortCT.Data = base64.StdEncoding.EncodeToString([]byte("12345"))
	noVersion := sealed(t, "PASSIVEPAY", merchant, good, signKey)
	noVersion.Version = ""
	v2 := sealed(t, "PASSIVEPAY", merchant, good, signKey)
	v2.Version = "2.0"

	cases := []struct {
		name, body, code, msg string
	}{
		{"bad digest", string(marshal(badDigest)), "FAIL", "signature"},
		{"wrong sign key", string(marshal(wrongKey)), "FAIL", "signature"},
		{"unknown merchant", string(marshal(sealed(t, "PASSIVEPAY", "QC00005496", good, signKey))), "PARAM_INVALID", "merchant_id"},
		{"not JSON", "amount=100", "PARAM_ERROR", "JSON"},
		{"empty body", "", "PARAM_ERROR", "JSON"},
		{"no version", string(marshal(noVersion)), "PARAM_ERROR", "version"},
		{"version 2.0", string(marshal(v2)), "PARAM_INVALID", "version"},
		{"no md5", `{"action":"PASSIVEPAY","version":"1.0","merchant_id":"ON00004652","data":"abc"}`, "PARAM_ERROR", "md5"},
		{"data not base64", string(marshal(badB64)), "PARAM_ERROR", "malformed"},
		{"data not whole blocks", string(marshal(shortCT)), "PARAM_ERROR", "malformed"},
		{"unknown action", string(marshal(sealed(t, "CANCEL", merchant, good, signKey))), "PARAM_INVALID", "action"},
		{"missing auth_code", string(marshal(sealed(t, "PASSIVEPAY", merchant, without("auth_code"), signKey))), "PARAM_ERROR", "auth_code"},
		{"missing operator_id", string(marshal(sealed(t, "PASSIVEPAY", merchant, without("operator_id"), signKey))), "PARAM_ERROR", "operator_id"},
		{"missing amount", string(marshal(sealed(t, "PASSIVEPAY", merchant, without("amount"), signKey))), "PARAM_ERROR", "amount"},
		{"amount not cents", string(marshal(sealed(t, "PASSIVEPAY", merchant, with("amount", "12.50"), signKey))), "PARAM_INVALID", "amount"},
		{"zero amount", string(marshal(sealed(t, "PASSIVEPAY", merchant, with("amount", "0"), signKey))), "PARAM_INVALID", "amount"},
		{"bad biz_type", string(marshal(sealed(t, "PASSIVEPAY", merchant, with("biz_type", "PAYPAL"), signKey))), "PARAM_INVALID", "biz_type"},
		{"long order_id", string(marshal(sealed(t, "PASSIVEPAY", merchant, with("order_id", strings.Repeat("9", 21)), signKey))), "PARAM_INVALID", "order_id"},
		{"auth_code not a code", string(marshal(sealed(t, "PASSIVEPAY", merchant, with("auth_code", "ABC"), signKey))), "PARAM_INVALID", "auth_code"},
		{"qr without call_back_url", string(marshal(sealed(t, "ACTIVEPAY", merchant, without("auth_code"), signKey))), "PARAM_ERROR", "call_back_url"},
		{"refund without refund_amt", string(marshal(sealed(t, "REFUND", merchant,
			envelope.Fields{{Key: "ori_order_id", Value: "B1"}}, signKey))), "PARAM_ERROR", "refund_amt"},
		{"query without order_id", string(marshal(sealed(t, "STATUS_QUERY", merchant, envelope.Fields{{Key: "x", Value: "y"}}, signKey))), "PARAM_ERROR", "order_id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := rawPost(t, srv.URL, tc.body)
			if env.RspCode != tc.code || !strings.Contains(env.RspMsg, tc.msg) {
				t.Fatalf("got %s %q, want %s mentioning %q", env.RspCode, env.RspMsg, tc.code, tc.msg)
			}
			if env.Data != "" {
				t.Fatalf("a refusal carries no data: %+v", env)
			}
		})
	}
	if n := len(sim.Ledger()); n != 0 {
		t.Fatalf("refused requests made %d orders: %+v", n, sim.Ledger())
	}
	// The same request, well formed, is accepted.
	if env := rawPost(t, srv.URL, string(marshal(sealed(t, "PASSIVEPAY", merchant, good, signKey)))); env.RspCode != "SUCCESS" {
		t.Fatalf("good request: %+v", env)
	}
}

func TestClientWithWrongSignKeyIsRefused(t *testing.T) {
	r := newRig(t)
	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	c, err := gateway.New(gateway.Config{URL: r.url + "/processV2", MerchantID: merchant, SignKey: "0000000000000000",
		OperatorID: operator, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PassivePay(bg, pay("WK1", 100))
	gwErr(t, err, gateway.Failed, "FAIL")
	_, err = c.ExchangeRate(bg, "CAD")
	gwErr(t, err, gateway.Failed, "FAIL")
	r.noOrder("WK1")
}

func TestConcurrentPaymentsAndRefunds(t *testing.T) {
	r := newRig(t)
	if _, err := r.client.PassivePay(bg, pay("CC0", 10000)); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	refunded := 0
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := "CR" + string(rune('A'+i))
			// 20 refunds of 700 against 10000: at most 14 can succeed.
			_, err := r.client.Refund(bg, gateway.RefundRequest{OrderID: id, OriginalOrderID: "CC0", Amount: 700})
			if err == nil {
				mu.Lock()
				refunded += 700
				mu.Unlock()
			} else if gateway.OutcomeOf(err) != gateway.Failed {
				t.Errorf("refund %s: %v", id, err)
			}
		}()
	}
	wg.Wait()
	o := r.order("CC0")
	if refunded != 9800 || o.Refunded != 9800 || len(o.Refunds) != 14 || o.Status != "partial_refunded" {
		t.Fatalf("client saw %d refunded; ledger %+v", refunded, o)
	}
}

// resign decrypts an answer, lets edit change its fields, and signs it
// again with the right key: a well-formed answer that says the wrong thing.
func resign(t *testing.T, edit func(envelope.Fields) envelope.Fields) func([]byte) []byte {
	return func(b []byte) []byte {
		env := envelopeOf(t, b)
		if env.Data == "" {
			return b
		}
		f, err := envelope.Open(env.Data, env.MD5, signKey)
		if err != nil {
			t.Fatal(err)
		}
		env.Data, env.MD5, _ = envelope.Seal(edit(f), signKey)
		return marshal(env)
	}
}

func set(key, v string) func(envelope.Fields) envelope.Fields {
	return func(f envelope.Fields) envelope.Fields {
		for i := range f {
			if f[i].Key == key {
				f[i].Value = v
				return f
			}
		}
		return append(f, envelope.Field{Key: key, Value: v})
	}
}

func drop(key string) func(envelope.Fields) envelope.Fields {
	return func(f envelope.Fields) envelope.Fields {
		var out envelope.Fields
		for _, kv := range f {
			if kv.Key != key {
				out = append(out, kv)
			}
		}
		return out
	}
}

// TestVerifiedAnswersMustMatchTheRequest: correctly signed answers about
// something else are not believed, for every action.
func TestVerifiedAnswersMustMatchTheRequest(t *testing.T) {
	r := newRig(t)
	if _, err := r.client.PassivePay(bg, pay("V0", 9000)); err != nil {
		t.Fatal(err)
	}
	n := 0
	refund := func(c *gateway.Client) error {
		n++
		_, err := c.Refund(bg, gateway.RefundRequest{OrderID: "VR" + strconv.Itoa(n), OriginalOrderID: "V0", Amount: 100})
		return err
	}
	cases := []struct {
		name string
		edit func(envelope.Fields) envelope.Fields
		call func(c *gateway.Client) error
	}{
		{"refund amount", set("refund_amt", "99"), refund},
		{"refund of another order", set("ori_order_id", "V9"), refund},
		{"refund id", set("order_id", "VRX"), refund},
		{"query of another order", set("order_id", "V9"), func(c *gateway.Client) error { _, err := c.Query(bg, "V0"); return err }},
		{"query without order_id", drop("order_id"), func(c *gateway.Client) error { _, err := c.Query(bg, "V0"); return err }},
		{"query amount not a number", set("amount", "90.00"), func(c *gateway.Client) error { _, err := c.Query(bg, "V0"); return err }},
		{"qr amount", set("amount", "1"), func(c *gateway.Client) error {
			n++
			_, err := c.ActivePay(bg, qr("VQ"+strconv.Itoa(n), 500))
			return err
		}},
		{"qr without code_url", drop("code_url"), func(c *gateway.Client) error {
			n++
			_, err := c.ActivePay(bg, qr("VQ"+strconv.Itoa(n), 500))
			return err
		}},
		{"qr for another merchant", set("merchant_id", "QC00005496"), func(c *gateway.Client) error {
			n++
			_, err := c.ActivePay(bg, qr("VQ"+strconv.Itoa(n), 500))
			return err
		}},
		{"rate of another currency", set("fee_type", "USD"), func(c *gateway.Client) error { _, err := c.ExchangeRate(bg, "CAD"); return err }},
		{"rate not an integer", set("rate", "5.15"), func(c *gateway.Client) error { _, err := c.ExchangeRate(bg, "CAD"); return err }},
		{"no rate", drop("rate"), func(c *gateway.Client) error { _, err := c.ExchangeRate(bg, "CAD"); return err }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(r.tamperProxy(resign(t, tc.edit)))
			if !errors.Is(err, gateway.ErrUnverified) || gateway.OutcomeOf(err) != gateway.Unknown {
				t.Fatalf("err %v, want ErrUnverified (Unknown)", err)
			}
		})
	}
	// The refunds the simulator did make are in its ledger, though the
	// client did not believe the answers.
	if o := r.order("V0"); o.Refunded != 300 || len(o.Refunds) != 3 {
		t.Fatalf("ledger %+v", o)
	}
}

// A STATUS_QUERY answer whose amount is not the order's (re-signed by a
// proxy that knows the key, or another order's answer) is not believed:
// QueryOrder checks it like every other answer.
func TestQueryAnswerWithAnotherAmountIsNotBelieved(t *testing.T) {
	r := newRig(t)
	if _, err := r.client.PassivePay(bg, pay("QA1", 1500)); err != nil {
		t.Fatal(err)
	}
	c := r.tamperProxy(func(b []byte) []byte {
		env := envelopeOf(t, b)
		f, err := envelope.Open(env.Data, env.MD5, signKey)
		if err != nil {
			t.Fatal(err)
		}
		for i := range f {
			if f[i].Key == "total_amount" || f[i].Key == "amount" {
				f[i].Value = "1"
			}
		}
		env.Data, env.MD5, _ = envelope.Seal(f, signKey)
		return marshal(env)
	})
	res, err := c.QueryOrder(bg, "QA1", 1500, 0)
	gwErr(t, err, gateway.Unknown, codeOf(err))
	if !errors.Is(err, gateway.ErrUnverified) || res != nil {
		t.Fatalf("err %v res %+v: want ErrUnverified and no result", err, res)
	}
	if q, err := r.client.QueryOrder(bg, "QA1", 1500, 0); err != nil || q.Amount != 1500 {
		t.Fatalf("honest query: %+v %v", q, err)
	}
}
