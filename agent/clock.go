package agent

import (
	"context"
	"encoding/json"
	"time"

	"github.com/posagent/posagent/store"
)

// Time in the engine has two sources, kept apart on purpose:
//
//   - the wall clock (Clock.Now, through e.now) stamps records: created_at,
//     history, next_at of outbox jobs. It may be wrong at boot and jump.
//   - the monotonic clock (e.mono) measures every duration inside one run
//     of the process: how long a payment has waited for its code, a code's
//     validity, the polling and QR windows, the cart's lifetime, dedupe.
//
// Persisted times are read back with care: an age computed from the wall
// clock is clamped to zero when the clock went back, and an outbox job due
// further out than the longest backoff counts as due. A detected jump of the
// wall clock moves outbox deadlines with it (backwards) and holds compaction
// for one round.

// jumpTolerance is how far the wall clock may drift from the monotonic
// clock between two checks before it counts as a jump.
const jumpTolerance = 2 * time.Second

// clockSlack is how far behind the newest journal record the wall clock may
// be and still be believed (an NTP step back of a few seconds is normal).
const clockSlack = 5 * time.Minute

// now is the wall clock in UTC, for stamps. Never subtract two of these to
// measure a duration inside the process: use mono.
func (e *Engine) now() time.Time { return e.clock.Now().UTC() }

// mono is the monotonic reading: elapsed time since the engine was made.
func (e *Engine) mono() time.Duration {
	switch c := e.clock.(type) {
	case MonoClock:
		return c.Mono() - e.monoOrigin
	case realClock:
		return time.Since(e.realOrigin)
	default:
		return c.Now().Round(0).Sub(e.wallOrigin)
	}
}

// wallOffset is the wall clock minus the monotonic clock: constant while
// the wall clock runs true, and it moves by the size of a jump.
func (e *Engine) wallOffset() time.Duration {
	return e.clock.Now().Round(0).Sub(e.wallOrigin) - e.mono() // Round(0): the wall reading only
}

// ageOf is how long ago a persisted wall-clock time was, clamped at zero
// (a wall clock that went back never makes a negative age).
func (e *Engine) ageOf(t time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	return max(0, e.now().Sub(t))
}

// checkClock compares the wall clock with the monotonic clock since the
// last check. A jump is logged, journaled as a clock.jumped event, counted,
// holds the next compaction, and, when the clock went back, moves every
// outbox deadline back by as much so that no follow-up stalls.
func (e *Engine) checkClock() {
	off := e.wallOffset()
	e.mu.Lock()
	jump := off - e.lastOffset
	if jump > -jumpTolerance && jump < jumpTolerance {
		e.mu.Unlock()
		return
	}
	e.lastOffset = off
	e.jumps++
	e.lastJumpMono = e.mono()
	e.jumpSeen = true
	e.mu.Unlock()
	e.log.Warn("agent: the wall clock jumped; durations run on the monotonic clock, outbox deadlines follow the jump",
		"jump", jump.Round(time.Millisecond).String(), "now", e.now())
	err := e.st.Update(func(tx *store.Tx) error {
		if jump > 0 {
			if err := addJump(tx, store.ClockJump{At: e.now().Add(-jump), By: jump}); err != nil {
				return err
			}
		}
		if jump < 0 {
			jobs, err := tx.Jobs()
			if err != nil {
				return err
			}
			for _, j := range jobs {
				j.NextAt = j.NextAt.Add(jump)
				if err := tx.PutJob(j); err != nil {
					return err
				}
			}
		}
		_, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
			return json.Marshal(Event{Seq: seq, Kind: KindClockJumped, At: e.now(),
				Reason: "the wall clock moved by " + jump.Round(time.Millisecond).String() + " against the monotonic clock"})
		})
		return err
	})
	if err != nil {
		e.storeError("clock jump", err)
	}
	e.kickOutbox()
}

// clockLoop checks the wall clock every JumpCheck.
func (e *Engine) clockLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.clock.After(e.o.JumpCheck):
		}
		e.checkClock()
	}
}

// clockProblem says why the wall clock cannot be believed for a new
// payment, or "" when it can: earlier than the build (a board without a
// real-time clock booting in 1970 or 2000), or earlier than the newest
// record already in the journal.
func (e *Engine) clockProblem() string {
	now := e.now()
	if now.Before(e.o.NotBefore) {
		return "the wall clock reads " + now.Format(time.RFC3339) + ", earlier than this posagent was built (" +
			e.o.NotBefore.UTC().Format(time.RFC3339) + "): set the time (NTP) and try again"
	}
	e.mu.Lock()
	newest := e.newest
	e.mu.Unlock()
	if now.Add(clockSlack).Before(newest) {
		return "the wall clock reads " + now.Format(time.RFC3339) + ", earlier than the newest journal record (" +
			newest.Format(time.RFC3339) + "): the clock went back; set the time (NTP) and try again"
	}
	return ""
}

// checkClockPlausible refuses money-moving work while the clock is wrong,
// or while the journal is known to be damaged (store.Damage: found by the
// check while the agent runs; open payments are still recovered).
func (e *Engine) checkClockPlausible() error {
	if p := e.clockProblem(); p != "" {
		return errf(CodeClockImplausible, "%s", p)
	}
	if err := e.st.Damage(); err != nil {
		return errf(CodeJournalDamaged, "%s", err)
	}
	if err := e.st.Failed(); err != nil {
		return errf(CodeJournalFailed, "%s", err)
	}
	return nil
}

// noteStamp remembers the newest stamp written to the journal.
func (e *Engine) noteStamp(t time.Time) {
	e.mu.Lock()
	if t.After(e.newest) {
		e.newest = t
	}
	e.mu.Unlock()
}

// compactHeld reports why compaction must not run now, or "".
func (e *Engine) compactHeld() string {
	if p := e.clockProblem(); p != "" {
		return p
	}
	e.checkClock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.jumpSeen {
		e.jumpSeen = false
		return "the wall clock jumped since the last compaction"
	}
	return ""
}

// gapTolerance: a start more than this after the newest journal record
// counts as a possible forward jump of the clock while the agent was down.
const gapTolerance = time.Hour

// addJump appends one jump to the journal's list.
func addJump(tx *store.Tx, j store.ClockJump) error {
	js, err := tx.ClockJumps()
	if err != nil {
		return err
	}
	return tx.PutClockJumps(append(js, j))
}

// noteStartGap records the time between the newest journal record and
// this start as a possible clock jump: the terminal may have been off, or
// its clock may have jumped while it was; compaction cannot tell, so it
// keeps records that much longer. Called once, before compaction runs.
func (e *Engine) noteStartGap() {
	e.mu.Lock()
	newest := e.newest
	e.mu.Unlock()
	if newest.IsZero() {
		return
	}
	gap := e.now().Sub(newest)
	if gap <= gapTolerance {
		return
	}
	err := e.st.Update(func(tx *store.Tx) error { return addJump(tx, store.ClockJump{At: newest, By: gap}) })
	if err != nil {
		e.storeError("record start gap", err)
	}
}

// cutoff is the wall-clock time before which a record may be removed when
// it must be kept for keep: now - keep, moved back by every forward jump
// (and start gap) recorded, so that no record younger than keep is ever
// removed because the clock jumped. prune (with the longest keep, the
// retention) drops jumps too old to matter to any record kept.
func (e *Engine) cutoff(keep time.Duration, prune bool) (time.Time, error) {
	now := e.now()
	var c time.Time
	err := e.st.Update(func(tx *store.Tx) error {
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
