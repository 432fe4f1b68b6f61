package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/internal/envelope"
	"github.com/posagent/posagent/gateway/ottsim"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	merchant = "ON00004652"
	signKey  = "6698851A525C9433"
	operator = "0000000696"
	code     = "134567890123456789"
)

var bg = context.Background()

func TestClassify(t *testing.T) {
	P, F, U := gateway.Paid, gateway.Failed, gateway.Unknown
	cases := []struct {
		action, code, status string
		want                 gateway.Outcome
	}{
		{"PASSIVEPAY", "SUCCESS", "success", P},
		{"PASSIVEPAY", "SUCCESS", "", P},
		{"PASSIVEPAY", "SUCCESS", "partial_refunded", P},
		{"PASSIVEPAY", "SUCCESS", "fully_refunded", P},
		{"PASSIVEPAY", "SUCCESS", "notpay", U},
		{"PASSIVEPAY", "SUCCESS", "init", U},
		{"PASSIVEPAY", "SUCCESS", "canceling", U},
		{"PASSIVEPAY", "SUCCESS", "failure", F},
		{"PASSIVEPAY", "SUCCESS", "orderclosed", F},
		{"PASSIVEPAY", "SUCCESS", "something_new", U},
		{"PASSIVEPAY", "FAIL", "", F},
		{"PASSIVEPAY", "PWD_INCORRECT", "", F},
		{"PASSIVEPAY", "PARAM_INVALID", "", F},
		{"PASSIVEPAY", "PARAM_ERROR", "", F},
		{"PASSIVEPAY", "ORDER_TYPE_ERROR", "", F},
		{"PASSIVEPAY", "PROCESSING", "", U},
		{"PASSIVEPAY", "PROCESSING", "success", U},
		{"PASSIVEPAY", "TIMEOUT", "", U},
		{"PASSIVEPAY", "SYSTEM_ERROR", "", U},
		{"PASSIVEPAY", "DB_ERROR", "", U},
		{"PASSIVEPAY", "ORDER_PAID", "", U},
		{"PASSIVEPAY", "ORDER_USED", "", U},
		{"PASSIVEPAY", "", "", U},
		{"PASSIVEPAY", "success", "success", U}, // codes are case-sensitive
		{"PASSIVEPAY", "BRAND_NEW_CODE", "", U},
		{"STATUS_QUERY", "SUCCESS", "success", P},
		{"STATUS_QUERY", "SUCCESS", "partial_refunded", P},
		{"STATUS_QUERY", "SUCCESS", "fully_refunded", P},
		{"STATUS_QUERY", "SUCCESS", "failure", F},
		{"STATUS_QUERY", "SUCCESS", "orderclosed", F},
		{"STATUS_QUERY", "SUCCESS", "notpay", U},
		{"STATUS_QUERY", "SUCCESS", "init", U},
		{"STATUS_QUERY", "SUCCESS", "canceling", U},
		{"STATUS_QUERY", "SUCCESS", "", U},
		{"STATUS_QUERY", "FAIL", "", U},
		{"STATUS_QUERY", "PARAM_ERROR", "", U},
		{"STATUS_QUERY", "SYSTEM_ERROR", "", U},
		{"ACTIVEPAY", "SUCCESS", "", P},
		{"ACTIVEPAY", "FAIL", "", F},
		{"ACTIVEPAY", "ORDER_TYPE_ERROR", "", F},
		{"ACTIVEPAY", "ORDER_USED", "", U},
		{"ACTIVEPAY", "SYSTEM_ERROR", "", U},
		{"REFUND", "SUCCESS", "", P},
		{"REFUND", "FAIL", "", F},
		{"REFUND", "ORDER_USED", "", U},
		{"REFUND", "PROCESSING", "", U},
		{"EX_RATE_QUERY", "SUCCESS", "", P},
		{"EX_RATE_QUERY", "PARAM_INVALID", "", F},
		{"NEW_ACTION", "SUCCESS", "success", U},
	}
	for _, tc := range cases {
		if got := gateway.Classify(tc.action, tc.code, tc.status); got != tc.want {
			t.Errorf("Classify(%s, %q, %q) = %v, want %v", tc.action, tc.code, tc.status, got, tc.want)
		}
	}
}

func TestOutcomeOf(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want gateway.Outcome
	}{
		{nil, gateway.Paid},
		{&gateway.Error{Outcome: gateway.Failed}, gateway.Failed},
		{fmt.Errorf("agent: pay: %w", &gateway.Error{Outcome: gateway.Failed}), gateway.Failed},
		{&gateway.Error{Outcome: gateway.Unknown}, gateway.Unknown},
		{errors.New("something else"), gateway.Unknown},
		{context.Canceled, gateway.Unknown},
	} {
		if got := gateway.OutcomeOf(tc.err); got != tc.want {
			t.Errorf("OutcomeOf(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestQueryOutcome: a query that never left says nothing about the order,
// even when the client called its own failure final.
func TestQueryOutcome(t *testing.T) {
	notSent := &gateway.Error{Outcome: gateway.Failed, Err: fmt.Errorf("%w: dial: refused", gateway.ErrNotSent)}
	for _, tc := range []struct {
		err  error
		want gateway.Outcome
	}{
		{nil, gateway.Paid},
		{notSent, gateway.Unknown},
		{fmt.Errorf("agent: query: %w", notSent), gateway.Unknown},
		{&gateway.Error{Outcome: gateway.Failed}, gateway.Failed},
		{&gateway.Error{Outcome: gateway.Unknown}, gateway.Unknown},
	} {
		if got := gateway.QueryOutcome(tc.err); got != tc.want {
			t.Errorf("QueryOutcome(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := gateway.Config{URL: "https://frontapi.ottpay.com:443/processV2", MerchantID: merchant, SignKey: signKey, OperatorID: operator}
	if _, err := gateway.New(good); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, tc := range []struct {
		mut  func(*gateway.Config)
		want string
	}{
		{func(c *gateway.Config) { c.URL = "" }, "URL is empty"},
		{func(c *gateway.Config) { c.URL = "frontapi.ottpay.com/processV2" }, "not an http(s) URL"},
		{func(c *gateway.Config) { c.URL = "ftp://x/processV2" }, "not an http(s) URL"},
		{func(c *gateway.Config) { c.MerchantID = "" }, "merchant id"},
		{func(c *gateway.Config) { c.SignKey = "" }, "sign key"},
		{func(c *gateway.Config) { c.OperatorID = "" }, "operator id"},
	} {
		c := good
		tc.mut(&c)
		_, err := gateway.New(c)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "gateway: ") {
			t.Errorf("%+v: err %v, want one mentioning %q", c, err, tc.want)
		}
	}
}

func TestDefaultHTTPClient(t *testing.T) {
	hc := gateway.DefaultHTTPClient()
	if hc.Timeout != 20*time.Second {
		t.Errorf("timeout %v, want 20s", hc.Timeout)
	}
	tr := hc.Transport.(*http.Transport)
	if tr.TLSClientConfig == nil || tr.TLSClientConfig.InsecureSkipVerify {
		t.Errorf("TLS verification must be on: %+v", tr.TLSClientConfig)
	}
}

// TestTLSVerification: the default client refuses a certificate it cannot
// verify, and nothing was sent.
func TestTLSVerification(t *testing.T) {
	var hits int
	var mu sync.Mutex
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
	}))
	srv.Config.ErrorLog = slog.NewLogLogger(slog.DiscardHandler, slog.LevelError)
	defer srv.Close()
	c, err := gateway.New(gateway.Config{URL: srv.URL + "/processV2", MerchantID: merchant, SignKey: signKey, OperatorID: operator})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.PassivePay(bg, gateway.PayRequest{OrderID: "TLS1", Amount: 100, AuthCode: code, Wallet: gateway.WeChat})
	if !errors.Is(err, gateway.ErrNotSent) || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("err %v: want ErrNotSent from certificate verification", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 0 {
		t.Fatalf("the handler ran %d times", hits)
	}
}

// TestLocalRefusalsSendNothing: requests that cannot be right are Failed
// and NotSent, and no byte leaves the process.
func TestLocalRefusalsSendNothing(t *testing.T) {
	var hits int
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
	}))
	defer srv.Close()
	c, err := gateway.New(gateway.Config{URL: srv.URL, MerchantID: merchant, SignKey: signKey, OperatorID: operator,
		HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"unknown wallet": func() error {
			_, err := c.PassivePay(bg, gateway.PayRequest{OrderID: "A1", Amount: 1, AuthCode: code, Wallet: "paypal"})
			return err
		},
		"zero amount": func() error {
			_, err := c.PassivePay(bg, gateway.PayRequest{OrderID: "A1", Amount: 0, AuthCode: code, Wallet: gateway.WeChat})
			return err
		},
		"negative amount": func() error {
			_, err := c.ActivePay(bg, gateway.QRRequest{OrderID: "A1", Amount: -5, Wallet: gateway.WeChat})
			return err
		},
		"no auth code": func() error {
			_, err := c.PassivePay(bg, gateway.PayRequest{OrderID: "A1", Amount: 1, Wallet: gateway.WeChat})
			return err
		},
		"order id too long": func() error {
			_, err := c.Query(bg, strings.Repeat("1", 21))
			return err
		},
		"order id with a dash": func() error { _, err := c.Query(bg, "A-1"); return err },
		"empty order id":       func() error { _, err := c.Query(bg, ""); return err },
		"refund without original": func() error {
			_, err := c.Refund(bg, gateway.RefundRequest{OrderID: "R1", Amount: 1})
			return err
		},
		"no currency": func() error { _, err := c.ExchangeRate(bg, ""); return err },
	}
	for name, call := range calls {
		err := call()
		var ge *gateway.Error
		if !errors.As(err, &ge) || ge.Outcome != gateway.Failed || !errors.Is(err, gateway.ErrNotSent) {
			t.Errorf("%s: err %v, want a Failed, NotSent *gateway.Error", name, err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if hits != 0 {
		t.Fatalf("%d requests reached the server", hits)
	}
}

// TestRequestGolden pins the exact bytes the client sends for each action.
func TestRequestGolden(t *testing.T) {
	var mu sync.Mutex
	var last []byte
	var hdr http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		last, hdr = b, r.Header.Clone()
		mu.Unlock()
		w.Write([]byte(`{"rsp_code":"SYSTEM_ERROR"}`))
	}))
	defer srv.Close()
	c, err := gateway.New(gateway.Config{URL: srv.URL + "/processV2", MerchantID: merchant, SignKey: signKey,
		OperatorID: operator, TerminalNo: "LANE1", CallbackURL: "https://pos.example/cb", HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name string
		call func()
	}{
		{"passivepay", func() {
			c.PassivePay(bg, gateway.PayRequest{OrderID: "P20261125ABC", Amount: 1250, AuthCode: code, Wallet: gateway.WeChat})
		}},
		{"activepay", func() {
			c.ActivePay(bg, gateway.QRRequest{OrderID: "Q20261125ABC", Amount: 999, Wallet: gateway.Alipay})
		}},
		{"status_query", func() { c.Query(bg, "P20261125ABC") }},
		{"refund", func() {
			c.Refund(bg, gateway.RefundRequest{OrderID: "R20261125ABC", OriginalOrderID: "P20261125ABC", Amount: 250})
		}},
		{"ex_rate_query", func() { c.ExchangeRate(bg, "CAD") }},
	}
	for _, tc := range calls {
		t.Run(tc.name, func(t *testing.T) {
			tc.call()
			mu.Lock()
			got, h := append([]byte(nil), last...), hdr
			mu.Unlock()
			if h.Get("Content-Type") != "application/json" || h.Get("Accept") != "application/json" {
				t.Errorf("headers %v", h)
			}
			env := envelope.RequestEnvelope{}
			if err := json.Unmarshal(got, &env); err != nil || env.Version != "1.0" || env.MerchantID != merchant ||
				env.OperatorID != operator || env.TerminalNo != "LANE1" {
				t.Errorf("envelope %+v %v", env, err)
			}
			f, err := envelope.Open(env.Data, env.MD5, signKey)
			if err != nil {
				t.Fatalf("the simulator side cannot open it: %v", err)
			}
			for _, kv := range f {
				if kv.Value == "" {
					t.Errorf("field %s sent empty: optional fields are left out", kv.Key)
				}
			}
			// Golden: the envelope, then the decrypted data for humans.
			out := append(got, '\n')
			out = append(out, envelope.MarshalFields(f)...)
			out = append(out, '\n')
			path := filepath.Join("testdata", "request_"+tc.name+".golden")
			if *update {
				if err := os.WriteFile(path, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update once)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("request differs from %s:\n got %s\nwant %s", path, out, want)
			}
		})
	}
}

// TestSecretsNeverAppear formats every kind of error the client produces
// and everything it logs, and looks for the sign key and every AES key
// that protected a message.
func TestSecretsNeverAppear(t *testing.T) {
	var logs bytes.Buffer
	var lmu sync.Mutex
	log := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		lmu.Lock()
		defer lmu.Unlock()
		return logs.Write(p)
	}), &slog.HandlerOptions{Level: slog.LevelDebug}))

	sim := ottsim.New(ottsim.Options{MerchantID: merchant, SignKey: signKey, TimeScale: 0.001, Logger: log})
	var kmu sync.Mutex
	var digests []string
	record := func(b []byte) {
		if env, err := envelope.ParseResponseEnvelope(b); err == nil && env.MD5 != "" {
			kmu.Lock()
			digests = append(digests, env.MD5)
			kmu.Unlock()
		}
		var req envelope.RequestEnvelope
		if json.Unmarshal(b, &req) == nil && req.MD5 != "" {
			kmu.Lock()
			digests = append(digests, req.MD5)
			kmu.Unlock()
		}
	}
	var tamper func([]byte) []byte
	simSrv := httptest.NewServer(sim.Handler())
	defer simSrv.Close()
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		record(body)
		resp, err := simSrv.Client().Post(simSrv.URL+"/processV2", "application/json", bytes.NewReader(body))
		if err != nil {
			panic(http.ErrAbortHandler)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		record(out)
		if tamper != nil {
			out = tamper(out)
		}
		w.Write(out)
	}))
	defer proxy.Close()
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	c, err := gateway.New(gateway.Config{URL: proxy.URL + "/processV2", MerchantID: merchant, SignKey: signKey,
		OperatorID: operator, CallbackURL: "https://pos.example/cb", HTTPClient: hc, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	add := func(_ *gateway.Result, err error) {
		if err == nil {
			return
		}
		errs = append(errs, err)
	}
	p := func(id string, amount int64) gateway.PayRequest {
		return gateway.PayRequest{OrderID: id, Amount: amount, AuthCode: code, Wallet: gateway.WeChat}
	}
	add(c.PassivePay(bg, p("X1", 100)))
	add(c.PassivePay(bg, p("X2", 101))) // FAIL
	add(c.PassivePay(bg, p("X3", 102))) // PROCESSING
	add(c.PassivePay(bg, p("X4", 104))) // dropped
	add(c.PassivePay(bg, p("X5", 105))) // SYSTEM_ERROR
	add(c.PassivePay(bg, p("X1", 100))) // ORDER_USED
	add(c.ActivePay(bg, gateway.QRRequest{OrderID: "X6", Amount: 201, Wallet: gateway.WeChat}))
	add(c.Refund(bg, gateway.RefundRequest{OrderID: "X7", OriginalOrderID: "X1", Amount: 500}))
	add(c.Query(bg, "NOPE"))
	add(c.ExchangeRate(bg, "EUR"))
	add(c.PassivePay(bg, gateway.PayRequest{OrderID: "X8", Amount: 1, AuthCode: code, Wallet: "x"}))
	tamper = func(b []byte) []byte { return bytes.Replace(b, []byte(`"md5":"`), []byte(`"md5":"0`), 1) }
	add(c.PassivePay(bg, p("X9", 100)))
	tamper = func(b []byte) []byte { return []byte("not json") }
	add(c.PassivePay(bg, p("X10", 100)))
	tamper = nil
	ctx, cancel := context.WithTimeout(bg, time.Millisecond)
	add(c.PassivePay(ctx, p("X11", 106)))
	cancel()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	cd, _ := gateway.New(gateway.Config{URL: dead, MerchantID: merchant, SignKey: signKey, OperatorID: operator,
		HTTPClient: hc, Logger: log})
	add(cd.PassivePay(bg, p("X12", 100)))
	_, err = gateway.New(gateway.Config{URL: "::bad", MerchantID: merchant, SignKey: signKey, OperatorID: operator})
	errs = append(errs, err)

	cfg := gateway.Config{URL: dead, MerchantID: merchant, SignKey: signKey, OperatorID: operator}
	text0 := fmt.Sprintf("%v %+v %s %v %+v", cfg, cfg, cfg, c, &cfg)
	log.Info("config", "cfg", cfg)
	if !strings.Contains(text0, "redacted") {
		t.Errorf("printed config: %s", text0)
	}

	if len(errs) < 12 {
		t.Fatalf("only %d errors were produced", len(errs))
	}
	secrets := []string{signKey}
	kmu.Lock()
	for _, d := range digests {
		secrets = append(secrets, string(envelope.AESKey(d, signKey)))
	}
	kmu.Unlock()
	if len(secrets) < 10 {
		t.Fatalf("only %d keys collected", len(secrets))
	}
	lmu.Lock()
	text := logs.String()
	lmu.Unlock()
	text += text0
	for _, err := range errs {
		text += fmt.Sprintf("\n%v\n%+v\n%#v\n%s", err, err, err, err)
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("secret %s... appears in errors or logs", s[:4])
		}
	}
	if strings.Contains(text, code) {
		t.Errorf("an unmasked payment code appears in errors or logs")
	}
	if !strings.Contains(text, "1345**********6789") {
		t.Errorf("the masked payment code is not logged; logs:\n%s", text)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
