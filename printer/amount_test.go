package printer

import (
	"math"
	"testing"
)

func TestFormatAmount(t *testing.T) {
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
		if got := FormatAmount(tt.cents, tt.currency); got != tt.want {
			t.Errorf("FormatAmount(%d, %q) = %q, want %q", tt.cents, tt.currency, got, tt.want)
		}
	}
}
