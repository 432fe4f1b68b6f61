package paycode

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckInput(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want error
	}{
		{"134567890123456789", nil},
		{"https://example.com/loyalty?id=1\r\n", nil},
		{"name\tvalue\nline 2", nil},
		{"]Q1134567890123456789", nil},
		{"二维码", nil},
		{strings.Repeat("9", MaxInput), nil},
		{strings.Repeat("9", MaxInput+1), ErrInputTooLong},
		{strings.Repeat("9", 5000), ErrInputTooLong},
		{"13\x00" + "4567890123456789", ErrInputControl},
		{"\x1b[2J134567890123456789", ErrInputControl},
		{"1345678901234567\x7f89", ErrInputControl},
		{"1345\xff\xfe", ErrInputUTF8},
	} {
		err := CheckInput(tt.in)
		if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
			t.Errorf("CheckInput(%.40q) = %v, want %v", tt.in, err, tt.want)
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
