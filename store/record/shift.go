package record

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
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
