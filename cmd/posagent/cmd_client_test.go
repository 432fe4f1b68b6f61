package main

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/money"
	"github.com/posagent/posagent/store"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in      string
		want    int64
		wantErr string
	}{
		{"12.50", 1250, ""},
		{"12.5", 1250, ""},
		{"12", 1200, ""},
		{"0.99", 99, ""},
		{".99", 99, ""},
		{" 7.05 ", 705, ""},
		{"100000.00", 10000000, ""},
		{"", 0, "empty"},
		{"0", 0, "more than zero"},
		{"0.00", 0, "more than zero"},
		{"-1", 0, "positive"},
		{"+1", 0, "positive"},
		{"12.505", 0, "two decimals"},
		{"12.", 0, "two decimals"},
		{"12.5.0", 0, "only digits"},
		{"1,50", 0, "only digits"},
		{"abc", 0, "only digits"},
		{"1e3", 0, "only digits"},
		{"9999999999999999", 0, "too large"},
	}
	for _, tt := range tests {
		got, err := parseAmount(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseAmount(%q) = %d, %v; want error containing %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseAmount(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"12.50", "0.01", "1", ".5", "-3", "1.234"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseAmount(s)
		if err != nil {
			return
		}
		if c <= 0 {
			t.Fatalf("parseAmount(%q) = %d without error", s, c)
		}
		// Round trip: what we print parses back to the same cents.
		if back, err := parseAmount(money.Amount(c).String()); err != nil || back != c {
			t.Fatalf("round trip %q -> %d -> %q -> %d, %v", s, c, money.Amount(c).String(), back, err)
		}
	})
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	if got, err := parseSince("24h", now); err != nil || !got.Equal(now.Add(-24*time.Hour)) {
		t.Errorf("24h: %v %v", got, err)
	}
	if got, err := parseSince("2026-11-01T00:00:00Z", now); err != nil || got.Day() != 1 {
		t.Errorf("rfc3339: %v %v", got, err)
	}
	if _, err := parseSince("yesterday", now); err == nil {
		t.Error("yesterday: want an error")
	}
}

// TestPayFollowsToFinal runs `pay` against a stand-in API that walks a
// payment through processing to a final state, and checks the exit status
// and what the cashier sees.
func TestPayFollowsToFinal(t *testing.T) {
	for _, final := range []string{"succeeded", "failed"} {
		t.Run(final, func(t *testing.T) {
			var gets int
			var gotBody, gotCode map[string]any
			var gotKey string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				p := payment{ID: "pay_1", OrderID: "PA1", Mode: "scan", Amount: 1250, Currency: "CAD", State: "processing", Wallet: "wechat"}
				switch {
				case r.Method == "POST" && r.URL.Path == "/v1/payments":
					gotKey = r.Header.Get("Idempotency-Key")
					b, _ := io.ReadAll(r.Body)
					_ = json.Unmarshal(b, &gotBody)
					p.State = "awaiting_code"
					w.WriteHeader(201)
				case r.Method == "POST" && r.URL.Path == "/v1/payments/pay_1/code":
					b, _ := io.ReadAll(r.Body)
					_ = json.Unmarshal(b, &gotCode)
				case r.Method == "GET" && r.URL.Path == "/v1/payments/pay_1":
					gets++
					if gets >= 2 {
						p.State = agent.State(final)
						if final == "failed" {
							p.Error = &store.Error{Code: "declined", Message: "the wallet declined"}
						}
					}
				default:
					http.NotFound(w, r)
					return
				}
				_ = json.NewEncoder(w).Encode(p)
			}))
			defer srv.Close()
			var out bytes.Buffer
			root := newRootCmd()
			root.SetOut(&out)
			root.SetArgs([]string{"--api", srv.URL, "pay", "12.50", "--code", "134567890123456789"})
			err := root.Execute()
			// The typed code is given once the payment exists (after any
			// possible_duplicate question).
			if gotBody["amount"] != float64(1250) || gotBody["auth_code"] != nil || gotBody["mode"] != "scan" || gotCode["code"] != "134567890123456789" {
				t.Errorf("request bodies = %v, %v", gotBody, gotCode)
			}
			if !strings.HasPrefix(gotKey, "cli-") {
				t.Errorf("Idempotency-Key = %q", gotKey)
			}
			var ee exitError
			if final == "succeeded" {
				if err != nil {
					t.Fatalf("pay: %v", err)
				}
				if !strings.Contains(out.String(), "paid 12.50 CAD") {
					t.Errorf("output:\n%s", out.String())
				}
			} else if !errors.As(err, &ee) || ee.code != 1 || !strings.Contains(ee.msg, "declined") {
				t.Fatalf("pay of a declined payment: err = %v; want exit 1 naming the reason", err)
			}
		})
	}
}

func TestClientExplainsNoDaemon(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there now
	root := newRootCmd()
	root.SetOut(io.Discard)
	root.SetArgs([]string{"--api", addr, "status"})
	err := root.Execute()
	if err == nil || !strings.Contains(err.Error(), "posagent run") {
		t.Fatalf("err = %v; want advice to start the daemon", err)
	}
}

func TestClientReportsAPIError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(422)
		_, _ = w.Write([]byte(`{"error":{"code":"refund_exceeds","message":"only 3.00 CAD is left to refund"}}`))
	}))
	defer srv.Close()
	root := newRootCmd()
	root.SetOut(io.Discard)
	root.SetArgs([]string{"--api", srv.URL, "refund", "pay_1", "5.00"})
	err := root.Execute()
	var ae *client.Error
	if !errors.As(err, &ae) || ae.StatusCode != 422 || ae.Code != "refund_exceeds" {
		t.Fatalf("err = %v; want the API's 422 refund_exceeds", err)
	}
}

// A money-moving command whose answer is lost on the way (the connection
// drops after the request was read) sends the same request again with the
// same Idempotency-Key: the daemon does it once.
func TestRefundRetriesWithTheSameKey(t *testing.T) {
	var keys []string
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && r.URL.Path == "/v1/payments/pay_1/refunds" {
			b, _ := io.ReadAll(r.Body)
			keys = append(keys, r.Header.Get("Idempotency-Key"))
			bodies = append(bodies, string(b))
			if len(keys) == 1 {
				panic(http.ErrAbortHandler) // the answer is lost
			}
			w.WriteHeader(201)
			_ = json.NewEncoder(w).Encode(payment{ID: "pay_1", Currency: "CAD", State: "succeeded", Amount: 1250, Refunded: 1250,
				Refunds: []agent.Refund{{ID: "ref_1", Amount: 1250, State: "succeeded"}}})
			return
		}
		http.NotFound(w, r)
	}))
	defer srv.Close()
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetArgs([]string{"--api", srv.URL, "refund", "pay_1"})
	if err := root.Execute(); err != nil {
		t.Fatalf("refund: %v\n%s", err, out.String())
	}
	if len(keys) != 2 || keys[0] != keys[1] || !strings.HasPrefix(keys[0], "cli-") {
		t.Fatalf("keys sent: %q; want the same key twice", keys)
	}
	if bodies[0] != `{"all":true}` || bodies[1] != bodies[0] {
		t.Fatalf("bodies %q: a refund of everything left is asked explicitly", bodies)
	}
	if !strings.Contains(out.String(), "succeeded") {
		t.Fatalf("output %s", out.String())
	}
}

// payment is the payment JSON the tests read from the daemon (and the
// stand-in daemons write).
type payment = agent.Payment

// newIdempotencyKey is a fresh Idempotency-Key for a test's own request.
func newIdempotencyKey() string { return "test-" + rand.Text() }
