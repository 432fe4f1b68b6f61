package store

import (
	"fmt"
	"os"
	"sync"

	"github.com/posagent/posagent/store/record"
)

type (
	// Mark is the journal's high-water mark (record.Mark).
	Mark = record.Mark
	// Verified names the journal state a full check found sound.
	Verified = record.Verified
	// Rollback says how a journal is behind its high-water mark.
	Rollback = record.Rollback
)

// MarkPath is the high-water-mark file of the journal at path.
func MarkPath(path string) string { return record.MarkPath(path) }

func readMark(path string) (*Mark, error) { return record.ReadMark(path) }

// markFile writes the mark. Update hands it each commit's mark; a flusher
// goroutine writes the newest one, so a burst of commits costs one fsync.
type markFile struct {
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

func openMarkFile(path string, gen uint64) (*markFile, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: mark %s: %w", path, err)
	}
	return &markFile{f: f, gen: gen, kick: make(chan struct{}, 1), done: make(chan struct{})}, nil
}

// write writes m durably now.
func (mf *markFile) write(m Mark) error {
	mf.mu.Lock()
	mf.gen++
	m.Gen = mf.gen
	m.Verified = mf.verified
	mf.mu.Unlock()
	if _, err := mf.f.WriteAt(record.EncodeMark(m), int64(m.Gen%2)*record.MarkSlot); err != nil {
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

// writeNow writes the pending mark, if any, then m with verified (nil:
// none) durably, and stamps verified on the marks written after it. No
// mark posted before it is written after it.
func (mf *markFile) writeNow(m Mark, verified *Verified) error {
	mf.wl.Lock()
	defer mf.wl.Unlock()
	mf.flushLocked()
	mf.mu.Lock()
	mf.verified = verified
	mf.mu.Unlock()
	return mf.write(m)
}

// setVerified records v in every mark written from now on, starting with
// the last one written (queued for the flusher).
func (mf *markFile) setVerified(v *Verified) {
	mf.mu.Lock()
	mf.verified = v
	m := mf.last
	if mf.pending != nil {
		m = *mf.pending
	}
	mf.mu.Unlock()
	mf.post(m)
}

// post queues m for the flusher.
func (mf *markFile) post(m Mark) {
	mf.mu.Lock()
	mf.pending = &m
	mf.mu.Unlock()
	select {
	case mf.kick <- struct{}{}:
	default:
	}
}

// run writes queued marks until kick is closed, then the last one.
func (mf *markFile) run() {
	defer close(mf.done)
	for range mf.kick {
		mf.flush()
	}
	mf.flush()
}

func (mf *markFile) flush() {
	mf.wl.Lock()
	defer mf.wl.Unlock()
	mf.flushLocked()
}

// flushLocked writes the pending mark (wl held).
func (mf *markFile) flushLocked() {
	mf.mu.Lock()
	m := mf.pending
	mf.pending = nil
	mf.mu.Unlock()
	if m == nil {
		return
	}
	if err := mf.write(*m); err != nil {
		mf.mu.Lock()
		mf.err = err
		mf.mu.Unlock()
	}
}

// close writes the last mark and closes the file.
func (mf *markFile) close() error {
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

// RollbackError is returned by Open when the journal is behind its mark;
// errors.Is(err, ErrRolledBack) holds. Nothing was written.
type RollbackError struct {
	Path     string
	Rollback *Rollback
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("store: open %s: %s. Payments or refunds committed after that point may be missing, so the agent will not start on it. "+
		"What to do: if a backup or the right file exists, put it back with \"posagent journal restore FILE\"; if this file is all there is, "+
		"accept the loss with \"posagent journal accept-rollback\" (recorded in the journal) and reconcile with the OTTPay merchant portal",
		e.Path, e.Rollback)
}

func (e *RollbackError) Is(target error) bool { return target == ErrRolledBack }

// compareMark says whether the journal described by rep is behind m.
func compareMark(rep *Report, m *Mark) *Rollback {
	if m == nil || (m.Seq == 0 && m.TxID == 0) {
		return nil
	}
	r := &Rollback{Mark: *m, JournalID: rep.JournalID, Seq: rep.LastSeq, TxID: rep.TxID}
	switch {
	case rep.Missing:
		r.Reason = "the journal file is missing"
	case rep.Empty:
		r.Reason = "the journal file is empty (0 bytes)"
	case rep.JournalID == "" && rep.Payments == 0 && rep.LastSeq == 0:
		r.Reason = "the journal was replaced by a new, empty one"
	case m.JournalID != "" && rep.JournalID != "" && rep.JournalID != m.JournalID:
		r.Reason = fmt.Sprintf("the journal was replaced by another journal (id %s, expected %s)", rep.JournalID, m.JournalID)
	case rep.TxID < m.TxID || rep.LastSeq < m.Seq:
		r.Reason = "the journal went back in time"
	default:
		return nil
	}
	return r
}
