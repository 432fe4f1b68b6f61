package store

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/posagent/posagent/store/check"
)

// The check while the agent runs. A start that had the quick check
// (quickcheck.go) leaves the rest of the journal to RunCheck: the same
// record-level check as before a start (CheckFile without bbolt's own
// tx.Check, which reads through the memory map), of the state of one read
// transaction, read with plain reads (never the memory map, so the pages
// it reads do not stay in the agent's memory) on a thread of the lowest
// CPU priority. Damage found is kept (CheckStatus, Damage); a sound
// journal moves Mark.Verified on, so the next start checks from there.

// States of CheckStatus.
const (
	CheckVerified = "verified" // every record checked since this start (or before it)
	CheckPending  = "pending"  // the quick check at start; RunCheck has not finished yet
	CheckRunning  = "checking" // RunCheck is reading the journal
	CheckDamaged  = "damaged"  // RunCheck found damage: see Findings
)

// CheckStatus says how far the journal open in this process was checked.
type CheckStatus struct {
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

// integrity is a Store's check state.
type integrity struct {
	mu     sync.Mutex
	st     CheckStatus
	closed bool
	cancel context.CancelFunc // of the running check
	wg     sync.WaitGroup
}

// startCheck records what the check before the start did and returns the
// verified state the mark carries.
func (s *Store) startCheck(rep *Report) *Verified {
	s.integ.mu.Lock()
	defer s.integ.mu.Unlock()
	if rep.Quick && rep.Mark != nil && rep.Mark.Verified != nil {
		v := rep.Mark.Verified
		s.integ.st = CheckStatus{State: CheckPending, VerifiedTxID: v.TxID, VerifiedAt: v.At}
		return v
	}
	v := &Verified{TxID: rep.TxID, Root: rep.Root, At: s.now()}
	s.integ.st = CheckStatus{State: CheckVerified, VerifiedTxID: v.TxID, VerifiedAt: v.At}
	return v
}

// CheckStatus says how far the journal was checked (GET /v1/status).
func (s *Store) CheckStatus() CheckStatus {
	s.integ.mu.Lock()
	defer s.integ.mu.Unlock()
	st := s.integ.st
	st.Findings = append([]Finding(nil), st.Findings...)
	return st
}

// Damage is nil unless the check while the journal is open (RunCheck)
// found damage; then it says what, and errors.Is(err, ErrCorrupt) holds.
func (s *Store) Damage() error {
	s.integ.mu.Lock()
	defer s.integ.mu.Unlock()
	if s.integ.st.State != CheckDamaged {
		return nil
	}
	var dmg []string
	for i, f := range s.integ.st.Findings {
		if i == 3 {
			dmg = append(dmg, fmt.Sprintf("and %d more", len(s.integ.st.Findings)-3))
			break
		}
		dmg = append(dmg, f.String())
	}
	return fmt.Errorf("%w: %s is damaged (found by the check while the agent runs): %s. "+
		"New payments are refused; payments already started are still recovered. What to do: finish or cancel the open payments, "+
		"stop the agent, run \"posagent journal check\", then restore the newest backup (\"posagent journal restore FILE\") or salvage "+
		"(\"posagent journal salvage NEW.db\", then \"posagent journal restore NEW.db\")", ErrCorrupt, s.path, strings.Join(dmg, "; "))
}

// RunCheck checks in the background the journal the start checked quickly
// (nothing to do otherwise) and returns when that is done, ctx ends or the
// store closes. It never fails the caller: damage is kept for CheckStatus
// and Damage, and a check that could not run is logged.
func (s *Store) RunCheck(ctx context.Context) error {
	in := &s.integ
	in.mu.Lock()
	if in.closed || (in.st.State != CheckPending) {
		in.mu.Unlock()
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	in.cancel = cancel
	in.st.State = CheckRunning
	in.wg.Add(1)
	in.mu.Unlock()
	defer in.wg.Done()

	var (
		rep *Report
		v   *Verified
		err error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		lowPriority() // this goroutine's thread ends with it
		rep, v, err = s.checkLive(ctx)
	}()
	<-done
	defer debug.FreeOSMemory() // give the check's memory back to the system

	in.mu.Lock()
	defer in.mu.Unlock()
	in.cancel = nil
	switch {
	case err != nil:
		in.st.State = CheckPending
		if ctx.Err() == nil {
			in.st.Error = err.Error()
			s.log.Warn("store: journal: the check in the background could not run; the next start checks the journal in full", "journal", s.path, "err", err)
		}
	case rep.Damaged():
		in.st.State, in.st.Error = CheckDamaged, ""
		for _, f := range rep.Findings {
			if f.Damage {
				in.st.Findings = append(in.st.Findings, f)
			}
		}
		s.log.Error("store: journal: "+(&DamageError{Report: rep}).Error(), "journal", s.path, "txid", rep.TxID)
	default:
		in.st = CheckStatus{State: CheckVerified, VerifiedTxID: v.TxID, VerifiedAt: v.At}
		if !in.closed {
			s.mark.setVerified(v)
		}
		s.log.Info("store: journal: checked in full while running", "journal", s.path, "txid", v.TxID, "payments", rep.Payments, "events", rep.Events)
	}
	return nil
}

// stopCheck stops a running check and waits for it (Close).
func (s *Store) stopCheck() {
	s.integ.mu.Lock()
	s.integ.closed = true
	if s.integ.cancel != nil {
		s.integ.cancel()
	}
	s.integ.mu.Unlock()
	s.integ.wg.Wait()
}

// checkLive checks the journal as one read transaction sees it
// (check.Snapshot). Its meta page is read before any later commit can
// overwrite it (commits wait for wmu).
func (s *Store) checkLive(ctx context.Context) (*Report, *Verified, error) {
	s.wmu.Lock()
	f, err := os.Open(s.path) // under wmu: the file of the current handle
	if err != nil {
		s.wmu.Unlock()
		return nil, nil, fmt.Errorf("store: check %s: %w", s.path, err)
	}
	defer f.Close()
	r := s.acquire() // the handle of the file just opened (wmu held)
	defer r.release()
	tx, err := r.db.Begin(false)
	if err != nil {
		s.wmu.Unlock()
		return nil, nil, fmt.Errorf("store: check %s: %w", s.path, err)
	}
	defer tx.Rollback()
	snap, err := check.ReadSnapshot(ctx, f, s.path, uint64(tx.ID()))
	s.wmu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	rep, err := snap.Check(ctx)
	if err != nil {
		return nil, nil, err
	}
	return rep, &Verified{TxID: rep.TxID, Root: rep.Root, At: s.now()}, nil
}
