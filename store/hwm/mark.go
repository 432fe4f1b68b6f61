package hwm

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"time"
)

// Mark is the journal's high-water mark, kept in a small file beside it
// (MarkPath): the journal's id, its last event sequence and its last bbolt
// transaction, written and fsynced after each batch of commits. The journal
// may run ahead of its mark (a crash between the two writes); it may never
// be behind it. A journal behind its mark went back in time (an older copy
// put in its place, a damaged meta page that made bbolt fall back to the
// previous transaction) or was replaced (empty, missing, another journal).
type Mark struct {
	JournalID string    `json:"journal_id"`
	Seq       uint64    `json:"seq"`
	TxID      uint64    `json:"txid"`
	At        time.Time `json:"at"`
	Gen       uint64    `json:"gen"` // write generation: the newer slot wins
	// Verified is the last state of this journal a full check found
	// sound (store/check: the quick check); nil: none yet, and the next start checks in
	// full.
	Verified *Verified `json:"verified,omitempty"`
}

// Verified names the journal state a full, record-level check found
// sound: its last bbolt transaction and root page then.
type Verified struct {
	TxID uint64    `json:"txid"`
	Root uint64    `json:"root"`
	At   time.Time `json:"at"`
}

// MarkPath is the high-water-mark file of the journal at path.
func MarkPath(path string) string { return path + ".hwm" }

// The mark file has two slots written alternately, each with a CRC, so a
// write torn by a power cut leaves the other slot intact.
const markSlot = 512

// encodeMark is one slot of the mark file holding m.
func encodeMark(m Mark) []byte {
	b, _ := json.Marshal(m)
	slot := make([]byte, markSlot)
	binary.LittleEndian.PutUint16(slot[4:], uint16(len(b)))
	copy(slot[6:], b)
	binary.LittleEndian.PutUint32(slot[0:], crc32.ChecksumIEEE(slot[4:]))
	return slot
}

// decodeMark decodes one slot; false when it is not valid.
func decodeMark(slot []byte) (Mark, bool) {
	var m Mark
	if len(slot) != markSlot || binary.LittleEndian.Uint32(slot) != crc32.ChecksumIEEE(slot[4:]) {
		return m, false
	}
	n := int(binary.LittleEndian.Uint16(slot[4:]))
	if n == 0 || 6+n > markSlot || json.Unmarshal(slot[6:6+n], &m) != nil {
		return m, false
	}
	return m, true
}

// errMarkUnreadable: the mark file exists but neither slot is valid.
var errMarkUnreadable = errors.New("high-water mark unreadable")

// ReadMark reads the newest valid slot; nil, nil when there is no file.
func ReadMark(path string) (*Mark, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: mark %s: %w", path, err)
	}
	defer f.Close()
	var best *Mark
	for i := range 2 {
		slot := make([]byte, markSlot)
		if _, err := f.ReadAt(slot, int64(i*markSlot)); err != nil && !errors.Is(err, io.EOF) {
			continue
		}
		if m, ok := decodeMark(slot); ok && (best == nil || m.Gen > best.Gen) {
			best = &m
		}
	}
	if best == nil {
		return nil, fmt.Errorf("store: mark %s: %w", path, errMarkUnreadable)
	}
	return best, nil
}

// Rollback says how a journal is behind its high-water mark.
type Rollback struct {
	Reason    string `json:"reason"`
	Mark      Mark   `json:"mark"`
	JournalID string `json:"journal_id,omitempty"`
	Seq       uint64 `json:"seq"`
	TxID      uint64 `json:"txid"`
}

func (r *Rollback) String() string {
	return fmt.Sprintf("%s: the high-water mark (%s) says the journal reached event #%d in transaction %d; the file holds event #%d and transaction %d",
		r.Reason, r.Mark.At.UTC().Format(time.RFC3339), r.Mark.Seq, r.Mark.TxID, r.Seq, r.TxID)
}
