package store

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/posagent/posagent/store/record"
)

// The newest event of a name. What the start needs of the event history
// (the last exchange rate the agent journaled) is looked up in the meta
// bucket, "latest/" + name -> the event's sequence, written in the
// transaction that appends the event, instead of by reading back through
// the newest events: the start then reads one event, whatever the history,
// and the quick check before it reads that event too (store/check).

const latestPrefix = record.LatestPrefix

// AppendEventLatest is AppendEvent, also recording the event as the newest
// of name (LatestEvent).
func (t *Tx) AppendEventLatest(name string, build func(seq uint64) ([]byte, error)) (uint64, error) {
	if name == "" || strings.ContainsRune(name, 0) {
		return 0, fmt.Errorf("store: latest event: invalid name %q", name)
	}
	seq, err := t.AppendEvent(build)
	if err != nil {
		return 0, err
	}
	return seq, t.w().Bucket(bMeta).Put([]byte(latestPrefix+name), u64(seq))
}

// LatestEvent is the newest event appended with AppendEventLatest under
// name; ok is false when there is none, or it was removed (retention).
func (t *Tx) LatestEvent(name string) (ev Event, ok bool, err error) {
	v := t.tx.Bucket(bMeta).Get([]byte(latestPrefix + name))
	if len(v) != 8 {
		return Event{}, false, nil
	}
	seq := binary.BigEndian.Uint64(v)
	evs, err := t.Events(seq-1, seq, 1)
	if err != nil || len(evs) == 0 {
		return Event{}, false, err
	}
	return evs[0], true, nil
}
