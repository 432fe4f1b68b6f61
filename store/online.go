package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/posagent/posagent/store/internal/fsutil"
	bolt "go.etcd.io/bbolt"
)

// Online compaction: the running agent rewrites its journal into a fresh
// file without the free pages, as CompactFile does with the agent stopped.
// Commits wait while it runs (it holds wmu from the first copied page to
// the swap); reads go on, on the old file until the swap, then on the new
// one. The steps, and what a crash after each leaves:
//
//  1. every record copied into path.compact-tmp (bbolt's compact), fsynced,
//     checked like any journal, compared record by record with the journal:
//     the old journal in place, its mark unchanged (the copy is removed at
//     the next compaction);
//  2. the copy opened (its lock taken, before its name is the journal's);
//  3. the high-water mark moved to the copy's transaction, without a
//     verified state: the old journal in place is not behind it (same event
//     sequence, a higher transaction), and is checked in full at the next
//     start;
//  4. the copy renamed into place, the directory fsynced: the new journal
//     in place, matching its mark;
//  5. the store switches to the copy; the mark records it as verified (a
//     full check of it passed in step 1); the calls that began on the old
//     file finish on it, then it is closed;
//  6. a journal.compacted event moves the event sequence on, so the old
//     file, put back, is refused as behind its mark.
//
// A failure before step 4 leaves the old journal in use, the copy removed.

// compactSteps names the points a test may stop the compaction at.
const (
	stepCopied  = "copied"
	stepOpened  = "opened"
	stepMarked  = "marked"
	stepRenamed = "renamed"
	stepSwapped = "swapped"
)

// errCompactBusy: the journal is in use by payments, or not verified since
// the start.
var errCompactBusy = errors.New("store: compact: not now")

// CompactNow rewrites the open journal into a fresh file without its free
// pages while the agent runs (the steps above). It refuses (an error, the
// journal untouched) while the journal's check in the background has not
// verified it, or found damage.
func (s *Store) CompactNow() (*CompactFileResult, error) {
	if st := s.CheckStatus(); st.State != CheckVerified {
		return nil, fmt.Errorf("%w: the journal's check is %s", errCompactBusy, st.State)
	}
	s.wmu.Lock()
	res, err := s.compactLocked()
	s.wmu.Unlock()
	if err != nil {
		return nil, err
	}
	err = s.Update(func(t *Tx) error {
		_, err := t.JournalEvent("journal.compacted", s.now(), map[string]any{
			"size_before": res.Before, "size_after": res.After, "free_before": res.FreeBefore, "online": true})
		return err
	})
	res.Recorded = err == nil
	return res, nil
}

// compactLocked runs steps 1 to 5 with commits held (wmu).
func (s *Store) compactLocked() (*CompactFileResult, error) {
	old := s.acquire()
	defer old.release()
	res := &CompactFileResult{}
	var seq uint64
	err := old.db.View(func(tx *bolt.Tx) error {
		res.Before, seq = tx.Size(), tx.Bucket(bEvents).Sequence()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: compact %s: %w", s.path, err)
	}
	res.FreeBefore = int64(old.db.Stats().FreePageN) * int64(old.db.Info().PageSize)
	tmp := s.path + ".compact-tmp"
	os.Remove(tmp) // a copy left by a crash
	renamed := false
	defer func() {
		if !renamed {
			os.Remove(tmp)
		}
	}()
	if err := copyChecked(old.db, s.path, tmp, Options{LockTimeout: time.Second}, res); err != nil {
		return nil, err
	}
	if err := s.step(stepCopied); err != nil {
		return nil, err
	}
	ndb, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: time.Second, NoSync: s.noSync, PreLoadFreelist: true})
	if err != nil {
		return nil, fmt.Errorf("store: compact %s: open the copy: %w", s.path, err)
	}
	if err := s.swapFile(ndb, tmp, seq, res); err != nil {
		ndb.Close()
		return nil, err
	}
	renamed = true
	s.cur.Store(newDBRef(ndb))
	old.retire()
	s.retiring.Add(1)
	go func() {
		defer s.retiring.Done()
		<-old.idle
		old.db.Close()
	}()
	v := &Verified{TxID: res.Report.TxID, Root: res.Report.Root, At: s.now()}
	s.mark.SetVerified(v)
	s.integ.Verified(v)
	s.step(stepSwapped)
	return res, nil
}

// swapFile runs steps 2 to 4: the mark moved to the copy (opened as ndb),
// then the copy renamed into place. Before the rename, a failure puts the
// verified state back.
func (s *Store) swapFile(ndb *bolt.DB, tmp string, seq uint64, res *CompactFileResult) error {
	if err := s.step(stepOpened); err != nil {
		return err
	}
	verified := s.mark.Verified()
	if err := s.mark.WriteNow(Mark{JournalID: s.id, Seq: seq, TxID: res.Report.TxID, At: s.now()}, nil); err != nil {
		s.mark.SetVerified(verified)
		return fmt.Errorf("store: compact %s: %w", s.path, err)
	}
	if err := s.step(stepMarked); err != nil {
		s.mark.SetVerified(verified)
		return err
	}
	if err := os.Rename(tmp, s.path); err != nil {
		s.mark.SetVerified(verified)
		return fmt.Errorf("store: compact %s: %w", s.path, err)
	}
	if err := fsutil.SyncDir(filepath.Dir(s.path)); err != nil {
		// The copy is in place; only the directory entry may not be on
		// disk yet. Either file, found after a crash, matches the mark.
		s.log.Warn("store: compact: fsync of the journal's directory failed", "journal", s.path, "err", err)
	}
	s.step(stepRenamed) // from here on there is no going back: a hook can only crash the process
	return nil
}

// step lets a test stop the compaction (hook), or crash the process.
func (s *Store) step(name string) error {
	if s.hook == nil {
		return nil
	}
	return s.hook(name)
}

// compactDue reports whether the running journal should be compacted:
// its free pages take lim bytes and half its pages, no payment is being
// taken (awaiting a code, processing, queued), and nothing was committed
// for idle.
func (s *Store) compactDue(lim int64, idle time.Duration) bool {
	if lim < 0 || s.now().Sub(time.Unix(0, s.lastCommit.Load())) < idle {
		return false
	}
	var size, free int64
	busy := false
	err := s.withDB(func(db *bolt.DB) error {
		free = int64(db.Stats().FreePageN) * int64(db.Info().PageSize)
		return db.View(func(btx *bolt.Tx) error {
			size = btx.Size()
			c := (&Tx{tx: btx}).Counts()
			busy = c[AwaitingCode]+c[Processing]+c[Queued] > 0
			return nil
		})
	})
	return err == nil && !busy && free >= lim && 2*free >= size
}

// CompactIfDue runs the online compaction (CompactNow) when the free pages
// take free bytes and half the journal's pages, no payment is being taken
// and nothing was committed for idle (0: DefaultCompactFree and 1 min). A
// failure is logged; the journal is used as it is.
func (s *Store) CompactIfDue(free int64, idle time.Duration) {
	free, idle = compactDefaults(free, idle)
	if !s.compactDue(free, idle) {
		return
	}
	res, err := s.CompactNow()
	if err != nil {
		if !errors.Is(err, errCompactBusy) {
			s.log.Warn("store: journal: compaction while running failed; the journal is used as it is", "journal", s.path, "err", err)
		}
		return
	}
	s.log.Info("store: journal: compacted while running", "journal", s.path, "size_before", res.Before, "size_after", res.After)
}

func compactDefaults(free int64, idle time.Duration) (int64, time.Duration) {
	if free == 0 {
		free = DefaultCompactFree
	}
	if idle <= 0 {
		idle = time.Minute
	}
	return free, idle
}
