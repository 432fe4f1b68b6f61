package check

import (
	"errors"
	"fmt"
	"time"

	"github.com/posagent/posagent/store/record"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// OpenReadOnly checks the journal file at path with CheckFile (a damaged
// one gives a *DamageError) and only then lets bbolt open it, read-only
// (store.OpenReader, archive.Archive). A file a running agent holds gives
// ErrLocked after opt.LockTimeout.
func OpenReadOnly(path string, opt Options) (*bolt.DB, error) {
	if opt.LockTimeout <= 0 {
		opt.LockTimeout = time.Second
	}
	rep, err := CheckFile(path, opt)
	if err != nil {
		return nil, err
	}
	if rep.Damaged() {
		return nil, &DamageError{Report: rep}
	}
	if rep.Empty {
		return nil, fmt.Errorf("store: open %s: the file is empty (0 bytes): it holds no journal", path)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: opt.LockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("store: open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := db.View(func(tx *bolt.Tx) error {
		for _, b := range record.CoreBuckets {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("store: open %s: not a journal (no %s bucket)", path, b)
			}
		}
		return nil
	}); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
