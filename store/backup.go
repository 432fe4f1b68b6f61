package store

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/posagent/posagent/store/backup"
	bolt "go.etcd.io/bbolt"
)

// BackupStatus is the state of the journal's backups (GET /v1/status).
type BackupStatus struct {
	Dir       string    `json:"dir,omitempty"`
	Last      time.Time `json:"last_at,omitzero"`
	LastPath  string    `json:"last_path,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	// AgeSeconds is the newest verified backup's age; -1 when there is none.
	AgeSeconds float64 `json:"age_seconds"`
}

// BackupStatus reports the newest verified backup and the last error.
func (s *Store) BackupStatus() BackupStatus {
	s.bmu.Lock()
	b := s.backup
	s.bmu.Unlock()
	b.AgeSeconds = -1
	if !b.Last.IsZero() {
		b.AgeSeconds = s.now().Sub(b.Last).Seconds()
	}
	return b
}

// WriteBackup writes a consistent copy of the journal to w from one read
// transaction: payments go on being taken meanwhile, and the copy holds
// every transaction committed before it started.
// size, when not nil, is told the copy's size before it is written.
func (s *Store) WriteBackup(w io.Writer, size func(int64)) (int64, error) {
	return s.writeBackup(w, size, nil)
}

// writeBackup is WriteBackup, telling seq (when not nil) the last event
// sequence the copy holds.
func (s *Store) writeBackup(w io.Writer, size func(int64), seq *uint64) (int64, error) {
	var n int64
	r := s.acquire()
	defer r.release()
	err := r.db.View(func(tx *bolt.Tx) error {
		if size != nil {
			size(tx.Size())
		}
		if seq != nil {
			*seq = tx.Bucket(bEvents).Sequence()
		}
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("store: backup %s: %w", s.path, err)
	}
	return n, nil
}

// BackupFile writes a consistent copy of the journal to out (a temporary
// file, fsync, rename) and verifies it with CheckFile. A copy that does not
// verify is removed and the error says why.
func (s *Store) BackupFile(out string) (*Report, error) {
	rep, _, err := s.backupFile(out)
	return rep, err
}

// backupFile is BackupFile, also returning the last event sequence the
// verified copy holds.
func (s *Store) backupFile(out string) (*Report, uint64, error) {
	var seq uint64
	if err := backup.Write(out, func(w io.Writer) error { _, err := s.writeBackup(w, nil, &seq); return err }); err != nil {
		return nil, 0, err
	}
	rep, err := backup.Verify(out)
	return rep, seq, err
}

// BackupOptions configure scheduled backups (config store.backup.*).
type BackupOptions struct {
	Dir   string        // "" disables scheduled backups
	Every time.Duration // between backups (default 24 h)
	Keep  int           // newest backups kept (default 7)
}

func (o *BackupOptions) defaults() {
	if o.Every <= 0 {
		o.Every = 24 * time.Hour
	}
	if o.Keep <= 0 {
		o.Keep = 7
	}
}

// BackupNow writes one scheduled backup into o.Dir, verifies it, and
// removes the oldest beyond o.Keep. BackupStatus follows.
func (s *Store) BackupNow(o BackupOptions) (string, error) {
	o.defaults()
	now := s.now()
	fail := func(err error) (string, error) {
		s.bmu.Lock()
		s.backup.Dir, s.backup.LastError = o.Dir, err.Error()
		s.bmu.Unlock()
		return "", err
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return fail(fmt.Errorf("store: backup: %w", err))
	}
	out := filepath.Join(o.Dir, backup.Name(now))
	_, seq, err := s.backupFile(out)
	if err != nil {
		return fail(err)
	}
	if err := s.noteBackup(seq); err != nil { // what guarded retention may remove (retention.go)
		return fail(err)
	}
	s.bmu.Lock()
	s.backup = BackupStatus{Dir: o.Dir, Last: now, LastPath: out}
	s.bmu.Unlock()
	paths, _, err := backup.List(o.Dir)
	if err != nil {
		return out, err
	}
	for _, p := range paths[min(len(paths), o.Keep):] {
		if err := os.Remove(p); err != nil {
			s.log.Warn("store: remove old backup", "path", p, "err", err)
		}
	}
	return out, nil
}

// NoteBackupDir makes BackupStatus report on the scheduled backups in
// dir, from the newest one already there (newest, ok). The schedule
// (package daemon) takes the next one due from it.
func (s *Store) NoteBackupDir(dir string) (newest time.Time, ok bool) {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	if _, times, err := backup.List(dir); err == nil && len(times) > 0 {
		s.backup = BackupStatus{Dir: dir, Last: times[0], LastPath: filepath.Join(dir, backup.Name(times[0]))}
		return times[0], true
	}
	s.backup.Dir = dir
	return time.Time{}, false
}
