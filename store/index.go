package store

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/posagent/posagent/store/record"
	bolt "go.etcd.io/bbolt"
)

// The payment indexes, kept by PutPayment in the same transaction as the
// record, so that start-up, lists, exports and metrics cost what they
// return, not the history:
//
//   - pay_state: payment id -> its state (what PutPayment replaces);
//   - by_state: state + 0x00 + payment id -> nothing. Ids are time-ordered,
//     so each state's entries are in creation order; the open states'
//     entries are the open-payment index read at start;
//   - meta "count/" + state -> the number of payments in that state.
//
// They are derived from the payments: salvage leaves them out and Open
// builds them when meta "index" is missing (a journal from before them).
var (
	bPayState = record.BucketPayState
	bByState  = record.BucketByState
	kIndex    = record.KeyIndex // meta: the index format, when built
	kCount    = record.CountPrefix
	// indexFormat is the version of the indexes above.
	indexFormat = uint64(1)
)

func stateKey(s State, id string) []byte { return record.StateKey(s, id) }

// indexPayment moves payment id from state old ("" none) to state to
// ("" removed).
func (t *Tx) indexPayment(id string, old, to State) error {
	if old == to {
		return nil
	}
	ps, bs, meta := t.tx.Bucket(bPayState), t.tx.Bucket(bByState), t.tx.Bucket(bMeta)
	if ps == nil || bs == nil {
		return nil // not built yet: Open builds them
	}
	count := func(s State, d int64) error {
		k := []byte(kCount + string(s))
		var n uint64
		if v := meta.Get(k); len(v) == 8 {
			n = binary.BigEndian.Uint64(v)
		}
		return meta.Put(k, u64(uint64(int64(n)+d)))
	}
	if old != "" {
		if err := bs.Delete(stateKey(old, id)); err != nil {
			return err
		}
		if err := count(old, -1); err != nil {
			return err
		}
	}
	if to == "" {
		return ps.Delete([]byte(id))
	}
	if err := bs.Put(stateKey(to, id), nil); err != nil {
		return err
	}
	if err := count(to, 1); err != nil {
		return err
	}
	return ps.Put([]byte(id), []byte(to))
}

// buildIndexes indexes every payment (Open, once per journal).
func (t *Tx) buildIndexes() error {
	meta := t.tx.Bucket(bMeta)
	for _, b := range [][]byte{bPayState, bByState} {
		if t.tx.Bucket(b) != nil {
			if err := t.tx.DeleteBucket(b); err != nil {
				return err
			}
		}
		if _, err := t.tx.CreateBucket(b); err != nil {
			return err
		}
	}
	for _, s := range States {
		if err := meta.Delete([]byte(kCount + string(s))); err != nil {
			return err
		}
	}
	err := t.tx.Bucket(bPayments).ForEach(func(k, v []byte) error {
		r, err := decodePayment(v)
		if err != nil {
			return fmt.Errorf("store: payment %s: decode: %w", k, err)
		}
		return t.indexPayment(string(k), "", r.State)
	})
	if err != nil {
		return err
	}
	return meta.Put(kIndex, u64(indexFormat))
}

// Counts returns how many payments are in each state (from the counters,
// not by reading the payments).
func (t *Tx) Counts() map[State]int {
	out := make(map[State]int, len(States))
	meta := t.tx.Bucket(bMeta)
	for _, s := range States {
		if v := meta.Get([]byte(kCount + string(s))); len(v) == 8 {
			out[s] = int(binary.BigEndian.Uint64(v))
		}
	}
	return out
}

// OpenPayments calls fn for each payment that is not final, oldest first,
// reading only the open-payment index and those records.
func (t *Tx) OpenPayments(fn func(p *Payment) error) error {
	for _, s := range States {
		if s.Final() {
			continue
		}
		err := t.PaymentsIn(s, false, "", func(p *Payment) (bool, error) { return true, fn(p) })
		if err != nil {
			return err
		}
	}
	return nil
}

// openRecords calls fn with the stored record of each payment that is not
// final, read through the open-payment index (every payment when the
// journal is not indexed yet).
func openRecords(tx *bolt.Tx, fn func(v []byte)) error {
	pb, bs := tx.Bucket(bPayments), tx.Bucket(bByState)
	if bs == nil {
		return pb.ForEach(func(_, v []byte) error { fn(v); return nil })
	}
	c := bs.Cursor()
	for _, s := range States {
		if s.Final() {
			continue
		}
		prefix := stateKey(s, "")
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			if v := pb.Get(k[len(prefix):]); v != nil {
				fn(v)
			}
		}
	}
	return nil
}

// PaymentsIn calls fn for each payment in state s, oldest first (reverse:
// newest first), starting after the id `after` when it is not empty; fn
// returns false to stop. It reads the state index and the records it
// returns only.
func (t *Tx) PaymentsIn(s State, reverse bool, after string, fn func(p *Payment) (bool, error)) error {
	bs := t.tx.Bucket(bByState)
	if bs == nil {
		// Not indexed (a read of a journal Open has not indexed yet).
		return t.ForEachPayment(reverse, after, func(p *Payment) (bool, error) {
			if p.State != s {
				return true, nil
			}
			return fn(p)
		})
	}
	prefix := stateKey(s, "")
	c := bs.Cursor()
	var k []byte
	switch {
	case !reverse && after == "":
		k, _ = c.Seek(prefix)
	case !reverse:
		k, _ = c.Seek(stateKey(s, after))
		if k != nil && bytes.Equal(k, stateKey(s, after)) {
			k, _ = c.Next()
		}
	default:
		from := stateKey(s, after)
		if after == "" {
			from = append(prefix[:len(prefix)-1:len(prefix)-1], 1) // just past the state's entries
		}
		if k, _ = c.Seek(from); k == nil {
			k, _ = c.Last()
		} else {
			k, _ = c.Prev()
		}
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k = step(c, reverse) {
		id := string(k[len(prefix):])
		p, err := t.Payment(id)
		if err != nil {
			return err
		}
		more, err := fn(p)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func step(c *bolt.Cursor, reverse bool) []byte {
	if reverse {
		k, _ := c.Prev()
		return k
	}
	k, _ := c.Next()
	return k
}

// IDAt is the smallest payment id made at or after t (record.IDAt).
func IDAt(t time.Time) string { return record.IDAt(t) }

// StateOf returns payment id's state from the state index, without
// reading the payment (false when there is no such payment).
func (t *Tx) StateOf(id string) (State, bool) {
	if ps := t.tx.Bucket(bPayState); ps != nil {
		v := ps.Get([]byte(id))
		return State(v), v != nil
	}
	p, err := t.Payment(id) // not indexed yet
	if err != nil {
		return "", false
	}
	return p.State, true
}
