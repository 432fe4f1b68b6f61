package agent

import (
	"encoding/json"
	"time"

	"github.com/posagent/posagent/agent/clockwatch"
	"github.com/posagent/posagent/agent/operr"
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

// ageOf is how long ago a persisted wall-clock time was, clamped at zero
// (a wall clock that went back never makes a negative age).
func (e *Engine) ageOf(t time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	return max(0, e.now().Sub(t))
}

// onJump is the engine's side of a jump the clock watch saw: it is
// logged and journaled as a clock.jumped event; a jump forward is kept for
// compaction (clockwatch.Cutoff); when the clock went back, every outbox
// deadline moves back by as much so that no follow-up stalls.
func (e *Engine) onJump(jump time.Duration) {
	e.log.Warn("agent: the wall clock jumped; durations run on the monotonic clock, outbox deadlines follow the jump",
		"jump", jump.Round(time.Millisecond).String(), "now", e.now())
	err := e.st.Update(func(tx *store.Tx) error {
		if jump > 0 {
			if err := clockwatch.AddJump(tx, store.ClockJump{At: e.now().Add(-jump), By: jump}); err != nil {
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

// checkClockPlausible refuses money-moving work while the clock is wrong,
// or while the journal is known to be damaged (store.Damage: found by the
// check while the agent runs; open payments are still recovered).
func (e *Engine) checkClockPlausible() error {
	if p := e.watch.Problem(); p != "" {
		return errf(operr.CodeClockImplausible, "%s", p)
	}
	if err := e.st.Damage(); err != nil {
		return errf(operr.CodeJournalDamaged, "%s", err)
	}
	if err := e.st.Failed(); err != nil {
		return errf(operr.CodeJournalFailed, "%s", err)
	}
	return nil
}

// noteStartGap journals the gap since the newest record as a possible
// jump (clockwatch.Watch.StartGap).
func (e *Engine) noteStartGap() {
	if err := e.watch.StartGap(e.st); err != nil {
		e.storeError("record start gap", err)
	}
}

// cutoff is the wall-clock time before which a record kept for keep may
// be removed (clockwatch.Cutoff: moved back by every jump forward).
func (e *Engine) cutoff(keep time.Duration, prune bool) (time.Time, error) {
	return clockwatch.Cutoff(e.st, e.now(), keep, prune)
}
