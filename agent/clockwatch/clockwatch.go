package clockwatch

import (
	"context"
	"sync"
	"time"

	"github.com/posagent/posagent/store"
)

// Tolerance is how far the wall clock may drift from the monotonic clock
// between two checks before it counts as a jump.
const Tolerance = 2 * time.Second

// Slack is how far behind the newest journal record the wall clock may be
// and still be believed (an NTP step back of a few seconds is normal).
const Slack = 5 * time.Minute

// Options configure a Watch.
type Options struct {
	Now   func() time.Time                     // the wall clock
	Mono  func() time.Duration                 // the monotonic reading
	After func(time.Duration) <-chan time.Time // waits (the engine's clock)
	Every time.Duration                        // how often Run checks (agent.Timing.JumpCheck)
	// NotBefore is the earliest plausible wall-clock time (the build time).
	NotBefore time.Time
	// Newest is the newest stamp in the journal at start.
	Newest time.Time
	// OnJump is called after each jump is counted (not under the Watch's
	// lock): by how much the wall clock moved against the monotonic one.
	OnJump func(jump time.Duration)
}

// Watch is the clock watch. Create with New; Run checks until its context
// ends, and Check checks at once (compaction does, before it runs).
type Watch struct {
	o          Options
	wallOrigin time.Time     // the wall reading at New (no monotonic reading)
	monoOrigin time.Duration // the monotonic reading at New

	mu           sync.Mutex
	lastOffset   time.Duration // wall minus monotonic at the last check
	jumps        int           // jumps seen
	lastJumpMono time.Duration
	jumpSeen     bool      // a jump since the last compaction
	newest       time.Time // newest stamp in the journal
}

// New returns a Watch whose offset starts now.
func New(o Options) *Watch {
	w := &Watch{o: o, wallOrigin: o.Now().Round(0), monoOrigin: o.Mono(), newest: o.Newest}
	w.lastOffset = w.offset()
	return w
}

// offset is the wall clock minus the monotonic clock since New: constant
// while the wall clock runs true, and it moves by the size of a jump.
func (w *Watch) offset() time.Duration {
	return w.o.Now().Round(0).Sub(w.wallOrigin) - (w.o.Mono() - w.monoOrigin) // Round(0): the wall reading only
}

// Run checks the wall clock every Options.Every until ctx ends.
// Cancellation is not an error.
func (w *Watch) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.o.After(w.o.Every):
		}
		w.Check()
	}
}

// Check compares the wall clock with the monotonic clock since the last
// check; a jump is counted, holds the next compaction and is handed to
// Options.OnJump.
func (w *Watch) Check() {
	off := w.offset()
	w.mu.Lock()
	jump := off - w.lastOffset
	if jump > -Tolerance && jump < Tolerance {
		w.mu.Unlock()
		return
	}
	w.lastOffset = off
	w.jumps++
	w.lastJumpMono = w.o.Mono()
	w.jumpSeen = true
	w.mu.Unlock()
	if w.o.OnJump != nil {
		w.o.OnJump(jump)
	}
}

// Jumps is how many jumps were seen since New.
func (w *Watch) Jumps() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.jumps
}

// Problem says why the wall clock cannot be believed for a new payment,
// or "" when it can: earlier than the build (a board without a real-time
// clock booting in 1970 or 2000), or earlier than the newest record
// already in the journal.
func (w *Watch) Problem() string {
	now := w.o.Now().UTC()
	if now.Before(w.o.NotBefore) {
		return "the wall clock reads " + now.Format(time.RFC3339) + ", earlier than this posagent was built (" +
			w.o.NotBefore.UTC().Format(time.RFC3339) + "): set the time (NTP) and try again"
	}
	newest := w.Newest()
	if now.Add(Slack).Before(newest) {
		return "the wall clock reads " + now.Format(time.RFC3339) + ", earlier than the newest journal record (" +
			newest.Format(time.RFC3339) + "): the clock went back; set the time (NTP) and try again"
	}
	return ""
}

// NoteStamp remembers the newest stamp written to the journal.
func (w *Watch) NoteStamp(t time.Time) {
	w.mu.Lock()
	if t.After(w.newest) {
		w.newest = t
	}
	w.mu.Unlock()
}

// Newest is the newest stamp written to the journal.
func (w *Watch) Newest() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.newest
}

// CompactionHeld reports why compaction must not run now, or "": the
// clock cannot be believed, or it jumped since the last compaction (it
// checks at once; the hold is then used up).
func (w *Watch) CompactionHeld() string {
	if p := w.Problem(); p != "" {
		return p
	}
	w.Check()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.jumpSeen {
		w.jumpSeen = false
		return "the wall clock jumped since the last compaction"
	}
	return ""
}

// GapTolerance: a start more than this after the newest journal record
// counts as a possible forward jump of the clock while the agent was down.
const GapTolerance = time.Hour

// AddJump appends one jump to the journal's list.
func AddJump(tx *store.Tx, j store.ClockJump) error {
	js, err := tx.ClockJumps()
	if err != nil {
		return err
	}
	return tx.PutClockJumps(append(js, j))
}

// StartGap journals the time between the newest journal record and this
// start as a possible clock jump: the terminal may have been off, or its
// clock may have jumped while it was; compaction cannot tell, so it keeps
// records that much longer. Call it once, before compaction runs.
func (w *Watch) StartGap(st *store.Store) error {
	newest := w.Newest()
	if newest.IsZero() {
		return nil
	}
	gap := w.o.Now().UTC().Sub(newest)
	if gap <= GapTolerance {
		return nil
	}
	return st.Update(func(tx *store.Tx) error { return AddJump(tx, store.ClockJump{At: newest, By: gap}) })
}

// Cutoff is the wall-clock time before which a record may be removed when
// it must be kept for keep: now - keep, moved back by every forward jump
// (and start gap) recorded, so that no record younger than keep is ever
// removed because the clock jumped. prune (with the longest keep, the
// retention) drops jumps too old to matter to any record kept.
func Cutoff(st *store.Store, now time.Time, keep time.Duration, prune bool) (time.Time, error) {
	var c time.Time
	err := st.Update(func(tx *store.Tx) error {
		js, err := tx.ClockJumps()
		if err != nil {
			return err
		}
		var total time.Duration
		for _, j := range js {
			total += j.By
		}
		c = now.Add(-keep - total)
		var kept []store.ClockJump
		for _, j := range js {
			if j.At.After(c) {
				kept = append(kept, j)
			}
		}
		if prune && len(kept) != len(js) {
			return tx.PutClockJumps(kept)
		}
		return nil
	})
	return c, err
}
