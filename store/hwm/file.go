package hwm

import (
	"fmt"
	"os"
	"sync"
)

// File writes the mark. The journal's commits hand it each commit's mark; a flusher
// goroutine writes the newest one, so a burst of commits costs one fsync.
type File struct {
	f *os.File
	// wl is held by the flusher from taking the pending mark to having
	// written it, and by writeNow: no mark taken before writeNow can be
	// written after it.
	wl sync.Mutex
	// mu guards gen, pending, last, verified and err.
	mu       sync.Mutex
	gen      uint64
	pending  *Mark
	last     Mark
	verified *Verified // stamped on every mark written
	err      error
	kick     chan struct{}
	done     chan struct{}
}

// Open opens (or creates) the mark file at path; gen is the generation of
// the newest mark in it, verified is stamped on every mark written.
func Open(path string, gen uint64, verified *Verified) (*File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: mark %s: %w", path, err)
	}
	return &File{f: f, gen: gen, verified: verified, kick: make(chan struct{}, 1), done: make(chan struct{})}, nil
}

// Discard closes a file Run was never started on.
func (mf *File) Discard() error { return mf.f.Close() }

// Verified is the verified state stamped on the marks written now.
func (mf *File) Verified() *Verified {
	mf.mu.Lock()
	defer mf.mu.Unlock()
	return mf.verified
}

// Write writes m durably now.
func (mf *File) Write(m Mark) error {
	mf.mu.Lock()
	mf.gen++
	m.Gen = mf.gen
	m.Verified = mf.verified
	mf.mu.Unlock()
	if _, err := mf.f.WriteAt(encodeMark(m), int64(m.Gen%2)*markSlot); err != nil {
		return fmt.Errorf("store: mark %s: %w", mf.f.Name(), err)
	}
	if err := mf.f.Sync(); err != nil {
		return fmt.Errorf("store: mark %s: %w", mf.f.Name(), err)
	}
	mf.mu.Lock()
	mf.last = m
	mf.mu.Unlock()
	return nil
}

// WriteNow writes the pending mark, if any, then m with verified (nil:
// none) durably, and stamps verified on the marks written after it. No
// mark posted before it is written after it.
func (mf *File) WriteNow(m Mark, verified *Verified) error {
	mf.wl.Lock()
	defer mf.wl.Unlock()
	mf.flushLocked()
	mf.mu.Lock()
	mf.verified = verified
	mf.mu.Unlock()
	return mf.Write(m)
}

// SetVerified records v in every mark written from now on, starting with
// the last one written (queued for the flusher).
func (mf *File) SetVerified(v *Verified) {
	mf.mu.Lock()
	mf.verified = v
	m := mf.last
	if mf.pending != nil {
		m = *mf.pending
	}
	mf.mu.Unlock()
	mf.Post(m)
}

// Post queues m for the flusher (Run).
func (mf *File) Post(m Mark) {
	mf.mu.Lock()
	mf.pending = &m
	mf.mu.Unlock()
	select {
	case mf.kick <- struct{}{}:
	default:
	}
}

// Run writes queued marks until Close, then the last one.
func (mf *File) Run() {
	defer close(mf.done)
	for range mf.kick {
		mf.flush()
	}
	mf.flush()
}

func (mf *File) flush() {
	mf.wl.Lock()
	defer mf.wl.Unlock()
	mf.flushLocked()
}

// flushLocked writes the pending mark (wl held).
func (mf *File) flushLocked() {
	mf.mu.Lock()
	m := mf.pending
	mf.pending = nil
	mf.mu.Unlock()
	if m == nil {
		return
	}
	if err := mf.Write(*m); err != nil {
		mf.mu.Lock()
		mf.err = err
		mf.mu.Unlock()
	}
}

// Close writes the last mark and closes the file (Run must be running).
func (mf *File) Close() error {
	close(mf.kick)
	<-mf.done
	mf.mu.Lock()
	err := mf.err
	mf.mu.Unlock()
	if cerr := mf.f.Close(); err == nil {
		err = cerr
	}
	return err
}
