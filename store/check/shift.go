package check

import (
	"encoding/binary"
	"encoding/json"

	"github.com/posagent/posagent/store/record"
	bolt "go.etcd.io/bbolt"
)

// acceptShift checks a record of the shift buckets (check.go's accept).
func (inv *inventory) acceptShift(b string, k, v []byte) bool {
	if len(k) != 8 {
		inv.bad(b, k, "key is not a number")
		return false
	}
	switch b {
	case string(record.BucketShifts):
		var s record.Shift
		if err := json.Unmarshal(v, &s); err != nil || s.No != binary.BigEndian.Uint64(k) {
			inv.bad(b, k, "shift unreadable or misnumbered")
			return false
		}
	case string(record.BucketZReports):
		var z record.ZRecord
		if err := json.Unmarshal(v, &z); err != nil || z.No != binary.BigEndian.Uint64(k) {
			inv.bad(b, k, "Z report unreadable or misnumbered")
			return false
		}
		if err := z.Verify(); err != nil {
			inv.bad(b, k, "Z report does not match its checksum")
			return false
		}
	case string(record.BucketRecons):
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
	for _, name := range [][]byte{record.BucketShifts, record.BucketZReports} {
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
