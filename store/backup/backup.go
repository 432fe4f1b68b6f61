package backup

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/posagent/posagent/store/check"
	"github.com/posagent/posagent/store/internal/fsutil"
)

// Copy backs up the journal at path when no agent holds it: the journal
// is checked first (a damaged journal is refused: use check.Salvage), then
// copied from a read-only transaction and verified.
func Copy(path, out string, opt check.Options) (*check.Report, error) {
	rep, err := check.CheckFile(path, opt)
	if err != nil {
		return nil, err
	}
	if rep.Damaged() {
		return rep, &check.DamageError{Report: rep}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: max(opt.LockTimeout, time.Second)})
	if err != nil {
		return nil, fmt.Errorf("store: backup %s: %w", path, err)
	}
	defer db.Close()
	err = Write(out, func(w io.Writer) error {
		return db.View(func(tx *bolt.Tx) error { _, err := tx.WriteTo(w); return err })
	})
	if err != nil {
		return nil, err
	}
	return Verify(out)
}

// Save writes a copy received from r (a running agent's
// GET /v1/journal/backup) to out durably and verifies it.
func Save(out string, r io.Reader) (*check.Report, error) {
	err := Write(out, func(w io.Writer) error {
		if _, err := io.Copy(w, r); err != nil {
			return fmt.Errorf("store: backup %s: %w", out, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return Verify(out)
}

// Verify checks the copy at out (check.CheckFile); a damaged one is
// removed, and the error says why.
func Verify(out string) (*check.Report, error) {
	rep, err := check.CheckFile(out, check.Options{})
	if err != nil {
		return nil, fmt.Errorf("store: verify backup %s: %w", out, err)
	}
	if rep.Damaged() {
		os.Remove(out)
		return rep, fmt.Errorf("store: verify backup %s: the copy is damaged (%v); it was removed", out, &check.DamageError{Report: rep})
	}
	return rep, nil
}

// Write writes out through a temporary file in its directory: written,
// fsynced, renamed, directory fsynced. An existing out is refused.
func Write(out string, write func(io.Writer) error) error {
	if _, err := os.Lstat(out); err == nil {
		return fmt.Errorf("store: backup %s: the file exists; choose a new name", out)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".tmp*")
	if err != nil {
		return fmt.Errorf("store: backup %s: %w", out, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("store: backup %s: %w", out, err)
	}
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("store: backup %s: %w", out, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("store: backup %s: %w", out, err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("store: backup %s: %w", out, err)
	}
	return fsutil.SyncDir(filepath.Dir(out))
}

const backupPrefix, backupExt = "posagent-", ".db"

// Name is the file name of a backup made at t; names sort by time.
func Name(t time.Time) string {
	return backupPrefix + t.UTC().Format("20060102T150405.000Z") + backupExt
}

// List lists the backups in dir, newest first, with their times.
func List(dir string) ([]string, []time.Time, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("store: backups %s: %w", dir, err)
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, backupPrefix) && strings.HasSuffix(n, backupExt) {
			if _, err := time.Parse("20060102T150405.000Z", strings.TrimSuffix(strings.TrimPrefix(n, backupPrefix), backupExt)); err == nil {
				names = append(names, n)
			}
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(names)))
	paths, times := make([]string, len(names)), make([]time.Time, len(names))
	for i, n := range names {
		paths[i] = filepath.Join(dir, n)
		times[i], _ = time.Parse("20060102T150405.000Z", strings.TrimSuffix(strings.TrimPrefix(n, backupPrefix), backupExt))
	}
	return paths, times, nil
}
