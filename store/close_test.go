package store

import (
	"path/filepath"
	"testing"
)

// TestCloseTwice: a journal closed twice (a deferred Close after an
// explicit one, as the daemon's and the tests' clean-ups do) returns the
// first Close's result; it panicked on the mark file's closed channel.
func TestCloseTwice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("first close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	// The file closed is whole: it opens again.
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatalf("reopen after two closes: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
