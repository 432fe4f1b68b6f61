package check

import (
	"errors"

	"github.com/posagent/posagent/store/internal/fsutil"
)

// Sentinel errors; test with errors.Is. The store package re-exports them
// (store.ErrLocked, store.ErrCorrupt, store.ErrRolledBack).
var (
	// ErrLocked: another process holds the journal file.
	ErrLocked = fsutil.ErrLocked
	// ErrCorrupt: the file is not a readable journal; it was left untouched.
	ErrCorrupt = errors.New("store: journal unreadable")
	// ErrRolledBack: the journal is behind its high-water mark (it went
	// back in time or was replaced); it was left untouched.
	ErrRolledBack = errors.New("store: journal rolled back")
)
