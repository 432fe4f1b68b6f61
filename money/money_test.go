package money

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// Moved from printer (FormatAmount) and display (FormatAmount): the same
// cases, now against WithCode and Format.
func TestWithCode(t *testing.T) {
	tests := []struct {
		cents    int64
		currency string
		want     string
	}{
		{1250, "CAD", "12.50 CAD"},
		{0, "CAD", "0.00 CAD"},
		{1, "CAD", "0.01 CAD"},
		{10, "cad", "0.10 CAD"},
		{99, "USD", "0.99 USD"},
		{100, "CNY", "1.00 CNY"},
		{123456789, "CAD", "1234567.89 CAD"},
		{-500, "CAD", "-5.00 CAD"},
		{-5, "CAD", "-0.05 CAD"},
		{1250, "JPY", "1250 JPY"},
		{1250, "KWD", "1.250 KWD"},
		{5, "KWD", "0.005 KWD"},
		{1250, "", "12.50"},
		{math.MaxInt64, "CAD", "92233720368547758.07 CAD"},
		{math.MinInt64, "CAD", "-92233720368547758.08 CAD"},
	}
	for _, tt := range tests {
		if got := Amount(tt.cents).WithCode(tt.currency); got != tt.want {
			t.Errorf("Amount(%d).WithCode(%q) = %q, want %q", tt.cents, tt.currency, got, tt.want)
		}
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		amount   int64
		currency string
		want     string
	}{
		{1250, "CAD", "12.50"}, {5, "CAD", "0.05"}, {0, "CAD", "0.00"}, {100000, "USD", "1000.00"},
		{-250, "CAD", "-2.50"}, {1250, "JPY", "1250"}, {1250, "", "12.50"}, {1250, "krw", "1250"},
		{-9223372036854775808, "CAD", "-92233720368547758.08"},
	}
	for _, tt := range tests {
		if got := Amount(tt.amount).Format(tt.currency); got != tt.want {
			t.Errorf("Amount(%d).Format(%q) = %q, want %q", tt.amount, tt.currency, got, tt.want)
		}
	}
	if got := Amount(705).String(); got != "7.05" {
		t.Errorf("String() = %q", got)
	}
}

func TestDigits(t *testing.T) {
	for c, want := range map[string]int{"CAD": 2, "": 2, "jpy": 0, " KWD ": 3, "XYZ": 2} {
		if got := Digits(c); got != want {
			t.Errorf("Digits(%q) = %d, want %d", c, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		in, currency string
		want         Amount
		err          error  // nil: no error
		msg          string // part of the message
	}{
		{"12.50", "CAD", 1250, nil, ""},
		{"12.5", "CAD", 1250, nil, ""},
		{"12", "", 1200, nil, ""},
		{"0.99", "CAD", 99, nil, ""},
		{".99", "CAD", 99, nil, ""},
		{" 7.05 ", "CAD", 705, nil, ""},
		{"100000.00", "CAD", 10000000, nil, ""},
		{"0", "CAD", 0, nil, ""},
		{"1250", "JPY", 1250, nil, ""},
		{"1.25", "KWD", 1250, nil, ""},
		{"0.005", "KWD", 5, nil, ""},
		{"999999999999999.99", "CAD", 99999999999999999, nil, ""},
		{"", "CAD", 0, ErrEmpty, "empty"},
		{"   ", "CAD", 0, ErrEmpty, "empty"},
		{"-1", "CAD", 0, ErrSign, "positive"},
		{"+1", "CAD", 0, ErrSign, "positive"},
		{"12.505", "CAD", 0, ErrPrecision, "two decimals"},
		{"12.", "CAD", 0, ErrPrecision, "two decimals"},
		{"12.5", "JPY", 0, ErrPrecision, "no decimals"},
		{"1.2345", "KWD", 0, ErrPrecision, "three decimals"},
		{"12.5.0", "CAD", 0, ErrSyntax, "only digits"},
		{"1,50", "CAD", 0, ErrSyntax, "only digits"},
		{"abc", "CAD", 0, ErrSyntax, "only digits"},
		{"1e3", "CAD", 0, ErrSyntax, "only digits"},
		{"１２", "CAD", 0, ErrSyntax, "only digits"},
		{"9999999999999999", "CAD", 0, ErrRange, "too large"},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in, tt.currency)
		if tt.err != nil {
			var pe *ParseError
			if !errors.Is(err, tt.err) || !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Parse(%q, %q) = %d, %v; want %v saying %q", tt.in, tt.currency, got, err, tt.err, tt.msg)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Parse(%q, %q) = %d, %v; want %d", tt.in, tt.currency, got, err, tt.want)
		}
	}
}

// FuzzParse: never panics; whatever parses is not negative and formats
// back to a string that parses to the same amount.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"12.50", "0.01", "1", ".5", "-3", "1.234", "999999999999999.99"} {
		f.Add(s, "CAD")
	}
	f.Add("1.250", "KWD")
	f.Add("1250", "JPY")
	f.Fuzz(func(t *testing.T, s, currency string) {
		a, err := Parse(s, currency)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q, %q): %v is not a *ParseError", s, currency, err)
			}
			return
		}
		if a < 0 {
			t.Fatalf("Parse(%q, %q) = %d", s, currency, a)
		}
		if back, err := Parse(a.Format(currency), currency); err != nil || back != a {
			t.Fatalf("round trip %q -> %d -> %q -> %d, %v", s, a, a.Format(currency), back, err)
		}
	})
}

// FuzzFormat: every int64 formats with exactly the currency's decimals and
// parses back (its absolute value, as Parse takes no sign).
func FuzzFormat(f *testing.F) {
	f.Add(int64(1250), "CAD")
	f.Add(int64(math.MinInt64), "JPY")
	f.Add(int64(-5), "KWD")
	f.Fuzz(func(t *testing.T, n int64, currency string) {
		s := Amount(n).Format(currency)
		d := Digits(currency)
		if i := strings.IndexByte(s, '.'); (d == 0) != (i < 0) || d > 0 && len(s)-i-1 != d {
			t.Fatalf("Amount(%d).Format(%q) = %q: want %d decimals", n, currency, s, d)
		}
		if n < 0 || n > 999999999999999*100 || d != 2 {
			return
		}
		if back, err := Parse(s, currency); err != nil || back != Amount(n) {
			t.Fatalf("Parse(%q) = %d, %v; want %d", s, back, err, n)
		}
	})
}
