package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"

	"github.com/posagent/posagent/store/record"
)

// Events about one thing (a payment) are stored as deltas of the previous
// event about the same thing when that saves a quarter (the format, and
// how a read rebuilds the exact bytes: record/delta.go). deltaOf writes
// them; every read (Events, salvage, archive) rebuilds them, and OnCommit
// gets them in full.

var bEvLast = record.BucketEvLast

type (
	eventReader = record.EventReader
	deltaRec    = record.Delta
)

const maxDeltaDepth = record.MaxDeltaDepth

func isDelta(v []byte) bool { return record.IsDelta(v) }

func newEventReader(get func(uint64) []byte) *eventReader { return record.NewEventReader(get) }

// bucketReader reads stored events from the events bucket.
func (t *Tx) eventReader() *eventReader {
	b := t.tx.Bucket(bEvents)
	return newEventReader(func(seq uint64) []byte { return b.Get(u64(seq)) })
}

// deltaOf returns what to store for event seq (data, about thing):
// a delta of thing's last event when it is worth it, else data.
func (t *Tx) deltaOf(thing string, seq uint64, data []byte) ([]byte, error) {
	last, err := t.tx.CreateBucketIfNotExists(bEvLast)
	if err != nil {
		return nil, err
	}
	defer last.Put([]byte(thing), u64(seq))
	v := last.Get([]byte(thing))
	if len(v) != 8 {
		return data, nil
	}
	base := binary.BigEndian.Uint64(v)
	bv, err := record.UnpackEvent(t.tx.Bucket(bEvents).Get(u64(base)))
	if bv == nil || err != nil {
		return data, nil // removed by the retention compaction (or unreadable)
	}
	depth := uint64(0)
	if isDelta(bv) {
		var d deltaRec
		if json.Unmarshal(bv, &d) != nil || d.Delta[1]+1 >= maxDeltaDepth {
			return data, nil
		}
		depth = d.Delta[1] + 1
	}
	bf, err := t.eventReader().Full(base, bv)
	if err != nil {
		return data, nil
	}
	var head struct {
		Seq  json.RawMessage `json:"seq"`
		Kind json.RawMessage `json:"kind"`
		At   json.RawMessage `json:"at"`
	}
	if json.Unmarshal(data, &head) != nil || head.Seq == nil || head.Kind == nil {
		return data, nil
	}
	rec, err := json.Marshal(deltaRec{Delta: [2]uint64{base, depth}, Seq: head.Seq, Kind: head.Kind, At: head.At, Ops: record.DiffOps(bf, data)})
	if err != nil || float64(len(rec)) > record.DeltaWorth*float64(len(data)) {
		return data, nil
	}
	// Never store what would not read back exactly.
	if got, err := newEventReader(func(uint64) []byte { return bf }).Full(seq, rec); err != nil || !bytes.Equal(got, data) {
		return data, nil
	}
	return rec, nil
}

// fullFrom stores in full every event after cut that is a delta leading
// to an event at or before cut (the retention compaction removes those).
func (t *Tx) fullFrom(cut uint64) error {
	b := t.tx.Bucket(bEvents)
	r := t.eventReader()
	var rewrite [][2][]byte
	reach := map[uint64]uint64{} // delta -> the lowest event its chain reads
	c := b.Cursor()
	for k, v := c.Seek(u64(cut + 1)); k != nil; k, v = c.Next() {
		v, err := record.UnpackEvent(v)
		if err != nil || !isDelta(v) {
			continue
		}
		seq := binary.BigEndian.Uint64(k)
		var d deltaRec
		if err := json.Unmarshal(v, &d); err != nil {
			continue
		}
		low := d.Delta[0]
		if l, ok := reach[low]; ok {
			low = l
		}
		reach[seq] = low
		if low > cut {
			continue
		}
		full, err := r.Full(seq, v)
		if err != nil {
			continue // unreadable already; nothing to save
		}
		rewrite = append(rewrite, [2][]byte{bytes.Clone(k), bytes.Clone(full)})
	}
	b.FillPercent = appendFull
	for _, kv := range rewrite {
		if err := b.Put(kv[0], record.PackEvent(kv[1])); err != nil {
			return err
		}
	}
	return nil
}

// DeltaEvents counts the events stored as deltas.
func (t *Tx) DeltaEvents() int {
	n := 0
	t.tx.Bucket(bEvents).ForEach(func(_, v []byte) error {
		if v, err := record.UnpackEvent(v); err == nil && isDelta(v) {
			n++
		}
		return nil
	})
	return n
}
