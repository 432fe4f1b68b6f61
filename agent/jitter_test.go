package agent

import (
	"math/rand/v2"
	"testing"
	"time"
)

// Each delay the outbox schedules is spread by BackoffJitter either way,
// drawn from the injected random source; the clock-went-back horizon
// covers the longest delay with its jitter.
func TestBackoffJitter(t *testing.T) {
	var r float64
	o := Options{Rand: func() float64 { return r }}
	o.setDefaults()
	for _, c := range []struct {
		r    float64
		want time.Duration
	}{{0, 8 * time.Second}, {0.25, 9 * time.Second}, {0.5, 10 * time.Second}, {0.75, 11 * time.Second}} {
		r = c.r
		if got := o.jitter(10 * time.Second); got != c.want {
			t.Errorf("jitter(10s) with rand %v = %v, want %v", c.r, got, c.want)
		}
	}
	if h, want := o.longestBackoff(), 24*time.Hour*12/10; h != want {
		t.Errorf("horizon %v, want %v (the longest delay and its jitter)", h, want)
	}
	off := Options{BackoffJitter: -1, Rand: func() float64 { return 0 }}
	off.setDefaults()
	if got := off.jitter(10 * time.Second); got != 10*time.Second {
		t.Errorf("no jitter: %v", got)
	}
	// A real source spreads over the whole range, within its bounds.
	o.Rand = rand.New(rand.NewPCG(14, 14)).Float64
	lo, hi := time.Hour, time.Duration(0)
	for range 1000 {
		d := o.jitter(10 * time.Second)
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 8*time.Second || hi > 12*time.Second || lo > 8100*time.Millisecond || hi < 11900*time.Millisecond {
		t.Errorf("1000 draws spread over %v..%v, want about 8s..12s", lo, hi)
	}
}
