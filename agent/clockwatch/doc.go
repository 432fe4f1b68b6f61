// Package clockwatch watches the wall clock against the monotonic clock.
// The engine stamps records with the wall clock, which may be wrong at boot
// and may jump; it measures durations on the monotonic clock. A Watch
// compares the two at a fixed interval: a jump (the wall clock moving more
// than two seconds against the monotonic one between two checks) is
// counted, holds the next compaction, and is handed to the engine, which
// journals it and moves outbox deadlines with it. The Watch also says when
// the wall clock cannot be believed for a new payment: earlier than the
// build, or earlier than the newest record already in the journal.
//
// The jumps forward (and the gaps of a start long after the newest record)
// are kept in the journal (store.ClockJump): Cutoff moves every compaction
// cutoff back by them, so that no record is removed early because the
// clock jumped.
package clockwatch
