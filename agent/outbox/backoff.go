package outbox

import "time"

// Backoff returns the n-th delay (n from 0) of a schedule, repeating the
// last. An empty schedule is no delay.
func Backoff(sched []time.Duration, n int) time.Duration {
	if len(sched) == 0 {
		return 0
	}
	n = min(max(n, 0), len(sched)-1)
	return sched[n]
}

// Jitter spreads d uniformly over d*(1-frac) to d*(1+frac); r is a uniform
// number in [0, 1). frac <= 0 (or d <= 0) leaves d as it is.
func Jitter(d time.Duration, frac, r float64) time.Duration {
	if frac <= 0 || d <= 0 {
		return d
	}
	return d + time.Duration(float64(d)*frac*(2*r-1))
}

// Horizon is the longest delay the schedules can give, jitter included: a
// job due further out was scheduled before the wall clock went back.
func Horizon(frac float64, scheds ...[]time.Duration) time.Duration {
	var m time.Duration
	for _, s := range scheds {
		for _, d := range s {
			m = max(m, d)
		}
	}
	return m + time.Duration(float64(m)*max(frac, 0))
}
