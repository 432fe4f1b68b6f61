package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
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
	bShifts   = []byte("shifts")
	bZReports = []byte("zreports")
	bRecons   = []byte("reconciliations")
)

// ErrChecksum: a stored Z report does not match its checksum.
var ErrChecksum = errors.New("store: Z report checksum mismatch")

// Shift is one shift of a lane.
type Shift struct {
	No       uint64    `json:"no"`
	Lane     string    `json:"lane"` // terminal_no
	OpenedAt time.Time `json:"opened_at"`
	OpenedBy string    `json:"opened_by,omitempty"`
	ClosedAt time.Time `json:"closed_at,omitzero"`
	ClosedBy string    `json:"closed_by,omitempty"`
	// Auto: opened by the first payment when none was open, or closed at
	// reports.close_at because nobody closed it.
	AutoOpened bool `json:"auto_opened,omitempty"`
	AutoClosed bool `json:"auto_closed,omitempty"`
	// Z is the number of the shift's Z report (0 while open).
	Z uint64 `json:"z,omitempty"`
	// UnapprovedRefunds is what was asked to be refunded in this shift
	// without a manager's approval (refunds.unapproved_per_shift), failed
	// refunds included.
	UnapprovedRefunds int64 `json:"unapproved_refunds,omitempty"`
}

// Open reports whether the shift is still open.
func (s *Shift) Open() bool { return s.ClosedAt.IsZero() }

// ZRecord is a stored Z report: the report's JSON exactly as built, and
// its SHA-256 in hex.
type ZRecord struct {
	No     uint64          `json:"no"`
	Shift  uint64          `json:"shift"`
	At     time.Time       `json:"at"`
	SHA256 string          `json:"sha256"`
	Report json.RawMessage `json:"report"`
}

// Checksum is the hex SHA-256 of a report's bytes.
func Checksum(report []byte) string {
	s := sha256.Sum256(report)
	return hex.EncodeToString(s[:])
}

// Verify checks the record's report against its checksum.
func (z *ZRecord) Verify() error {
	if Checksum(z.Report) != z.SHA256 {
		return fmt.Errorf("store: Z report %d: %w", z.No, ErrChecksum)
	}
	return nil
}

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

// acceptShift checks a record of the shift buckets (check.go's accept).
func (inv *inventory) acceptShift(b string, k, v []byte) bool {
	if len(k) != 8 {
		inv.bad(b, k, "key is not a number")
		return false
	}
	switch b {
	case string(bShifts):
		var s Shift
		if err := json.Unmarshal(v, &s); err != nil || s.No != binary.BigEndian.Uint64(k) {
			inv.bad(b, k, "shift unreadable or misnumbered")
			return false
		}
	case string(bZReports):
		var z ZRecord
		if err := json.Unmarshal(v, &z); err != nil || z.No != binary.BigEndian.Uint64(k) {
			inv.bad(b, k, "Z report unreadable or misnumbered")
			return false
		}
		if err := z.Verify(); err != nil {
			inv.bad(b, k, "Z report does not match its checksum")
			return false
		}
	case string(bRecons):
		if !json.Valid(v) {
			inv.bad(b, k, "reconciliation unreadable (not JSON)")
			return false
		}
	}
	return true
}

// restoreShiftSeqs gives a salvaged journal's shift and Z buckets their
// sequences (the highest number kept or ever assigned), so that no shift
// or Z number is handed out twice.
func restoreShiftSeqs(tx *bolt.Tx, inv *inventory) error {
	for _, name := range [][]byte{bShifts, bZReports} {
		seq := inv.seqs[string(name)]
		for _, kv := range inv.records[string(name)] {
			if len(kv[0]) == 8 {
				seq = max(seq, binary.BigEndian.Uint64(kv[0]))
			}
		}
		if seq == 0 {
			continue
		}
		b, err := tx.CreateBucketIfNotExists(name)
		if err != nil {
			return err
		}
		if err := b.SetSequence(seq); err != nil {
			return err
		}
	}
	return nil
}
