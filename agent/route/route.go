package route

import (
	"sync"
	"time"
)

// Target is where a payment code goes.
type Target int

const (
	// Nobody takes it: the scan is ignored, nothing is charged.
	Nobody Target = iota
	// Waiting: the one payment waiting for a code takes it.
	Waiting
	// FromCart: a new scan payment for the cart's amount takes it.
	FromCart
	// Ambiguous: more than one could take it; it is refused.
	Ambiguous
)

func (t Target) String() string {
	switch t {
	case Waiting:
		return "waiting"
	case FromCart:
		return "cart"
	case Ambiguous:
		return "ambiguous"
	}
	return "nobody"
}

// Decide is the routing rule: waiting is the number of payments waiting for
// a code, cartStarts whether the cart may start a payment (CanStart).
func Decide(waiting int, cartStarts bool) Target {
	n := waiting
	if cartStarts {
		n++
	}
	switch {
	case n > 1:
		return Ambiguous
	case waiting == 1:
		return Waiting
	case cartStarts:
		return FromCart
	}
	return Nobody
}

// Dedupe suppresses the same code scanned again within a window: a
// scanner that reads a phone twice is one scan.
type Dedupe struct {
	window time.Duration
	// mu guards seen.
	mu   sync.Mutex
	seen map[string]time.Duration // code -> monotonic reading of its last scan
}

// maxSeen bounds the codes remembered before old ones are forgotten.
const maxSeen = 256

// NewDedupe returns a Dedupe with the given window.
func NewDedupe(window time.Duration) *Dedupe {
	return &Dedupe{window: window, seen: map[string]time.Duration{}}
}

// Repeat records a scan of code at the monotonic reading mono and reports
// whether it repeats one within the window (then it is not recorded again:
// the window runs from the first scan).
func (d *Dedupe) Repeat(code string, mono time.Duration) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if last, ok := d.seen[code]; ok && mono-last < d.window && mono-last >= 0 {
		return true
	}
	d.seen[code] = mono
	if len(d.seen) > maxSeen {
		for k, t := range d.seen {
			if mono-t > d.window {
				delete(d.seen, k)
			}
		}
	}
	return false
}
