package api

import (
	"testing"

	"github.com/posagent/posagent/agent"
)

// FuzzDecodeCreate: whatever the body, decoding a create request either
// succeeds or is a 400 with a message (the engine's validation of what it
// decodes to is fuzzed in package agent).
func FuzzDecodeCreate(f *testing.F) {
	for _, s := range []string{
		`{"amount":1250,"currency":"CAD","mode":"scan","reference":"INV-1001"}`,
		`{"amount":1250,"mode":"qr","wallet":"wechat"}`,
		`{"amount":1250,"mode":"scan","auth_code":"134567890123456789"}`,
		`{"amount":12.5}`, `{"amount":"1"}`, `{"tip":1}`, `{`, ``, `[]`, `null`, `{"amount":1e400}`,
		`{"amount":9223372036854775808}`, `{"amount":1} {}`, "\xff\xfe", `{"Amount":1}`, `{"amount":1,"amount":2}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var r agent.CreateRequest
		err := decodeBody(body, &r, false)
		if err == nil {
			return
		}
		if status, _, msg := answer(err); status != 400 || msg == "" {
			t.Fatalf("decode error is not a 400 with a message: %v", err)
		}
	})
}
