package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/posagent/posagent/store/record"
)

// Idempotency keys expire. A key and its stored answer (hash of the
// request, payment and refund ids, status) serve a POS that retries a
// request whose answer it did not get: minutes, hours at most. Kept as
// long as the payment, they were some 380 bytes of the journal per
// payment (record and half-full pages: keys arrive in the POS's order, not
// in time order). ExpireIdem removes the keys stored before a cut and
// leaves for each a tombstone, the first 8 bytes of SHA-256 of the key
// (bucket idem_gone, value: the unix day it expired, 4 bytes), so that a
// late replay of the key is answered ErrIdemExpired rather than taken for
// a new request: an expired key never makes a second payment or refund.
// A new key whose 8-byte hash meets a tombstone (a chance of n/2^64) is
// refused the same way and the POS uses another key. Tombstones leave with
// the retention compaction (Compact), after the payments they served.

var (
	bIdemGone   = record.BucketIdemGone
	kIdemOldest = []byte("idem/oldest") // meta: the oldest stamp among the keys kept (a binary time)
	// ErrIdemExpired: the idempotency key was used, longer ago than keys
	// are kept, and its answer is gone.
	ErrIdemExpired = errors.New("idempotency key expired")
)

// idemTomb is a key's tombstone key.
func idemTomb(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:8]
}

// noteIdemAt lowers kIdemOldest to at when at is older (or it is unset and
// the key is the first one). A journal from before it has keys and no
// stamp: ExpireIdem reads the keys once.
func (t *Tx) noteIdemAt(at time.Time) error {
	m := t.w().Bucket(bMeta)
	var old time.Time
	if v := m.Get(kIdemOldest); v != nil {
		if old.UnmarshalBinary(v) == nil && !at.Before(old) {
			return nil
		}
	} else if k, _ := t.tx.Bucket(bIdem).Cursor().First(); k != nil {
		return nil // keys from before the stamp: ExpireIdem sets it
	}
	v, err := at.MarshalBinary()
	if err != nil {
		return err
	}
	return m.Put(kIdemOldest, v)
}

// idemGone reports whether key expired (a tombstone holds its hash).
func (t *Tx) idemGone(key string) bool {
	b := t.tx.Bucket(bIdemGone)
	return b != nil && b.Get(idemTomb(key)) != nil
}

// ExpireIdem removes the idempotency keys stored before olderThan, leaving
// their tombstones, and returns how many it removed. It reads the keys only
// when the oldest one kept may be old enough.
func (s *Store) ExpireIdem(olderThan time.Time) (int, error) {
	n := 0
	err := s.updateSolo(func(t *Tx) error {
		n = 0
		m := t.w().Bucket(bMeta)
		var oldest time.Time
		if v := m.Get(kIdemOldest); v != nil && oldest.UnmarshalBinary(v) == nil && !oldest.Before(olderThan) {
			return nil // none old enough: the keys are not read
		}
		gone, err := t.w().CreateBucketIfNotExists(bIdemGone)
		if err != nil {
			return err
		}
		var kept time.Time
		var tombs [][]byte
		n, err = deleteWhere(t.tx.Bucket(bIdem), func(k, v []byte) bool {
			var r Idem
			if json.Unmarshal(v, &r) != nil || r.CreatedAt.Before(olderThan) {
				tombs = append(tombs, idemTomb(string(k)))
				return true
			}
			if kept.IsZero() || r.CreatedAt.Before(kept) {
				kept = r.CreatedAt
			}
			return false
		})
		if err != nil {
			return err
		}
		day := make([]byte, 4)
		binary.BigEndian.PutUint32(day, uint32(olderThan.Unix()/86400))
		for _, k := range tombs {
			if err := gone.Put(k, day); err != nil {
				return err
			}
		}
		if kept.IsZero() {
			return m.Delete(kIdemOldest)
		}
		v, err := kept.MarshalBinary()
		if err != nil {
			return err
		}
		return m.Put(kIdemOldest, v)
	})
	if err != nil {
		return 0, fmt.Errorf("store: expire idempotency keys: %w", err)
	}
	return n, nil
}

// compactIdemGone removes the tombstones of keys that expired before
// olderThan (the retention compaction).
func (t *Tx) compactIdemGone(olderThan time.Time) error {
	b := t.tx.Bucket(bIdemGone)
	if b == nil {
		return nil
	}
	cut := uint32(olderThan.Unix() / 86400)
	_, err := deleteWhere(b, func(_, v []byte) bool {
		return len(v) != 4 || binary.BigEndian.Uint32(v) < cut
	})
	return err
}
