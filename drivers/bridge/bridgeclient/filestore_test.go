package bridgeclient_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posagent/posagent/drivers/bridge/bridgeclient"
)

func TestFileStoreSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acked.txt")
	s, err := bridgeclient.OpenFileStore(path, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"rcpt:a:customer:0", "rcpt:b:customer:0"} {
		if err := s.Add(id); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Add("late"); err == nil {
		t.Error("Add after Close accepted")
	}

	// A crash mid-write leaves a torn last line: it is ignored.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("rcpt:c:cust")
	f.Close()

	s, err = bridgeclient.OpenFileStore(path, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for id, want := range map[string]bool{"rcpt:a:customer:0": true, "rcpt:b:customer:0": true, "rcpt:c:cust": false} {
		if got := s.Has(id); got != want {
			t.Errorf("after reopen Has(%q) = %v, want %v", id, got, want)
		}
	}
	if b, _ := os.ReadFile(path); strings.Contains(string(b), "rcpt:c") {
		t.Errorf("torn line kept in the file: %q", b)
	}
	if err := s.Add("bad\nid"); err == nil {
		t.Error("an id with a newline accepted")
	}
}

// The file stays bounded: past 2n lines it is rewritten with the n most
// recent ids, which are still there after a restart.
func TestFileStoreBounded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acked.txt")
	s, err := bridgeclient.OpenFileStore(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if err := s.Add(string(rune('a' + i))); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		if n := strings.Count(string(b), "\n"); n > 6 {
			t.Fatalf("after %d adds the file has %d lines, want at most 6", i+1, n)
		}
	}
	s.Close()
	s, err = bridgeclient.OpenFileStore(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for id, want := range map[string]bool{"t": true, "s": true, "r": true, "q": false, "a": false} {
		if got := s.Has(id); got != want {
			t.Errorf("Has(%q) = %v, want %v", id, got, want)
		}
	}
}
