package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// kPINFailures is the meta key of the operators' wrong-PIN counts: one
// JSON object, operator id -> PINFailures. It is small (one entry per
// manager with a PIN) and copied by compaction, salvage and backups like
// every meta key, so a lock-out survives a restart.
var kPINFailures = []byte("pin_failures")

// PINFailures is one operator's PIN attempts that did not (yet) succeed.
type PINFailures struct {
	// N counts attempts since the last accepted PIN, each counted before
	// its PIN is compared.
	N int `json:"n"`
	// LockedUntil is the wall-clock end of a lock-out (zero: not locked).
	LockedUntil time.Time `json:"locked_until,omitzero"`
}

// PINFailures returns operator op's record (zero when there is none).
func (t *Tx) PINFailures(op string) (PINFailures, error) {
	all, err := t.pinFailures()
	return all[op], err
}

func (t *Tx) pinFailures() (map[string]PINFailures, error) {
	v := t.tx.Bucket(bMeta).Get(kPINFailures)
	all := map[string]PINFailures{}
	if v == nil {
		return all, nil
	}
	if err := json.Unmarshal(v, &all); err != nil {
		return nil, fmt.Errorf("store: pin failures: decode: %w", err)
	}
	return all, nil
}

// PutPINFailures replaces operator op's record; a zero record deletes it.
func (t *Tx) PutPINFailures(op string, f PINFailures) error {
	t.wrote = true
	all, err := t.pinFailures()
	if err != nil {
		all = map[string]PINFailures{} // an unreadable record is replaced
	}
	if f.N == 0 && f.LockedUntil.IsZero() {
		delete(all, op)
	} else {
		all[op] = f
	}
	if len(all) == 0 {
		return t.tx.Bucket(bMeta).Delete(kPINFailures)
	}
	v, err := json.Marshal(all)
	if err != nil {
		return err
	}
	return t.tx.Bucket(bMeta).Put(kPINFailures, v)
}
