//go:build !unix

package store

import (
	"os"
	"time"
)

// lockFile is a no-op where flock does not exist; bbolt's own lock still
// keeps a second agent out.
func lockFile(*os.File, bool, time.Duration) error { return nil }

func unlockFile(*os.File) {}
