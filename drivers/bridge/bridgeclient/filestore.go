package bridgeclient

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// FileStore is an AckedStore that survives a restart of the helper: the
// most recent n printed job ids, kept in a file with one id per line. Add
// appends the id and syncs the file before it returns, so the ack the
// client sends next is never ahead of the disk. When the file holds more
// than 2n lines it is rewritten (temp file, sync, rename) with the n ids the
// store remembers. It is the Go form of what the Android helper keeps in its
// app storage. Safe for concurrent use.
type FileStore struct {
	path string
	lru  *LRU

	// mu guards f and lines.
	mu    sync.Mutex
	f     *os.File
	lines int
}

// OpenFileStore opens (or creates) the store at path, remembering up to n
// ids (n < 1 means 1024). A last line cut short by a crash is ignored.
func OpenFileStore(path string, n int) (*FileStore, error) {
	if n < 1 {
		n = 1024
	}
	s := &FileStore{path: path, lru: NewLRU(n)}
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("bridgeclient: open acked store %s: %w", path, err)
	}
	if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
		b = b[:i+1] // drop an unterminated last line
	} else {
		b = nil
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		if id := strings.TrimSpace(sc.Text()); id != "" {
			_ = s.lru.Add(id)
			s.lines++
		}
	}
	if err := s.rewrite(); err != nil { // also drops a torn last line
		return nil, err
	}
	return s, nil
}

// Has reports whether id was printed (and is still remembered).
func (s *FileStore) Has(id string) bool { return s.lru.Has(id) }

// Add records id on disk, then in memory.
func (s *FileStore) Add(id string) error {
	if id == "" || strings.ContainsAny(id, "\r\n") {
		return fmt.Errorf("bridgeclient: acked store: invalid job id %q", id)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return fmt.Errorf("bridgeclient: acked store %s: closed", s.path)
	}
	if _, err := s.f.WriteString(id + "\n"); err != nil {
		return fmt.Errorf("bridgeclient: acked store %s: write: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("bridgeclient: acked store %s: sync: %w", s.path, err)
	}
	_ = s.lru.Add(id)
	s.lines++
	if s.lines > 2*s.lru.n {
		return s.rewriteLocked()
	}
	return nil
}

// Close closes the file; the ids stay on disk.
func (s *FileStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

func (s *FileStore) rewrite() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rewriteLocked()
}

// rewriteLocked replaces the file with the remembered ids, oldest first,
// and reopens it for appending.
func (s *FileStore) rewriteLocked() error {
	ids := s.lru.oldestFirst()
	tmp, err := os.CreateTemp(filepath.Dir(s.path), filepath.Base(s.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("bridgeclient: acked store %s: %w", s.path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	w := bufio.NewWriter(tmp)
	for _, id := range ids {
		w.WriteString(id)
		w.WriteByte('\n')
	}
	// err is nil here: a failed write or sync must stop the rename, or a
	// short file would replace the whole one.
	if err = w.Flush(); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), s.path)
	}
	if err != nil {
		return fmt.Errorf("bridgeclient: acked store %s: rewrite: %w", s.path, err)
	}
	if s.f != nil {
		s.f.Close()
	}
	s.f, err = os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("bridgeclient: acked store %s: reopen: %w", s.path, err)
	}
	s.lines = len(ids)
	return nil
}
