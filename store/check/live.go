package check

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// The check while the agent runs (store.Store.RunCheck): the record-level
// check of the state one read transaction sees, read with plain reads
// (never the memory map, so the pages it reads do not stay in the agent's
// memory). The read transaction keeps bbolt from reusing the pages of that
// state while the check reads them.

// Snapshot is a journal file as one read transaction sees it.
type Snapshot struct {
	path string
	size int64
	pf   *pageFile
}

// ctxReader reads the file until ctx ends.
type ctxReader struct {
	ctx context.Context
	f   *os.File
}

func (r ctxReader) ReadAt(p []byte, off int64) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.f.ReadAt(p, off)
}

// ReadSnapshot reads the meta pages of f (the journal at path) and takes
// the one of transaction txid. The caller holds the transaction open and
// calls it before a later commit can overwrite that meta page; the reads
// of Check then end with ctx.
func ReadSnapshot(ctx context.Context, f *os.File, path string, txid uint64) (*Snapshot, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("store: check %s: %w", path, err)
	}
	pf, _ := openPageFile(ctxReader{ctx: ctx, f: f}, fi.Size())
	if pf == nil {
		return nil, fmt.Errorf("store: check %s: no valid meta page on disk", path)
	}
	pf.cur = -1
	for i, m := range pf.meta {
		if m.ok && m.txid == txid {
			pf.cur = i
		}
	}
	if pf.cur < 0 {
		return nil, fmt.Errorf("store: check %s: the meta page of transaction %d is not on disk", path, txid)
	}
	return &Snapshot{path: path, size: fi.Size(), pf: pf}, nil
}

// Check checks the snapshot: the streamed check first (checksum.go); when
// it cannot tell the journal sound, the record-level check names what is
// wrong. The report's TxID and Root name the state checked. An error says
// the check did not finish (ctx ended).
func (s *Snapshot) Check(ctx context.Context) (*Report, error) {
	m := s.pf.m()
	newRep := func() *Report {
		return &Report{Path: s.path, Size: s.size, PageSize: s.pf.ps, Pages: m.pgid, TxID: m.txid, Root: m.root}
	}
	rep := newRep()
	sum := newSumInventory()
	w := &walker{pf: s.pf, v: sum, noPageBuckets: true}
	w.walk()
	rep.Findings = append(rep.Findings, w.finds...)
	if !sum.finishSum(rep) && ctx.Err() == nil {
		w, sum = nil, nil // let the streamed check's memory go first
		rep = newRep()
		inv := newInventory()
		w := &walker{pf: s.pf, v: inv, noPageBuckets: true}
		w.walk()
		rep.Findings = append(rep.Findings, w.finds...)
		inv.finish(rep)
	}
	if err := ctx.Err(); err != nil {
		return nil, errors.Join(errors.New("store: check stopped"), err)
	}
	return rep, nil
}

// Streamed is the streamed check alone (checksum.go) of the closed file at
// path: sound, or not sound as far as the sums can tell (diagnostics, and
// the tests that hold it to the record-level check).
func Streamed(path string, opt Options) (sound bool, rep *Report, err error) {
	rep, err = checkFileWith(path, opt, false, func(f *os.File, rep *Report) {
		pf, fs := openPageFile(f, rep.Size)
		rep.Findings = append(rep.Findings, fs...)
		if pf == nil {
			return
		}
		sum := newSumInventory()
		w := &walker{pf: pf, v: sum, noPageBuckets: true}
		w.walk()
		rep.Findings = append(rep.Findings, w.finds...)
		sound = sum.finishSum(rep)
	})
	return sound, rep, err
}
