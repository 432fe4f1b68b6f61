package check

import (
	"errors"
	"fmt"
	"os"

	"github.com/posagent/posagent/store/hwm"
	"github.com/posagent/posagent/store/record"
	"github.com/posagent/posagent/store/seal"
)

// Inspect checks the journal at path as store.Open will use it, without
// modifying anything: CheckFile, plus its high-water mark (Report.Mark,
// Report.Rollback) and its data keys. A missing journal is a report with
// Missing set, not an error.
func Inspect(path string, opt Options) (*Report, error) {
	rep, _, err := Before(path, opt, false, 0)
	return rep, err
}

// Before is Inspect before use (store.Open): with quick, a journal whose
// mark names a state a full check verified gets the quick check when its
// pages in use take fullBelow bytes or more (content). Damage the quick
// check finds is reported by the full check, every finding of it. codes is
// what Open needs of the payments' codes (nil when no record was read).
func Before(path string, opt Options, quick bool, fullBelow int64) (*Report, *Codes, error) {
	mark, merr := hwm.ReadMark(hwm.MarkPath(path))
	var verified *hwm.Verified
	if quick && merr == nil && mark != nil {
		verified = mark.Verified
	}
	rep, codes, err := content(path, opt, verified, fullBelow)
	if errors.Is(err, os.ErrNotExist) {
		rep, err = &Report{Path: path, Missing: true}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	rep.Mark = mark
	switch {
	case merr != nil:
		rep.Findings = append(rep.Findings, Finding{Problem: fmt.Sprintf("%v: a rollback of the journal cannot be seen until the agent writes it again", merr)})
	case mark == nil && !rep.Missing && !rep.Empty && rep.TxID > 2:
		rep.Findings = append(rep.Findings, Finding{Problem: "no high-water mark beside the journal (" + hwm.MarkPath(path) + "): the first start of this version, or it was removed; the agent writes one"})
	}
	if !rep.Damaged() {
		rep.Rollback = compare(rep, mark)
	}
	if rep.Empty && mark == nil {
		rep.Findings = append(rep.Findings, Finding{Problem: "the agent starts a new journal in this empty file"})
	}
	if codes != nil && !rep.Damaged() {
		keys, kerr := seal.Load(record.KeysPath(path))
		if kerr != nil {
			rep.Findings = append(rep.Findings, Finding{Problem: kerr.Error()})
		} else {
			for id, n := range codes.Need {
				if !keys.Has(id) {
					rep.Findings = append(rep.Findings, Finding{Problem: fmt.Sprintf("%d open payment(s) need data key %d, which is not in %s: their payment codes are lost (they are queried, never sent again with a code)", n, id, record.KeysPath(path))})
				}
			}
		}
	}
	return rep, codes, nil
}

// RollbackError is returned by store.Open when the journal is behind its mark;
// errors.Is(err, ErrRolledBack) holds. Nothing was written.
type RollbackError struct {
	Path     string
	Rollback *hwm.Rollback
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("store: open %s: %s. Payments or refunds committed after that point may be missing, so the agent will not start on it. "+
		"What to do: if a backup or the right file exists, put it back with \"posagent journal restore FILE\"; if this file is all there is, "+
		"accept the loss with \"posagent journal accept-rollback\" (recorded in the journal) and reconcile with the OTTPay merchant portal",
		e.Path, e.Rollback)
}

func (e *RollbackError) Is(target error) bool { return target == ErrRolledBack }

// compare says whether the journal described by rep is behind m.
func compare(rep *Report, m *hwm.Mark) *hwm.Rollback {
	if m == nil || (m.Seq == 0 && m.TxID == 0) {
		return nil
	}
	r := &hwm.Rollback{Mark: *m, JournalID: rep.JournalID, Seq: rep.LastSeq, TxID: rep.TxID}
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
