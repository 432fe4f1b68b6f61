package rate

import "testing"

func TestExRateCNY(t *testing.T) {
	const maxAmount = 9_999_999_999 // agent.MaxAmount
	r := ExRate{Rate: 515000000}    // 5.15
	for _, c := range []struct{ cents, fen int64 }{{1713, 8822}, {1, 5}, {100, 515}, {maxAmount, 51499999995}} {
		if got := r.CNY(c.cents); got != c.fen {
			t.Errorf("CNY(%d) = %d, want %d", c.cents, got, c.fen)
		}
	}
}
