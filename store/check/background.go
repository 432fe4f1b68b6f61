package check

import (
	"context"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/posagent/posagent/store/hwm"
)

// The check while the agent runs. A start that had the quick check
// (quickcheck.go) leaves the rest of the journal to store.Store.RunCheck
// (Background.Run): the same
// record-level check as before a start (CheckFile without bbolt's own
// tx.Check, which reads through the memory map), of the state of one read
// transaction, read with plain reads (never the memory map, so the pages
// it reads do not stay in the agent's memory) on a thread of the lowest
// CPU priority. Damage found is kept (CheckStatus, Damage); a sound
// journal moves Mark.Verified on, so the next start checks from there.

// States of Status.
const (
	CheckVerified = "verified" // every record checked since this start (or before it)
	CheckPending  = "pending"  // the quick check at start; RunCheck has not finished yet
	CheckRunning  = "checking" // RunCheck is reading the journal
	CheckDamaged  = "damaged"  // RunCheck found damage: see Findings
)

// Status says how far the journal open in this process was checked.
type Status struct {
	State string `json:"state"`
	// VerifiedTxID and VerifiedAt: the last state of the journal a full
	// check found sound, and when.
	VerifiedTxID uint64    `json:"verified_txid"`
	VerifiedAt   time.Time `json:"verified_at"`
	// Findings: the damage (state damaged).
	Findings []Finding `json:"findings,omitempty"`
	// Error: why the last check in the background could not finish.
	Error string `json:"error,omitempty"`
}

// Background is the check state of a journal open in this process: what
// the check before use did (Started), and the check while it runs (Run).
type Background struct {
	mu     sync.Mutex
	st     Status
	closed bool
	cancel context.CancelFunc // of the running check
	wg     sync.WaitGroup
}

// Started records what the check before the start (rep) did, at now, and
// returns the verified state the mark carries.
func (b *Background) Started(rep *Report, now time.Time) *hwm.Verified {
	b.mu.Lock()
	defer b.mu.Unlock()
	if rep.Quick && rep.Mark != nil && rep.Mark.Verified != nil {
		v := rep.Mark.Verified
		b.st = Status{State: CheckPending, VerifiedTxID: v.TxID, VerifiedAt: v.At}
		return v
	}
	v := &hwm.Verified{TxID: rep.TxID, Root: rep.Root, At: now}
	b.st = Status{State: CheckVerified, VerifiedTxID: v.TxID, VerifiedAt: v.At}
	return v
}

// Status says how far the journal was checked.
func (b *Background) Status() Status {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.st
	st.Findings = append([]Finding(nil), st.Findings...)
	return st
}

// Damage is nil unless the check while the journal at path is open (Run)
// found damage; then it says what, and errors.Is(err, ErrCorrupt) holds.
func (b *Background) Damage(path string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.st.State != CheckDamaged {
		return nil
	}
	var dmg []string
	for i, f := range b.st.Findings {
		if i == 3 {
			dmg = append(dmg, fmt.Sprintf("and %d more", len(b.st.Findings)-3))
			break
		}
		dmg = append(dmg, f.String())
	}
	return fmt.Errorf("%w: %s is damaged (found by the check while the agent runs): %s. "+
		"New payments are refused; payments already started are still recovered. What to do: finish or cancel the open payments, "+
		"stop the agent, run \"posagent journal check\", then restore the newest backup (\"posagent journal restore FILE\") or salvage "+
		"(\"posagent journal salvage NEW.db\", then \"posagent journal restore NEW.db\")", ErrCorrupt, path, strings.Join(dmg, "; "))
}

// Run checks in the background, with live, the journal at path the start
// checked quickly (nothing to do otherwise) and returns when that is done,
// ctx ends or Stop is called. Damage is kept for Status and Damage; a sound
// journal's state goes to verified (the mark's, from then on); a check
// that could not run is logged.
func (b *Background) Run(ctx context.Context, path string, log *slog.Logger, live func(context.Context) (*Report, *hwm.Verified, error), verified func(*hwm.Verified)) {
	b.mu.Lock()
	if b.closed || (b.st.State != CheckPending) {
		b.mu.Unlock()
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.cancel = cancel
	b.st.State = CheckRunning
	b.wg.Add(1)
	b.mu.Unlock()
	defer b.wg.Done()

	var (
		rep *Report
		v   *hwm.Verified
		err error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		lowPriority() // this goroutine's thread ends with it
		rep, v, err = live(ctx)
	}()
	<-done
	defer debug.FreeOSMemory() // give the check's memory back to the system

	b.mu.Lock()
	defer b.mu.Unlock()
	b.cancel = nil
	switch {
	case err != nil:
		b.st.State = CheckPending
		if ctx.Err() == nil {
			b.st.Error = err.Error()
			log.Warn("store: journal: the check in the background could not run; the next start checks the journal in full", "journal", path, "err", err)
		}
	case rep.Damaged():
		b.st.State, b.st.Error = CheckDamaged, ""
		for _, f := range rep.Findings {
			if f.Damage {
				b.st.Findings = append(b.st.Findings, f)
			}
		}
		log.Error("store: journal: "+(&DamageError{Report: rep}).Error(), "journal", path, "txid", rep.TxID)
	default:
		b.st = Status{State: CheckVerified, VerifiedTxID: v.TxID, VerifiedAt: v.At}
		if !b.closed {
			verified(v)
		}
		log.Info("store: journal: checked in full while running", "journal", path, "txid", v.TxID, "payments", rep.Payments, "events", rep.Events)
	}
}

// Stop stops a running check and waits for it; no check runs after it.
func (b *Background) Stop() {
	b.mu.Lock()
	b.closed = true
	if b.cancel != nil {
		b.cancel()
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// Verified records v, a state checked in full another way (the copy an
// online compaction checked before it took its place), as the last
// verified state; the status's state does not change.
func (b *Background) Verified(v *hwm.Verified) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.st.VerifiedTxID, b.st.VerifiedAt = v.TxID, v.At
}
