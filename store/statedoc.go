package store

import (
	"encoding/json"
	"fmt"
)

// A part of the agent that keeps a small state of its own in the journal
// (the feed: feedstate.go; the fleet: store/fleetmark) keeps it as one JSON
// document in a bucket of its own,
//
//	<name>   "state" -> JSON
//
// so that it commits, backs up and restores with the events it speaks of.
// Doc and PutDoc read and write it inside a transaction; the part owns its
// type and its rules.

var keyDocState = []byte("state")

// Doc reads the document name into v; ok is false (v untouched) when
// there is none.
func (t *Tx) Doc(name string, v any) (ok bool, err error) {
	b := t.tx.Bucket([]byte(name))
	if b == nil {
		return false, nil
	}
	data := b.Get(keyDocState)
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("store: %s state unreadable: %w", name, err)
	}
	return true, nil
}

// PutDoc writes v as the document name.
func (t *Tx) PutDoc(name string, v any) error {
	b, err := t.w().CreateBucketIfNotExists([]byte(name))
	if err != nil {
		return err
	}
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(keyDocState, data)
}
