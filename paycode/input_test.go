package paycode

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckInput(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string // "" accepted
	}{
		{"134567890123456789", ""},
		{"https://example.com/loyalty?id=1\r\n", ""},
		{"name\tvalue\nline 2", ""},
		{"]Q1134567890123456789", ""},
		{"二维码", ""},
		{strings.Repeat("9", MaxInput), ""},
		{strings.Repeat("9", MaxInput+1), "is 4097 bytes, at most 4096"},
		{strings.Repeat("9", 5000), "is 5000 bytes, at most 4096"},
		{"13\x00" + "4567890123456789", "contains control character"},
		{"\x1b[2J134567890123456789", "contains control character"},
		{"1345678901234567\x7f89", "contains control character"},
		{"1345\xff\xfe", "is not valid UTF-8"},
	} {
		err := CheckInput(tt.in)
		if (tt.want == "") != (err == nil) || (err != nil && (!strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrInput))) {
			t.Errorf("CheckInput(%.40q) = %v, want %q", tt.in, err, tt.want)
		}
	}
}

func FuzzCheckInput(f *testing.F) {
	f.Add("134567890123456789")
	f.Add("13\x00")
	f.Fuzz(func(t *testing.T, s string) {
		if CheckInput(s) == nil && (len(s) > MaxInput || strings.ContainsRune(s, 0)) {
			t.Errorf("CheckInput accepts %q", s)
		}
	})
}
