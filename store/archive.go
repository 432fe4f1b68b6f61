package store

import (
	"errors"
	"fmt"
	"time"

	"github.com/posagent/posagent/store/check"
	"github.com/posagent/posagent/store/record"
	bolt "go.etcd.io/bbolt"
)

// ErrArchive: the file is an archive; the agent does not run on one (nor
// is one restored in place of the journal).
var ErrArchive = errors.New("store: an archive, not a live journal")

// refuseArchive refuses a file its check found to be an archive.
func RefuseArchive(path string, rep *Report) error {
	if rep == nil || rep.ArchiveBefore == nil {
		return nil
	}
	return fmt.Errorf("%w: %s holds the history before %s written by posagent journal archive; read it with posagent export --archive %s",
		ErrArchive, path, rep.ArchiveBefore.Format(time.RFC3339Nano), path)
}

// archivedBefore decodes meta archive/before (nil: none).
func archivedBefore(v []byte) *time.Time { return record.ArchivedBefore(v) }

// Reader reads a journal file no process holds (an archive, a backup),
// read-only.
type Reader struct {
	db *bolt.DB
}

// OpenReader checks the journal file at path (a damaged one gives a
// *DamageError) and opens it read-only (check.OpenReadOnly). A file a
// running agent holds gives ErrLocked after opt.LockTimeout.
func OpenReader(path string, opt CheckOptions) (*Reader, error) {
	db, err := check.OpenReadOnly(path, opt)
	if err != nil {
		return nil, err
	}
	return &Reader{db: db}, nil
}

// View runs fn in a read-only transaction. Payment codes are not opened
// (a Reader has no data keys).
func (r *Reader) View(fn func(tx *Tx) error) error {
	return r.db.View(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx}) })
}

// ArchivedBefore is the time an archive holds the history before (zero:
// the file is not an archive).
func (t *Tx) ArchivedBefore() time.Time {
	if at := archivedBefore(t.tx.Bucket(bMeta).Get(record.KeyArchiveBefore)); at != nil {
		return *at
	}
	return time.Time{}
}

// Close closes the file.
func (r *Reader) Close() error { return r.db.Close() }
