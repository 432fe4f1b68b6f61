package scanner

import (
	"strings"
	"testing"
)

func TestDescribe(t *testing.T) {
	tests := []struct {
		s         Scan
		show      bool
		want, not string
	}{
		{Scan{Code: "134567890123456789", Symbology: "]Q1"}, false, `]Q1  wechat payment code (18 chars)`, "134567890123456789"},
		{Scan{Code: "134567890123456789"}, true, `"134567890123456789"`, "*"},
		{Scan{Code: "6212345678901234567"}, false, "unionpay payment code", "6212345678901234567"},
		{Scan{Code: "6901234567892", Symbology: "]E0"}, false, `"6901234567892"`, "payment"},
		{Scan{Code: "https://x/\x1b"}, false, `"https://x/\x1b"`, "payment"}, // control bytes quoted, not sent to the terminal
	}
	for _, tt := range tests {
		got := Describe(tt.s, tt.show)
		if !strings.Contains(got, tt.want) || strings.Contains(got, tt.not) {
			t.Errorf("Describe(%+v, %v) = %q; want it to contain %q and not %q", tt.s, tt.show, got, tt.want, tt.not)
		}
	}
}

func TestDescribeMasks(t *testing.T) {
	if got := Describe(Scan{Code: "134567890123456789"}, false); !strings.HasPrefix(got, `"1345**********6789"`) {
		t.Errorf("not masked: %q", got)
	}
}
