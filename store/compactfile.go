package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/posagent/posagent/store/check"
	"github.com/posagent/posagent/store/hwm"
	"github.com/posagent/posagent/store/internal/fsutil"
	bolt "go.etcd.io/bbolt"
)

// DefaultCompactFree is the free space at which Open rewrites the
// journal by itself (Options.CompactFree): 16 MiB, and at least half the
// file.
const DefaultCompactFree = 16 << 20

// CompactFileResult says what CompactFile did.
type CompactFileResult struct {
	Before, After int64   // the pages in use before and after, in bytes
	FreeBefore    int64   // the free pages it held before, in bytes
	Report        *Report // the check of the new file
	Recorded      bool    // the journal.compacted event was written
}

// CompactFile rewrites the journal at path into a fresh file that holds
// the same records without the free pages (bbolt's Compact, pages packed
// full). It refuses a journal that is damaged or behind its high-water
// mark, and one that another process holds (ErrLocked): it runs with the
// agent stopped, or by Open at start (Options.CompactFree).
//
// The copy is written beside the journal, fsynced, checked, and compared
// record by record (and every bucket's sequence) with the journal, under
// the journal's lock. The high-water mark is moved to the copy's bbolt
// transaction before the copy is renamed into place, so a crash at any
// step leaves either file with a mark it is not behind. The key file is
// untouched: the records and the codes they seal are the same. Old
// versions of records left in free pages (sealed codes among them) are
// gone from the new file. The compaction is recorded as a
// "journal.compacted" event.
func CompactFile(path string, opts Options) (*CompactFileResult, error) {
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	rep, err := compactable(path, opts)
	if err != nil {
		return nil, err
	}
	// The journal's own lock (bbolt's, exclusive) is held until the copy
	// is in place: no agent can start on either file meanwhile.
	src, err := boltOpen(path, opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if src != nil {
			src.Close()
		}
	}()
	res := &CompactFileResult{}
	var srcSeq uint64
	var id string
	err = src.View(func(tx *bolt.Tx) error {
		res.Before = tx.Size()
		if b := tx.Bucket(bEvents); b != nil {
			srcSeq = b.Sequence()
		}
		if b := tx.Bucket(bMeta); b != nil {
			id = string(b.Get(keyJournalID))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: compact %s: %w", path, err)
	}
	res.FreeBefore = int64(src.Stats().FreePageN) * int64(src.Info().PageSize)

	tmp := path + ".compact-tmp"
	os.Remove(tmp) // a copy left by a crash
	defer os.Remove(tmp)
	if err := copyChecked(src, path, tmp, opts, res); err != nil {
		return nil, err
	}
	// The mark first: the journal in place is not behind it (same
	// sequence, a higher transaction), and the copy matches it.
	if err := swapIn(path, tmp, rep, Mark{JournalID: id, Seq: srcSeq, TxID: res.Report.TxID, At: opts.clockNow()}); err != nil {
		return nil, err
	}
	src.Close()
	src = nil
	return res, recordCompaction(path, opts, res)
}

// compactable checks the journal CompactFile is to rewrite: sound, not
// behind its mark, held by no agent.
func compactable(path string, opts Options) (*Report, error) {
	rep, _, err := inspect(path, CheckOptions{LockTimeout: opts.LockTimeout})
	if errors.Is(err, ErrLocked) {
		return nil, fmt.Errorf("%w: %s is held by a running posagent: stop it first (systemctl stop posagent), then compact", ErrLocked, path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: compact %s: %w", path, err)
	}
	if rep.Damaged() || rep.Empty || rep.Missing {
		return nil, fmt.Errorf("store: compact %s: not a sound journal (%v): run posagent journal check", path, &DamageError{Report: rep})
	}
	if rep.Rollback != nil {
		return nil, &RollbackError{Path: path, Rollback: rep.Rollback}
	}
	return rep, nil
}

// copyChecked copies src into tmp (bbolt's compact, one fsync), checks
// the copy and compares it record by record with src; res gets the
// copy's size and check.
func copyChecked(src *bolt.DB, path, tmp string, opts Options, res *CompactFileResult) error {
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: opts.LockTimeout, NoSync: true})
	if err != nil {
		return fmt.Errorf("store: compact %s: %w", path, err)
	}
	err = bolt.Compact(dst, src, 64<<20)
	if err == nil {
		err = dst.Sync() // one fsync for the whole copy (NoSync above)
	}
	if err == nil {
		err = dst.View(func(tx *bolt.Tx) error { res.After = tx.Size(); return nil })
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store: compact %s: copy: %w", path, err)
	}
	if res.Report, err = check.CheckFile(tmp, CheckOptions{}); err != nil {
		return fmt.Errorf("store: compact %s: check the copy: %w", path, err)
	}
	if res.Report.Damaged() {
		return fmt.Errorf("store: compact %s: the copy does not check (%v); the journal was not touched", path, &DamageError{Report: res.Report})
	}
	if err := check.SameRecords(src, tmp); err != nil {
		return fmt.Errorf("store: compact %s: the copy differs from the journal (%v); the journal was not touched", path, err)
	}
	return nil
}

// swapIn writes m, the copy's state, as the journal's high-water mark, then
// renames the copy tmp into place and fsyncs the directory.
func swapIn(path, tmp string, rep *Report, m Mark) error {
	var gen uint64
	if rep.Mark != nil {
		gen = rep.Mark.Gen
	}
	mf, err := hwm.Open(MarkPath(path), gen, nil)
	if err != nil {
		return err
	}
	err = mf.Write(m)
	if cerr := mf.Discard(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("store: compact %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("store: compact %s: %w", path, err)
	}
	if err := fsutil.SyncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("store: compact %s: %w", path, err)
	}
	return nil
}

// recordCompaction records the compaction in the new journal as a
// journal.compacted event (res.Recorded).
func recordCompaction(path string, opts Options, res *CompactFileResult) error {
	s, _, err := openJournal(path, Options{LockTimeout: opts.LockTimeout, Logger: opts.Logger, Clock: opts.Clock, KeyRotation: opts.KeyRotation, CompactFree: -1},
		func(t *Tx, _ *Report) error {
			_, err := t.JournalEvent("journal.compacted", opts.clockNow(), map[string]any{
				"size_before": res.Before, "size_after": res.After, "free_before": res.FreeBefore})
			return err
		})
	if err != nil {
		// The compacted journal is in place and sound; only the record of
		// the compaction is missing (an agent started meanwhile).
		return nil
	}
	res.Recorded = true
	return s.Close()
}
