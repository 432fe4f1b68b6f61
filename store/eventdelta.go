package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
)

// Events about one thing (a payment) repeat most of the previous one: the
// same payment with a state, a stamp and a history entry more. Such an
// event is stored as a delta of the previous event about the same thing,
// and every read (Events, salvage) rebuilds its exact bytes; OnCommit gets
// them in full. A delta record:
//
//	{"~delta":[BASE,DEPTH],"seq":N,"kind":K,"at":T,"ops":[[FROM,N],"literal",...]}
//
// BASE is the event it is a delta of, DEPTH how many deltas lead to a full
// event (at most maxDeltaDepth, so a read costs a few lookups); seq, kind
// and at are copied from the event for the retention compaction and
// salvage, which read them. The ops rebuild the event from BASE cut into
// segments (segments): a pair copies N segments from FROM, a string is
// literal bytes. The cut is lossless, so the rebuilt bytes are exact.

var (
	bEvLast     = []byte("ev_last") // thing -> the sequence of its last event
	deltaPrefix = []byte(`{"~delta":`)
)

const (
	maxDeltaDepth = 8
	// A delta is stored only when it saves at least a quarter.
	deltaWorth = 0.75
)

// deltaRec is a stored delta.
type deltaRec struct {
	Delta [2]uint64         `json:"~delta"`
	Seq   json.RawMessage   `json:"seq"`
	Kind  json.RawMessage   `json:"kind"`
	At    json.RawMessage   `json:"at,omitempty"`
	Ops   []json.RawMessage `json:"ops"`
}

func isDelta(v []byte) bool { return bytes.HasPrefix(v, deltaPrefix) }

// segments cuts JSON text after each ',', ':', '{', '[' and '}'.
func segments(b []byte) [][]byte {
	var out [][]byte
	start := 0
	for i, c := range b {
		if c == ',' || c == '{' || c == '[' || c == ':' || c == '}' {
			out = append(out, b[start:i+1])
			start = i + 1
		}
	}
	if start < len(b) {
		out = append(out, b[start:])
	}
	return out
}

// diffOps encodes cur as copies of base's segments and literals.
func diffOps(base, cur []byte) []json.RawMessage {
	bs := segments(base)
	at := make(map[string]int, len(bs))
	for i := len(bs) - 1; i >= 0; i-- {
		at[string(bs[i])] = i // the first occurrence wins
	}
	var ops []json.RawMessage
	var lit []byte
	from, n := -1, 0 // the copy being extended
	flushCopy := func() {
		if n > 0 {
			ops = append(ops, json.RawMessage(fmt.Sprintf("[%d,%d]", from, n)))
		}
		from, n = -1, 0
	}
	flushLit := func() {
		if len(lit) > 0 {
			s, _ := json.Marshal(string(lit))
			ops = append(ops, s)
			lit = lit[:0]
		}
	}
	for _, seg := range segments(cur) {
		if n > 0 && from+n < len(bs) && bytes.Equal(bs[from+n], seg) {
			n++
			continue
		}
		if i, ok := at[string(seg)]; ok && len(seg) > 4 {
			flushCopy()
			flushLit()
			from, n = i, 1
			continue
		}
		flushCopy()
		lit = append(lit, seg...)
	}
	flushCopy()
	flushLit()
	return ops
}

// applyOps rebuilds an event from its base and ops.
func applyOps(base []byte, ops []json.RawMessage) ([]byte, error) {
	bs := segments(base)
	var out []byte
	for _, op := range ops {
		if len(op) > 0 && op[0] == '"' {
			var s string
			if err := json.Unmarshal(op, &s); err != nil {
				return nil, err
			}
			out = append(out, s...)
			continue
		}
		var r [2]int
		if err := json.Unmarshal(op, &r); err != nil {
			return nil, err
		}
		if r[0] < 0 || r[1] < 0 || r[0]+r[1] > len(bs) {
			return nil, fmt.Errorf("copy %v out of its base's %d segments", r, len(bs))
		}
		for _, s := range bs[r[0] : r[0]+r[1]] {
			out = append(out, s...)
		}
	}
	return out, nil
}

// eventReader rebuilds stored events, keeping the ones it read (a replay
// reads a payment's events in order: each base is usually at hand).
type eventReader struct {
	get  func(seq uint64) []byte // the stored record, nil when missing
	seen map[uint64][]byte
}

func newEventReader(get func(uint64) []byte) *eventReader {
	return &eventReader{get: get, seen: map[uint64][]byte{}}
}

// full returns event seq's bytes as appended, given its stored record v.
func (r *eventReader) full(seq uint64, v []byte) ([]byte, error) {
	v, err := unpackEvent(v)
	if err != nil {
		return nil, fmt.Errorf("event %d: %w", seq, err)
	}
	if !isDelta(v) {
		return v, nil
	}
	if f, ok := r.seen[seq]; ok {
		return f, nil
	}
	var d deltaRec
	if err := json.Unmarshal(v, &d); err != nil {
		return nil, fmt.Errorf("event %d: delta unreadable: %w", seq, err)
	}
	base := d.Delta[0]
	if base >= seq {
		return nil, fmt.Errorf("event %d: delta of a later event %d", seq, base)
	}
	bv := r.get(base)
	if bv == nil {
		return nil, fmt.Errorf("event %d: its base event %d is missing", seq, base)
	}
	bf, err := r.full(base, bv)
	if err != nil {
		return nil, err
	}
	f, err := applyOps(bf, d.Ops)
	if err != nil {
		return nil, fmt.Errorf("event %d: %w", seq, err)
	}
	if len(r.seen) > 4096 {
		clear(r.seen)
	}
	r.seen[seq] = f
	return f, nil
}

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
	bv, err := unpackEvent(t.tx.Bucket(bEvents).Get(u64(base)))
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
	bf, err := t.eventReader().full(base, bv)
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
	rec, err := json.Marshal(deltaRec{Delta: [2]uint64{base, depth}, Seq: head.Seq, Kind: head.Kind, At: head.At, Ops: diffOps(bf, data)})
	if err != nil || float64(len(rec)) > deltaWorth*float64(len(data)) {
		return data, nil
	}
	// Never store what would not read back exactly.
	if got, err := newEventReader(func(uint64) []byte { return bf }).full(seq, rec); err != nil || !bytes.Equal(got, data) {
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
		v, err := unpackEvent(v)
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
		full, err := r.full(seq, v)
		if err != nil {
			continue // unreadable already; nothing to save
		}
		rewrite = append(rewrite, [2][]byte{bytes.Clone(k), bytes.Clone(full)})
	}
	b.FillPercent = appendFull
	for _, kv := range rewrite {
		if err := b.Put(kv[0], packEvent(kv[1])); err != nil {
			return err
		}
	}
	return nil
}

// DeltaEvents counts the events stored as deltas.
func (t *Tx) DeltaEvents() int {
	n := 0
	t.tx.Bucket(bEvents).ForEach(func(_, v []byte) error {
		if v, err := unpackEvent(v); err == nil && isDelta(v) {
			n++
		}
		return nil
	})
	return n
}
