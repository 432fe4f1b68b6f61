// Package fsutil holds the file primitives the journal's packages share:
// the flock a reader of a journal file takes (the lock bbolt takes, so a
// check waits for a running agent instead of reading a file being
// written) and durable writes (a file replaced by rename, a directory
// fsynced).
package fsutil

import "errors"

// ErrLocked: another process holds the journal file (store.ErrLocked).
var ErrLocked = errors.New("store: journal in use")
