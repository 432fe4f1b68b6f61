package check

import (
	"errors"

	"github.com/posagent/posagent/store/internal/fsutil"
)

// Sentinel errors; test with errors.Is. The store package re-exports them
// (store.ErrLocked, store.ErrCorrupt).
var (
	// ErrLocked: another process holds the journal file.
	ErrLocked = fsutil.ErrLocked
	// ErrCorrupt: the file is not a readable journal; it was left untouched.
	ErrCorrupt = errors.New("store: journal unreadable")
)
