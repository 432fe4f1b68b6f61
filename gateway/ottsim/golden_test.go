package ottsim_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posagent/posagent/gateway/internal/envelope"
	"github.com/posagent/posagent/gateway/ottsim"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestAnswersGolden pins the bytes of the simulator's answers to a fixed
// sequence of requests, with a fixed clock: the envelope, then its
// decrypted data.
func TestAnswersGolden(t *testing.T) {
	clk := newClock()
	sim := ottsim.New(ottsim.Options{MerchantID: merchant, SignKey: signKey, Clock: clk.Now, BaseURL: "http://sim.test"})
	h := sim.Handler()
	send := func(action string, f envelope.Fields) []byte {
		data, digest, err := envelope.Seal(f, signKey)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(envelope.RequestEnvelope{Action: action, Version: "1.0", MerchantID: merchant,
			OperatorID: operator, Data: data, MD5: digest})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/processV2", bytes.NewReader(body)))
		return rec.Body.Bytes()
	}
	payF := func(id, amount string) envelope.Fields {
		return envelope.Fields{{Key: "order_id", Value: id}, {Key: "operator_id", Value: operator},
			{Key: "amount", Value: amount}, {Key: "auth_code", Value: codeFor(id)}, {Key: "biz_type", Value: "WECHATPAY"}}
	}
	steps := []struct {
		name   string
		action string
		f      envelope.Fields
	}{
		{"passivepay_success", "PASSIVEPAY", payF("G1", "1250")},
		{"passivepay_fail_01", "PASSIVEPAY", payF("G2", "1201")},
		{"passivepay_processing_02", "PASSIVEPAY", payF("G3", "1202")},
		{"passivepay_system_error_05", "PASSIVEPAY", payF("G5", "1205")},
		{"passivepay_order_used", "PASSIVEPAY", payF("G1", "1250")},
		{"activepay_success", "ACTIVEPAY", append(payF("G6", "999")[:3:3], envelope.Field{Key: "biz_type", Value: "ALIPAY"},
			envelope.Field{Key: "call_back_url", Value: "https://pos.example/cb"})},
		{"status_query_success", "STATUS_QUERY", envelope.Fields{{Key: "order_id", Value: "G1"}}},
		{"status_query_notpay", "STATUS_QUERY", envelope.Fields{{Key: "order_id", Value: "G3"}}},
		{"status_query_not_found", "STATUS_QUERY", envelope.Fields{{Key: "order_id", Value: "NOPE"}}},
		{"refund_partial", "REFUND", envelope.Fields{{Key: "order_id", Value: "G1R1"}, {Key: "ori_order_id", Value: "G1"}, {Key: "refund_amt", Value: "250"}}},
		{"refund_too_much", "REFUND", envelope.Fields{{Key: "order_id", Value: "G1R2"}, {Key: "ori_order_id", Value: "G1"}, {Key: "refund_amt", Value: "1001"}}},
		{"status_query_refund", "STATUS_QUERY", envelope.Fields{{Key: "order_id", Value: "G1R1"}}},
		{"ex_rate_query", "EX_RATE_QUERY", envelope.Fields{{Key: "fee_type", Value: "CAD"}}},
	}
	var out bytes.Buffer
	for _, st := range steps {
		raw := send(st.action, st.f)
		env, err := envelope.ParseResponseEnvelope(raw)
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		out.WriteString("## " + st.name + "\n")
		out.Write(raw)
		if env.Data != "" {
			f, err := envelope.Open(env.Data, env.MD5, signKey)
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			out.Write(envelope.MarshalFields(f))
			out.WriteByte('\n')
		}
	}
	path := filepath.Join("testdata", "answers.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update once)", err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		got, wantS := strings.Split(out.String(), "\n"), strings.Split(string(want), "\n")
		for i := range min(len(got), len(wantS)) {
			if got[i] != wantS[i] {
				t.Fatalf("answers differ from %s at line %d:\n got %s\nwant %s", path, i+1, got[i], wantS[i])
			}
		}
		t.Fatalf("answers differ from %s in length: %d lines, want %d", path, len(got), len(wantS))
	}
}
