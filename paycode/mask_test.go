package paycode

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestMaskCodesIn(t *testing.T) {
	const wechat = "134567890123456789"
	for _, tc := range []struct{ in, want string }{
		{wechat, "1345**********6789"},
		{"]Q1" + wechat, "]Q11345**********6789"},
		{"]E0" + wechat, "]E01345**********6789"},
		{"\x02]Q1" + wechat + "\r\n", "]Q11345**********6789"},
		{"1345\u200e67890123456789", "1345**********6789"},             // LRM inside
		{"\u202e" + wechat + "\u202c", "1345**********6789"},           // RLO ... PDF
		{"\u2066134567890\u200b123456789\u2069", "1345**********6789"}, // isolate, zero-width space
		{"\ufeff" + wechat, "1345**********6789"},                      // BOM
		{"PAY:" + wechat + ";ref=7", "PAY:1345**********6789;ref=7"},
		{"https://x.example/p?c=" + wechat, "https://x.example/p?c=1345**********6789"},
		{"１３４５６７８９０１２３４５６７８９", "１３４５**********６７８９"},   // full-width digits
		{"6212345678901234567", "6212***********4567"}, // UnionPay
		{"280000000000000000", "2800**********0000"},   // Alipay
		// Not payment codes: unchanged, control characters and all.
		{"4006381333931", "4006381333931"}, // EAN-13
		{"]E04006381333931", "]E04006381333931"},
		{"0109501101530003\x1d17201231", "0109501101530003\x1d17201231"}, // GS1 with GS
		{"https://example.com/menu", "https://example.com/menu"},
		{"", ""},
		{"1345678901234567890123456789012345", "1345678901234567890123456789012345"}, // 34 digits
	} {
		if got := MaskIn(tc.in); got != tc.want {
			t.Errorf("MaskIn(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzMaskCodesIn: never panics; a payment code placed anywhere, wrapped
// or interleaved with invisible characters, never survives in clear.
func FuzzMaskCodesIn(f *testing.F) {
	f.Add("", "]Q1", "\u200e", "")
	f.Add("PAY:", "", "", ";")
	f.Add("\x02", "]E0", "\u202e", "\r\n")
	f.Fuzz(func(t *testing.T, pre, aim, sep, post string) {
		const code = "134567890123456789"
		in := pre + aim + code[:6] + sep + code[6:] + post
		out := MaskIn(in)
		_ = MaskIn(pre + sep + post) // any input: no panic
		if !utf8.ValidString(in) || strings.ContainsAny(sep, "0123456789０１２３４５６７８９") || strings.IndexFunc(sep, func(r rune) bool { return !Invisible(r) }) >= 0 {
			return // sep must be invisible for the code to be one run
		}
		if endsInDigit(pre+aim) && !isAIM(pre+aim) || startsWithDigit(post) {
			return // digits glued to the code make another number
		}
		if strings.Contains(out, code) || strings.Contains(stripInvisible(out), code) {
			t.Fatalf("MaskIn(%q) = %q: the code is readable", in, out)
		}
	})
}

func endsInDigit(s string) bool {
	s = stripInvisible(s)
	r, _ := utf8.DecodeLastRuneInString(s)
	return r >= '0' && r <= '9' || r >= '０' && r <= '９'
}

func startsWithDigit(s string) bool {
	s = stripInvisible(s)
	r, _ := utf8.DecodeRuneInString(s)
	return r >= '0' && r <= '9' || r >= '０' && r <= '９'
}

// isAIM: s ends with "]" letter digit (an AIM identifier), with no digit before.
func isAIM(s string) bool {
	s = stripInvisible(s)
	n := len(s)
	return n >= 3 && s[n-3] == ']' && isASCIILetter(rune(s[n-2])) && s[n-1] >= '0' && s[n-1] <= '9' && !endsInDigit(s[:n-3]+"x")
}

func stripInvisible(s string) string {
	return strings.Map(func(r rune) rune {
		if Invisible(r) {
			return -1
		}
		return r
	}, s)
}
