package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// allPresent fails unless every id is a payment of the journal at path and
// the journal checks sound; it returns its size in bytes.
func allPresent(t *testing.T, path string, ids []string) int64 {
	t.Helper()
	s, err := Open(path, Options{CompactFree: -1, FullCheck: true})
	if err != nil {
		t.Fatalf("open after: %v", err)
	}
	defer s.Close()
	s.View(func(tx *Tx) error {
		for _, id := range ids {
			if _, err := tx.Payment(id); err != nil {
				t.Errorf("payment %s: %v", id, err)
			}
		}
		return nil
	})
	return s.Size()
}

// The running store rewrites its journal: a read that began before goes
// on on the old file, commits wait and land in the new one, the file
// shrinks, the compaction is recorded, and the old file put back is
// refused as behind its mark.
func TestCompactNowWhileRunning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	kept := fragmented(t, path)
	old := filepath.Join(t.TempDir(), "old.db")
	copyFile(t, path, old)
	s, err := Open(path, Options{CompactFree: -1})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := s.Usage()
	reading, compacted, read := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		read <- s.View(func(tx *Tx) error {
			close(reading)
			<-compacted
			_, err := tx.Payment(kept[0])
			return err
		})
	}()
	<-reading
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		takePayments(t, s, 5000, 10) // commits during the compaction
	}()
	res, err := s.CompactNow()
	close(compacted)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-read; err != nil {
		t.Errorf("a read begun before the compaction: %v", err)
	}
	wg.Wait()
	after, _ := s.Usage()
	if !res.Recorded || res.After >= res.Before || after.FileBytes >= before.FileBytes {
		t.Errorf("compaction: %+v; file %d -> %d bytes", res, before.FileBytes, after.FileBytes)
	}
	s.View(func(tx *Tx) error {
		evs, _ := tx.Events(0, 0, 0)
		var found bool
		for _, ev := range evs {
			found = found || bytes.Contains(ev.Data, []byte(`"kind":"journal.compacted"`)) && bytes.Contains(ev.Data, []byte(`"online":true`))
		}
		if !found {
			t.Error("no journal.compacted event")
		}
		return nil
	})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ids := append(kept, "pay_00005000", "pay_00005009")
	allPresent(t, path, ids)
	if s, rep, err := OpenReport(path, quick); err != nil {
		t.Errorf("quick start after: %v", err)
	} else {
		if !rep.Quick {
			t.Error("the compacted journal's mark names no verified state")
		}
		s.Close()
	}
	copyFile(t, old, path)
	if _, err := Open(path, Options{CompactFree: -1}); !errors.Is(err, ErrRolledBack) {
		t.Errorf("the journal from before the compaction put back: %v, want refused", err)
	}
}

// A compaction stopped by a failure at each step before the rename leaves
// the old journal in use, whole, and no copy behind.
func TestCompactNowFailureLeavesTheOldJournal(t *testing.T) {
	for _, step := range []string{stepCopied, stepOpened, stepMarked} {
		t.Run(step, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "posagent.db")
			kept := fragmented(t, path)
			s, err := Open(path, Options{CompactFree: -1})
			if err != nil {
				t.Fatal(err)
			}
			fi, _ := os.Stat(path)
			s.hook = func(at string) error {
				if at == step {
					return fmt.Errorf("injected at %s", at)
				}
				return nil
			}
			if _, err := s.CompactNow(); err == nil || !strings.Contains(err.Error(), "injected at "+step) {
				t.Fatalf("CompactNow: %v", err)
			}
			takePayments(t, s, 5000, 2) // the store goes on, on the old file
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if cur, _ := os.Stat(path); !os.SameFile(fi, cur) {
				t.Error("the journal file was replaced")
			}
			if _, err := os.Stat(path + ".compact-tmp"); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the copy was left behind: %v", err)
			}
			allPresent(t, path, append(kept, "pay_00005000", "pay_00005001"))
		})
	}
}

// A process killed at each step of the compaction leaves a journal that
// starts (neither damaged nor behind its mark) with every payment: the old
// file before the rename, the new one after.
func TestCompactNowKilledAtEachStep(t *testing.T) {
	if step := os.Getenv("POSAGENT_COMPACT_CRASH_AT"); step != "" {
		compactAndDie(os.Getenv("POSAGENT_COMPACT_JOURNAL"), step)
		return
	}
	for _, step := range []string{stepCopied, stepOpened, stepMarked, stepRenamed, stepSwapped} {
		t.Run(step, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "posagent.db")
			kept := fragmented(t, path)
			fi, _ := os.Stat(path)
			cmd := exec.Command(os.Args[0], "-test.run=^TestCompactNowKilledAtEachStep$")
			cmd.Env = append(os.Environ(), "POSAGENT_COMPACT_CRASH_AT="+step, "POSAGENT_COMPACT_JOURNAL="+path)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 7 {
				t.Fatalf("the compacting process did not die at %s: %v\n%s", step, err, out)
			}
			cur, _ := os.Stat(path)
			replaced := !os.SameFile(fi, cur)
			if want := step == stepRenamed || step == stepSwapped; replaced != want {
				t.Errorf("killed at %s: the journal replaced %v, want %v", step, replaced, want)
			}
			size := allPresent(t, path, kept)
			if replaced && size >= fi.Size() {
				t.Errorf("killed at %s: the new journal has %d bytes, the old %d", step, size, fi.Size())
			}
		})
	}
}

// compactAndDie opens the journal at path and compacts it, exiting with
// status 7 at step, files as they are.
func compactAndDie(path, step string) {
	s, err := Open(path, Options{CompactFree: -1})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	s.hook = func(at string) error {
		if at == step {
			os.Exit(7)
		}
		return nil
	}
	_, err = s.CompactNow()
	fmt.Println("not killed:", err)
	os.Exit(1)
}

// The maintenance loop compacts a quiet journal whose free pages are half
// of it, and leaves one being used alone.
func TestMaintenanceCompactsWhenQuiet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	fragmented(t, path)
	clock := &fakeClock{t: time.Now()}
	s, err := Open(path, Options{CompactFree: -1, Clock: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	free, idle := compactDefaults(1<<20, 0)
	if s.compactDue(free, idle) {
		t.Error("due right after a commit")
	}
	clock.add(2 * time.Minute)
	if !s.compactDue(free, idle) {
		t.Fatal("not due on a quiet journal with half its pages free")
	}
	err = s.Update(func(tx *Tx) error {
		return tx.PutPayment(&Payment{ID: "pay_waiting", OrderID: "W1", State: AwaitingCode, CreatedAt: clock.now(), UpdatedAt: clock.now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	clock.add(2 * time.Minute)
	if s.compactDue(free, idle) {
		t.Error("due while a payment awaits its code")
	}
	err = s.Update(func(tx *Tx) error {
		return tx.PutPayment(&Payment{ID: "pay_waiting", OrderID: "W1", State: Cancelled, CreatedAt: clock.now(), UpdatedAt: clock.now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Compact(clock.now().AddDate(1, 0, 0)); err != nil { // the retention frees every page but a few
		t.Fatal(err)
	}
	// One more commit: the pages the retention freed are free from it on
	// (bbolt holds them pending until then).
	if err := s.Update(func(tx *Tx) error { return tx.PutPayment(&Payment{ID: "pay_waiting", OrderID: "W1", State: Cancelled}) }); err != nil {
		t.Fatal(err)
	}
	clock.add(2 * time.Minute)
	size := s.Size()
	s.CompactIfDue(free, idle)
	if s.Size() >= size {
		t.Errorf("not compacted: %d -> %d bytes", size, s.Size())
	}
}

// Close called while an online compaction runs waits for it: the journal
// closes whole, holding every payment, never half swapped.
func TestCloseWaitsForCompactNow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	kept := fragmented(t, path)
	s, err := Open(path, Options{CompactFree: -1})
	if err != nil {
		t.Fatal(err)
	}
	inCopy, release := make(chan struct{}), make(chan struct{})
	s.hook = func(step string) error {
		if step == stepCopied {
			close(inCopy)
			<-release
		}
		return nil
	}
	compacted := make(chan error, 1)
	go func() { _, err := s.CompactNow(); compacted <- err }()
	<-inCopy
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while the compaction held the journal", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-compacted; err != nil {
		t.Fatalf("compaction: %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatalf("close: %v", err)
	}
	allPresent(t, path, kept)
}
