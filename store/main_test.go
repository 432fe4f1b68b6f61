package store

import (
	"os"
	"testing"
)

// TestMain removes what the tests built once for the whole process (the
// journal fragmented copies).
func TestMain(m *testing.M) {
	code := m.Run()
	if fragmentedDir != "" {
		os.RemoveAll(fragmentedDir)
	}
	os.Exit(code)
}
