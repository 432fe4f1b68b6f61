package record

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Events about one thing (a payment) repeat most of the previous one: the
// same payment with a state, a stamp and a history entry more. Such an
// event is stored as a delta of the previous event about the same thing,
// and every read (Events, salvage) rebuilds its exact bytes. A delta
// record:
//
//	{"~delta":[BASE,DEPTH],"seq":N,"kind":K,"at":T,"ops":[[FROM,N],"literal",...]}
//
// BASE is the event it is a delta of, DEPTH how many deltas lead to a full
// event (at most MaxDeltaDepth, so a read costs a few lookups); seq, kind
// and at are copied from the event for the retention compaction and
// salvage, which read them. The ops rebuild the event from BASE cut into
// segments (segments): a pair copies N segments from FROM, a string is
// literal bytes. The cut is lossless, so the rebuilt bytes are exact.

var deltaPrefix = []byte(`{"~delta":`)

const (
	MaxDeltaDepth = 8
	// A delta is stored only when it saves at least a quarter.
	DeltaWorth = 0.75
)

// Delta is a stored delta.
type Delta struct {
	Delta [2]uint64         `json:"~delta"`
	Seq   json.RawMessage   `json:"seq"`
	Kind  json.RawMessage   `json:"kind"`
	At    json.RawMessage   `json:"at,omitempty"`
	Ops   []json.RawMessage `json:"ops"`
}

// IsDelta reports whether the stored event v is a delta.
func IsDelta(v []byte) bool { return bytes.HasPrefix(v, deltaPrefix) }

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

// DiffOps encodes cur as copies of base's segments and literals.
func DiffOps(base, cur []byte) []json.RawMessage {
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

// EventReader rebuilds stored events, keeping the ones it read (a replay
// reads a payment's events in order: each base is usually at hand).
type EventReader struct {
	get  func(seq uint64) []byte // the stored record, nil when missing
	seen map[uint64][]byte
}

// NewEventReader reads the stored events get returns.
func NewEventReader(get func(uint64) []byte) *EventReader {
	return &EventReader{get: get, seen: map[uint64][]byte{}}
}

// Full returns event seq's bytes as appended, given its stored record v.
func (r *EventReader) Full(seq uint64, v []byte) ([]byte, error) {
	v, err := UnpackEvent(v)
	if err != nil {
		return nil, fmt.Errorf("event %d: %w", seq, err)
	}
	if !IsDelta(v) {
		return v, nil
	}
	if f, ok := r.seen[seq]; ok {
		return f, nil
	}
	var d Delta
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
	bf, err := r.Full(base, bv)
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
