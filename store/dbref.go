package store

import (
	"sync"

	bolt "go.etcd.io/bbolt"
)

// dbRef is one bbolt handle of the journal and the calls using it. The
// online compaction (online.go) puts a handle of the new file in place of
// the old one; calls that began on the old one finish on it, and the old
// handle is closed once the last of them is done.
type dbRef struct {
	db *bolt.DB
	// mu guards n and retired.
	mu      sync.Mutex
	n       int
	retired bool
	idle    chan struct{} // closed once retired with no call left
}

func newDBRef(db *bolt.DB) *dbRef { return &dbRef{db: db, idle: make(chan struct{})} }

// acquire returns the current handle, counted until release.
func (s *Store) acquire() *dbRef {
	for {
		r := s.cur.Load()
		r.mu.Lock()
		if !r.retired {
			r.n++
			r.mu.Unlock()
			return r
		}
		r.mu.Unlock() // replaced meanwhile: the new one is in place already
	}
}

func (r *dbRef) release() {
	r.mu.Lock()
	r.n--
	if r.retired && r.n == 0 {
		close(r.idle)
	}
	r.mu.Unlock()
}

// retire marks a replaced handle; idle closes once no call uses it.
func (r *dbRef) retire() {
	r.mu.Lock()
	r.retired = true
	if r.n == 0 {
		close(r.idle)
	}
	r.mu.Unlock()
}

// withDB runs fn on the current handle.
func (s *Store) withDB(fn func(db *bolt.DB) error) error {
	r := s.acquire()
	defer r.release()
	return fn(r.db)
}
