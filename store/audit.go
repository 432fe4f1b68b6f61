package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"slices"
	"time"

	"github.com/posagent/posagent/store/record"
	bolt "go.etcd.io/bbolt"
)

// The audit trail's index: bucket audit_at, one key per audit event, in
// the order of its stamp, so that "the audit entries since T" seeks to T
// instead of reading every event (GET /v1/audit, the export). Derived from
// the events (salvage leaves it out; the first audit event written to a
// journal without it builds it from the events):
//
//	at (8 bytes: UnixNano, sign bit flipped) + seq (8 bytes) -> nothing
//
// Keyed by the stamp itself, not by the sequence, so that it is exact
// whatever the wall clock did between events: a clock set back makes a
// later event's stamp earlier, and the index orders it by that stamp.
var bAuditAt = record.BucketAuditAt

func auditKey(at time.Time, seq uint64) []byte { return record.AuditKey(at, seq) }

// eventHead is what the index needs of an event.
type eventHead = record.EventHead

// AppendAudit appends an audit-trail event (build as AppendEvent) stamped
// at, and indexes it in the same transaction.
func (t *Tx) AppendAudit(at time.Time, build func(seq uint64) ([]byte, error)) (uint64, error) {
	b, err := t.auditBucket()
	if err != nil {
		return 0, err
	}
	seq, err := t.AppendEvent(build)
	if err != nil {
		return 0, err
	}
	b.FillPercent = appendFull
	return seq, b.Put(auditKey(at, seq), nil)
}

// auditBucket is the audit_at bucket, built from the events when a write
// transaction finds none.
func (t *Tx) auditBucket() (*bolt.Bucket, error) {
	if b := t.tx.Bucket(bAuditAt); b != nil {
		return b, nil
	}
	b, err := t.w().CreateBucket(bAuditAt)
	if err != nil {
		return nil, err
	}
	evs, err := t.Events(0, 0, 0)
	if err != nil {
		return nil, err
	}
	for _, ev := range evs {
		var h eventHead
		if json.Unmarshal(ev.Data, &h) != nil || h.Kind != KindAudit {
			continue
		}
		if err := b.Put(auditKey(h.At, ev.Seq), nil); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// AuditEvents calls fn with the audit-trail events stamped at or after
// since, oldest first by stamp; limit > 0: only the newest limit of them.
// With the index it reads those entries only (without it, every event). An
// entry whose event is gone is skipped.
func (t *Tx) AuditEvents(since time.Time, limit int, fn func(Event) error) error {
	b := t.tx.Bucket(bAuditAt)
	if b == nil {
		return t.auditScan(since, limit, fn)
	}
	var from []byte
	if !since.IsZero() {
		from = auditKey(since, 0)
	}
	var seqs []uint64
	c := b.Cursor()
	if limit > 0 { // newest first, then turned around
		for k, _ := c.Last(); k != nil && (from == nil || bytes.Compare(k, from) >= 0) && len(seqs) < limit; k, _ = c.Prev() {
			if len(k) == 16 {
				seqs = append(seqs, binary.BigEndian.Uint64(k[8:]))
			}
		}
		slices.Reverse(seqs)
	} else {
		k, _ := c.First()
		if from != nil {
			k, _ = c.Seek(from)
		}
		for ; k != nil; k, _ = c.Next() {
			if len(k) == 16 {
				seqs = append(seqs, binary.BigEndian.Uint64(k[8:]))
			}
		}
	}
	for _, seq := range seqs {
		evs, err := t.Events(seq-1, seq, 1)
		if err != nil {
			return err
		}
		if len(evs) == 0 || evs[0].Seq != seq {
			continue
		}
		if err := fn(evs[0]); err != nil {
			return err
		}
	}
	return nil
}

// auditScan is AuditEvents without the index: every event is read.
func (t *Tx) auditScan(since time.Time, limit int, fn func(Event) error) error {
	evs, err := t.Events(0, 0, 0)
	if err != nil {
		return err
	}
	var out []Event
	for _, ev := range evs {
		var h eventHead
		if json.Unmarshal(ev.Data, &h) == nil && h.Kind == KindAudit && !h.At.Before(since) {
			out = append(out, ev)
		}
	}
	if limit > 0 && len(out) > limit {
		out = out[len(out)-limit:]
	}
	for _, ev := range out {
		if err := fn(ev); err != nil {
			return err
		}
	}
	return nil
}

// compactAudit removes the index entries of events up to seq cut (removed
// by compactEvents).
func (t *Tx) compactAudit(cut uint64) error {
	b := t.tx.Bucket(bAuditAt)
	if b == nil {
		return nil
	}
	_, err := deleteWhere(b, func(k, _ []byte) bool { return len(k) != 16 || binary.BigEndian.Uint64(k[8:]) <= cut })
	return err
}
