//go:build !unix

package fsutil

import (
	"os"
	"time"
)

// Lock is a no-op where flock does not exist; bbolt's own lock still
// keeps a second agent out.
func Lock(*os.File, bool, time.Duration) error { return nil }

// Unlock releases the lock Lock took.
func Unlock(*os.File) {}
