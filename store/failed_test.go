//go:build linux

package store

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A commit that fails while writing the file (here: the file may not
// grow, RLIMIT_FSIZE, as on a full disk) has an unknown outcome on disk.
// The store must take no change after it, even one that would fit: the
// caller was told its commit failed, and a later commit could overwrite a
// meta page that did reach the disk. Before, the next small change was
// committed as if nothing had happened. The limit is set in a child
// process (it would bind the whole test binary).
func TestNoCommitAfterAFailedCommit(t *testing.T) {
	if os.Getenv("POSAGENT_FSIZE_CHILD") == "1" {
		failedCommitChild(t)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoCommitAfterAFailedCommit$", "-test.v")
	cmd.Env = append(os.Environ(), "POSAGENT_FSIZE_CHILD=1", "POSAGENT_FSIZE_DIR="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "CHILD OK") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	// Opened again, the journal is read as it is on disk, consistent.
	s := open(t, filepath.Join(dir, "posagent.db"), Options{})
	if err := s.Update(func(tx *Tx) error {
		return tx.PutPayment(&Payment{ID: "pay_after", OrderID: "Pafter", Mode: "scan", Amount: 1, Currency: "CAD", State: Processing})
	}); err != nil {
		t.Fatalf("after reopening: %v", err)
	}
}

func failedCommitChild(t *testing.T) {
	signal.Ignore(syscall.SIGXFSZ) // a write past the limit returns EFBIG
	path := filepath.Join(os.Getenv("POSAGENT_FSIZE_DIR"), "posagent.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	small := func(id string) error {
		return s.Update(func(tx *Tx) error {
			return tx.PutPayment(&Payment{ID: id, OrderID: "P" + id, Mode: "scan", Amount: 1, Currency: "CAD", State: Processing, CreatedAt: time.Now()})
		})
	}
	if err := small("pay_first"); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	lim := uint64(fi.Size())
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: lim, Max: lim}); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
	// A change too large for the file as it is: the file must grow.
	big := &Payment{ID: "pay_big", OrderID: "Pbig", Mode: "scan", Amount: 1, Currency: "CAD", State: Processing, Reference: strings.Repeat("x", 4<<20)}
	err = s.Update(func(tx *Tx) error { return tx.PutPayment(big) })
	if err == nil {
		t.Fatal("a commit past the file size limit succeeded")
	}
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("the failed commit: %v, want ErrFailed", err)
	}
	// A small change would fit in the file's free pages: still refused.
	if err := small("pay_second"); !errors.Is(err, ErrFailed) {
		t.Fatalf("a change after the failed commit: %v, want ErrFailed", err)
	}
	if s.Failed() == nil {
		t.Fatal("Failed() is nil after a failed commit")
	}
	t.Log("CHILD OK")
	os.Stdout.WriteString("CHILD OK\n")
}
