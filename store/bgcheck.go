package store

import (
	"context"
	"fmt"
	"os"

	"github.com/posagent/posagent/store/check"
)

// The check while the agent runs (check.Background): RunCheck checks, at
// the lowest CPU priority, the state of one read transaction (checkLive,
// check.Snapshot); damage found is kept (CheckStatus, Damage) and a sound
// journal moves Mark.Verified on, so the next start checks from there.

// integrity is a Store's check state.
type integrity = check.Background

// CheckStatus says how far the journal open in this process was checked
// (check.Status).
type CheckStatus = check.Status

// States of CheckStatus.
const (
	CheckVerified = check.CheckVerified
	CheckPending  = check.CheckPending
	CheckRunning  = check.CheckRunning
	CheckDamaged  = check.CheckDamaged
)

// startCheck records what the check before the start did and returns the
// verified state the mark carries.
func (s *Store) startCheck(rep *Report) *Verified { return s.integ.Started(rep, s.now()) }

// CheckStatus says how far the journal was checked (GET /v1/status).
func (s *Store) CheckStatus() CheckStatus { return s.integ.Status() }

// Damage is nil unless the check while the journal is open (RunCheck)
// found damage; then it says what, and errors.Is(err, ErrCorrupt) holds.
func (s *Store) Damage() error { return s.integ.Damage(s.path) }

// RunCheck checks in the background the journal the start checked quickly
// (nothing to do otherwise) and returns when that is done, ctx ends or the
// store closes. It never fails the caller: damage is kept for CheckStatus
// and Damage, and a check that could not run is logged.
func (s *Store) RunCheck(ctx context.Context) error {
	s.integ.Run(ctx, s.path, s.log, s.checkLive, s.mark.SetVerified)
	return nil
}

// stopCheck stops a running check and waits for it (Close).
func (s *Store) stopCheck() { s.integ.Stop() }

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
