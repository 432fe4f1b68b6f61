package gwauth

import (
	"errors"
	"fmt"
	"testing"

	"github.com/posagent/posagent/gateway"
)

// CredentialsRefused reads an EX_RATE_QUERY's error by structure: only a
// refusal code or an answer that does not verify is the credentials'.
func TestCredentialsRefused(t *testing.T) {
	rate := gateway.ActionExRateQuery
	for _, c := range []struct {
		name    string
		err     error
		refused bool
	}{
		{"answered", nil, false},
		{"not sent", &gateway.Error{Action: rate, Outcome: gateway.Unknown, Err: fmt.Errorf("dial: %w", gateway.ErrNotSent)}, false},
		{"no answer", &gateway.Error{Action: rate, Outcome: gateway.Unknown, Err: errors.New("read: connection reset")}, false},
		{"refused", &gateway.Error{Action: rate, Code: gateway.CodeFail, Message: "signature verification failed", Outcome: gateway.Failed}, true},
		{"another key", &gateway.Error{Action: rate, Code: gateway.CodeSuccess, Outcome: gateway.Unknown, Err: fmt.Errorf("%w: digest", gateway.ErrUnverified)}, true},
		{"success without data", &gateway.Error{Action: rate, Code: gateway.CodeSuccess, Outcome: gateway.Unknown}, false},
	} {
		refused, why := CredentialsRefused(c.err)
		if refused != c.refused {
			t.Errorf("%s: refused %v (%q), want %v", c.name, refused, why, c.refused)
		}
		if refused && why == "" {
			t.Errorf("%s: refused without a reason", c.name)
		}
	}
}
