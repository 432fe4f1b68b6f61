package store

import (
	"fmt"

	"github.com/posagent/posagent/store/record"
	bolt "go.etcd.io/bbolt"
)

// Payment codes are sealed under data keys beside the journal (store/seal,
// KeysPath): Tx.PutPayment seals, reads open, and RotateKeys renews the
// current key and destroys those no open payment needs.

// KeysPath is the data-key file of the journal at path.
func KeysPath(path string) string { return record.KeysPath(path) }

// KeyRotation says what RotateKeys did.
type KeyRotation struct {
	New       uint32   // the key made current, 0 when the current one is young enough
	Destroyed []uint32 // keys no open payment needed
	Kept      []uint32 // keys still held (the current one and those open payments need)
}

// RotateKeys makes a new current data key when the current one is older
// than Options.KeyRotation (or when force is set), then destroys every
// other key that no open payment's sealed code needs. A code in a freed
// page of the journal, or in a backup, sealed under a destroyed key can no
// longer be read by anyone. Writers wait while it runs.
func (s *Store) RotateKeys(force bool) (KeyRotation, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var res KeyRotation
	var err error
	if res.New, err = s.keys.Renew(s.now(), s.keyEvery, force); err != nil {
		return res, fmt.Errorf("store: rotate keys: %w", err)
	}
	need := map[uint32]bool{}
	err = s.withDB(func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			return openRecords(tx, func(v []byte) {
				r, err := decodePayment(v)
				if err != nil || r.Sealed == "" || r.State.Final() {
					return
				}
				if id, _, err := parseSealed(r.Sealed); err == nil {
					need[id] = true
				}
			})
		})
	})
	if err != nil {
		return res, fmt.Errorf("store: rotate keys: %w", err)
	}
	if res.Destroyed, res.Kept, err = s.keys.Destroy(need); err != nil {
		return res, fmt.Errorf("store: rotate keys: %w", err)
	}
	return res, nil
}
