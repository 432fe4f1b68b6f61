package offline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/posagent/posagent/store"
	"github.com/posagent/posagent/store/backup"
	"github.com/posagent/posagent/store/check"
	"github.com/posagent/posagent/store/internal/fsutil"
)

// RestoreResult says what Restore did.
type RestoreResult struct {
	Replaced string          // where the journal that was in place now is ("" when there was none)
	Report   *store.Report   // the check of the restored file
	Rollback *store.Rollback // how far back the restored journal is from the mark (nil: not behind)
}

// Restore puts the journal file in in place of the journal at path. It
// refuses while an agent holds the journal (store.ErrLocked) and when in
// is damaged or an archive (store.ErrArchive). The journal in place is kept
// as path.replaced-TIME; the restore is recorded as a "journal.restored"
// event, the event sequence moves past every sequence already announced,
// and the high-water mark follows.
func Restore(path, in string, opts store.Options) (*RestoreResult, error) {
	res := &RestoreResult{}
	rep, err := check.CheckFile(in, store.CheckOptions{LockTimeout: opts.LockTimeout})
	if err != nil {
		return nil, fmt.Errorf("store: restore from %s: %w", in, err)
	}
	res.Report = rep
	if rep.Damaged() || rep.Empty {
		return res, fmt.Errorf("store: restore from %s: not a sound journal (%v); run posagent journal check on it, or salvage it first", in, &store.DamageError{Report: rep})
	}
	if err := store.RefuseArchive(in, rep); err != nil {
		return res, fmt.Errorf("store: restore from %s: %w", in, err)
	}
	if same, _ := sameFile(path, in); same {
		return res, fmt.Errorf("store: restore from %s: that is the journal itself", in)
	}
	now := clockNow(opts)
	if res.Replaced, err = setAside(path, now, opts.LockTimeout); err != nil {
		return res, err
	}
	src, err := os.Open(in)
	if err != nil {
		return res, fmt.Errorf("store: restore from %s: %w", in, err)
	}
	err = backup.Write(path, func(w io.Writer) error { _, err := io.Copy(w, src); return err })
	src.Close()
	if err != nil {
		return res, err
	}
	s, _, err := store.OpenAccepting(path, opts, func(t *store.Tx, rep *store.Report) error {
		res.Rollback = rep.Rollback
		detail := map[string]any{"from": in, "replaced": res.Replaced, "found_seq": rep.LastSeq, "found_txid": rep.TxID}
		if m := rep.Mark; m != nil {
			detail["expected_seq"], detail["expected_txid"] = m.Seq, m.TxID
			if err := t.SkipTo(m.Seq); err != nil {
				return err
			}
		}
		_, err := t.JournalEvent("journal.restored", now, detail)
		return err
	})
	if err != nil {
		return res, err
	}
	return res, s.Close()
}

// setAside renames the journal at path (when there is one) to
// path.replaced-TIME under its lock: refused while an agent holds it.
func setAside(path string, now time.Time, lockTimeout time.Duration) (string, error) {
	cur, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: restore %s: %w", path, err)
	}
	defer cur.Close()
	if err := fsutil.Lock(cur, true, max(lockTimeout, 100*time.Millisecond)); err != nil {
		if errors.Is(err, store.ErrLocked) {
			return "", fmt.Errorf("%w: %s is held by a running posagent: stop it first (systemctl stop posagent), then restore", store.ErrLocked, path)
		}
		return "", fmt.Errorf("store: restore %s: %w", path, err)
	}
	replaced := path + ".replaced-" + now.UTC().Format("20060102T150405Z")
	err = os.Rename(path, replaced)
	fsutil.Unlock(cur)
	if err != nil {
		return replaced, fmt.Errorf("store: restore %s: %w", path, err)
	}
	return replaced, nil
}

func sameFile(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

// AcceptRollback opens a journal that is behind its high-water mark,
// records the acceptance as a "journal.rollback_accepted" event (with what
// the mark said and what the file holds, and note), moves the event
// sequence past every sequence already announced, and writes a new mark.
// A damaged journal is still refused. It returns what was accepted (nil
// when the journal was not behind its mark).
func AcceptRollback(path string, opts store.Options, note string) (*store.Rollback, error) {
	var accepted *store.Rollback
	s, _, err := store.OpenAccepting(path, opts, func(t *store.Tx, rep *store.Report) error {
		r := rep.Rollback
		if r == nil {
			return nil
		}
		accepted = r
		if err := t.SkipTo(r.Mark.Seq); err != nil {
			return err
		}
		_, err := t.JournalEvent("journal.rollback_accepted", clockNow(opts), map[string]any{
			"reason": r.Reason, "expected_seq": r.Mark.Seq, "expected_txid": r.Mark.TxID, "expected_journal_id": r.Mark.JournalID,
			"found_seq": r.Seq, "found_txid": r.TxID, "note": note,
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return accepted, s.Close()
}

func clockNow(opts store.Options) time.Time {
	if opts.Clock == nil {
		return time.Now()
	}
	return opts.Clock()
}
