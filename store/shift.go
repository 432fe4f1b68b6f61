package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/posagent/posagent/store/record"
)

// Shifts and Z reports. A shift is a cashier's period on one lane: payments
// and refunds carry the number of the shift that was open when they were
// created. Closing a shift writes its Z report in the same transaction:
// the report's bytes, their SHA-256 and the shift's end are committed
// together or not at all, and the Z number is the bucket's sequence, so a
// number once committed is never handed out again.
//
//	shifts           u64 shift number -> Shift (JSON)
//	zreports         u64 Z number -> ZRecord (JSON; Report checked by SHA256)
//	reconciliations  u64 Z number -> the latest reconciliation of that Z (JSON)
var (
	bShifts   = record.BucketShifts
	bZReports = record.BucketZReports
	bRecons   = record.BucketRecons
)

// ErrChecksum: a stored Z report does not match its checksum.
var ErrChecksum = record.ErrChecksum

type (
	// Shift is one shift of a lane (record.Shift).
	Shift = record.Shift
	// ZRecord is a stored Z report (record.ZRecord).
	ZRecord = record.ZRecord
)

// Checksum is the hex SHA-256 of a report's bytes.
func Checksum(report []byte) string { return record.Checksum(report) }

// OpenShift returns the open shift, or nil when none is open.
func (t *Tx) OpenShift() (*Shift, error) {
	s, err := t.LastShift()
	if err != nil || s == nil || !s.Open() {
		return nil, err
	}
	return s, nil
}

// Shift reads one shift.
func (t *Tx) Shift(no uint64) (*Shift, error) {
	b := t.tx.Bucket(bShifts)
	var v []byte
	if b != nil {
		v = b.Get(u64(no))
	}
	if v == nil {
		return nil, fmt.Errorf("store: shift %d: %w", no, ErrNotFound)
	}
	return decodeShift(u64(no), v)
}

// LastShift returns the newest shift, open or closed (nil: none yet).
func (t *Tx) LastShift() (*Shift, error) {
	b := t.tx.Bucket(bShifts)
	if b == nil {
		return nil, nil
	}
	k, v := b.Cursor().Last()
	if k == nil {
		return nil, nil
	}
	return decodeShift(k, v)
}

func decodeShift(k, v []byte) (*Shift, error) {
	var s Shift
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, fmt.Errorf("store: shift %x: decode: %w", k, err)
	}
	return &s, nil
}

// NewShift numbers s (the next shift number) and writes it.
func (t *Tx) NewShift(s *Shift) error {
	b, err := t.w().CreateBucketIfNotExists(bShifts)
	if err != nil {
		return err
	}
	if s.No, err = b.NextSequence(); err != nil {
		return err
	}
	return t.PutShift(s)
}

// PutShift rewrites a shift.
func (t *Tx) PutShift(s *Shift) error {
	b, err := t.w().CreateBucketIfNotExists(bShifts)
	if err != nil {
		return err
	}
	v, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return b.Put(u64(s.No), v)
}

// AddZ stores a Z report: build receives the report's number and returns
// its JSON, which is stored with its checksum. It returns the record.
func (t *Tx) AddZ(shift uint64, at time.Time, build func(no uint64) ([]byte, error)) (*ZRecord, error) {
	b, err := t.w().CreateBucketIfNotExists(bZReports)
	if err != nil {
		return nil, err
	}
	no, err := b.NextSequence()
	if err != nil {
		return nil, err
	}
	rep, err := build(no)
	if err != nil {
		return nil, err
	}
	z := &ZRecord{No: no, Shift: shift, At: at, SHA256: Checksum(rep), Report: rep}
	v, err := json.Marshal(z)
	if err != nil {
		return nil, err
	}
	return z, b.Put(u64(no), v)
}

// Z reads a Z report and verifies its checksum (ErrChecksum).
func (t *Tx) Z(no uint64) (*ZRecord, error) {
	b := t.tx.Bucket(bZReports)
	var v []byte
	if b != nil {
		v = b.Get(u64(no))
	}
	if v == nil {
		return nil, fmt.Errorf("store: Z report %d: %w", no, ErrNotFound)
	}
	var z ZRecord
	if err := json.Unmarshal(v, &z); err != nil {
		return nil, fmt.Errorf("store: Z report %d: decode: %w", no, err)
	}
	return &z, z.Verify()
}

// ZList lists the Z reports' records, newest first, at most limit (<= 0: all).
func (t *Tx) ZList(limit int) ([]*ZRecord, error) {
	b := t.tx.Bucket(bZReports)
	if b == nil {
		return nil, nil
	}
	var out []*ZRecord
	c := b.Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		var z ZRecord
		if err := json.Unmarshal(v, &z); err != nil {
			return nil, fmt.Errorf("store: Z report %x: decode: %w", k, err)
		}
		out = append(out, &z)
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out, nil
}

// LastZ is the highest Z number ever assigned.
func (t *Tx) LastZ() uint64 {
	if b := t.tx.Bucket(bZReports); b != nil {
		return b.Sequence()
	}
	return 0
}

// PutReconciliation stores the latest reconciliation of Z report no.
func (t *Tx) PutReconciliation(no uint64, data []byte) error {
	b, err := t.w().CreateBucketIfNotExists(bRecons)
	if err != nil {
		return err
	}
	return b.Put(u64(no), data)
}

// Reconciliation reads the latest reconciliation of Z report no.
func (t *Tx) Reconciliation(no uint64) ([]byte, error) {
	b := t.tx.Bucket(bRecons)
	var v []byte
	if b != nil {
		v = b.Get(u64(no))
	}
	if v == nil {
		return nil, fmt.Errorf("store: reconciliation of Z %d: %w", no, ErrNotFound)
	}
	return append([]byte(nil), v...), nil
}

// LastReconciliation returns the newest reconciliation and its Z number
// (nil: none).
func (t *Tx) LastReconciliation() (uint64, []byte) {
	b := t.tx.Bucket(bRecons)
	if b == nil {
		return 0, nil
	}
	k, v := b.Cursor().Last()
	if k == nil {
		return 0, nil
	}
	return binary.BigEndian.Uint64(k), append([]byte(nil), v...)
}
