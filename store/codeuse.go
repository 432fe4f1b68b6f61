package store

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/posagent/posagent/store/record"
	bolt "go.etcd.io/bbolt"
)

// The code-use index makes payment codes single-use on this terminal: a
// keyed hash of each code (never the code itself) points at the payment
// that used it. The key is random per journal, so the index cannot be
// searched by hashing candidate codes without the journal's meta bucket.

var (
	bCodes   = []byte("codes")
	kCodeKey = []byte("code_key")
)

// CodeUse is one entry of the code-use index.
type CodeUse struct {
	PaymentID string    `json:"payment_id"`
	At        time.Time `json:"at"`
}

// codeHash is HMAC-SHA-256(code) under the journal's code key. create:
// make the key when the journal has none (write transactions only).
func (t *Tx) codeHash(code string, create bool) ([]byte, error) {
	m := t.tx.Bucket(bMeta)
	key := m.Get(kCodeKey)
	if key == nil {
		if !create {
			return nil, nil
		}
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("store: code key: %w", err)
		}
		if err := m.Put(kCodeKey, key); err != nil {
			return nil, err
		}
	}
	h := hmac.New(sha256.New, key)
	h.Write([]byte(code))
	return h.Sum(nil), nil
}

// CodeUsed returns the use of a payment code, or nil when it was never
// used (or its use was forgotten after the reuse window).
func (t *Tx) CodeUsed(code string) (*CodeUse, error) {
	b := t.tx.Bucket(bCodes)
	if b == nil {
		return nil, nil
	}
	h, err := t.codeHash(code, false)
	if err != nil || h == nil {
		return nil, err
	}
	v := b.Get(h)
	if v == nil {
		return nil, nil
	}
	var u CodeUse
	if err := json.Unmarshal(v, &u); err != nil {
		return nil, fmt.Errorf("store: code use: decode: %w", err)
	}
	return &u, nil
}

// MarkCodeUsed records that payment id used code at time at.
func (t *Tx) MarkCodeUsed(code, id string, at time.Time) error {
	b, err := t.w().CreateBucketIfNotExists(bCodes)
	if err != nil {
		return err
	}
	h, err := t.codeHash(code, true)
	if err != nil {
		return err
	}
	v, err := json.Marshal(CodeUse{PaymentID: id, At: at})
	if err != nil {
		return err
	}
	if err := b.Put(h, v); err != nil {
		return err
	}
	return t.noteCodeAt(at)
}

// kCodesOldest (meta) is the oldest stamp among the code uses kept (a
// binary time), so that ForgetCodes reads the code uses only when some
// may be old enough to forget: the bucket is keyed by hash, not by time.
var kCodesOldest = []byte("codes/oldest")

// noteCodeAt lowers kCodesOldest to at when at is older (or it is unset).
func (t *Tx) noteCodeAt(at time.Time) error {
	m := t.w().Bucket(bMeta)
	var old time.Time
	if v := m.Get(kCodesOldest); v != nil && old.UnmarshalBinary(v) == nil && !at.Before(old) {
		return nil
	}
	v, err := at.MarshalBinary()
	if err != nil {
		return err
	}
	return m.Put(kCodesOldest, v)
}

// ForgetCodes removes code uses recorded before olderThan and returns how
// many it removed.
func (s *Store) ForgetCodes(olderThan time.Time) (int, error) {
	n := 0
	err := s.updateSolo(func(t *Tx) error {
		n = 0
		b := t.w().Bucket(bCodes)
		if b == nil {
			return nil
		}
		m := t.w().Bucket(bMeta)
		var oldest time.Time
		if v := m.Get(kCodesOldest); v != nil && oldest.UnmarshalBinary(v) == nil && !oldest.Before(olderThan) {
			return nil // none old enough: the uses are not read
		}
		var err error
		var kept time.Time
		n, err = deleteWhere(b, func(_, v []byte) bool {
			var u CodeUse
			if json.Unmarshal(v, &u) != nil || u.At.Before(olderThan) {
				return true
			}
			if kept.IsZero() || u.At.Before(kept) {
				kept = u.At
			}
			return false
		})
		if err != nil || kept.IsZero() {
			if err == nil {
				err = m.Delete(kCodesOldest)
			}
			return err
		}
		v, err := kept.MarshalBinary()
		if err != nil {
			return err
		}
		return m.Put(kCodesOldest, v)
	})
	if err != nil {
		return 0, fmt.Errorf("store: forget codes: %w", err)
	}
	return n, nil
}

// The due index orders outbox jobs by next_at: key = next_at (unix nano,
// big-endian, sign bit flipped so that times before 1970 sort first) + seq.
var bDue = record.BucketDue

func dueKey(at time.Time, seq uint64) []byte { return record.DueKey(at, seq) }

func (t *Tx) dueBucket() (*bolt.Bucket, error) {
	if b := t.tx.Bucket(bDue); b != nil {
		return b, nil
	}
	if !t.tx.Writable() {
		return nil, nil
	}
	b, err := t.tx.CreateBucket(bDue)
	if err != nil {
		return nil, err
	}
	// First use on a journal that has jobs: index them.
	err = t.tx.Bucket(bOutbox).ForEach(func(k, v []byte) error {
		var j Job
		if err := json.Unmarshal(v, &j); err != nil {
			return fmt.Errorf("store: job %x: decode: %w", k, err)
		}
		return b.Put(dueKey(j.NextAt, j.Seq), nil)
	})
	return b, err
}

// indexDue moves job j's entry in the due index from old (nil: none).
func (t *Tx) indexDue(old *Job, j *Job) error {
	b, err := t.dueBucket()
	if err != nil || b == nil {
		return err
	}
	if old != nil {
		if err := b.Delete(dueKey(old.NextAt, old.Seq)); err != nil {
			return err
		}
	}
	if j != nil {
		return b.Put(dueKey(j.NextAt, j.Seq), nil)
	}
	return nil
}

// DueJobsExcept returns up to limit jobs due at or before now, soonest
// first, leaving out (without reading them) the jobs for which skip, when
// not nil, is true: those already running. It also says when the next job
// not returned is due: zero when none is left, now when more are due than
// limit.
func (t *Tx) DueJobsExcept(now time.Time, limit int, skip func(seq uint64) bool) ([]*Job, time.Time, error) {
	b := t.tx.Bucket(bDue)
	if b == nil {
		// Not indexed yet (a read transaction on an older journal): scan.
		jobs, err := t.Jobs()
		if err != nil {
			return nil, time.Time{}, err
		}
		var out []*Job
		var next time.Time
		for _, j := range jobs {
			switch {
			case j.NextAt.After(now):
				if next.IsZero() || j.NextAt.Before(next) {
					next = j.NextAt
				}
			case skip != nil && skip(j.Seq):
			case len(out) < limit:
				out = append(out, j)
			default:
				next = now
			}
		}
		return out, next, nil
	}
	var out []*Job
	c := b.Cursor()
	limitKey := dueKey(now, ^uint64(0))
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		if bytes.Compare(k, limitKey) > 0 {
			at := int64(binary.BigEndian.Uint64(k) ^ (1 << 63))
			return out, time.Unix(0, at).UTC(), nil
		}
		seq := binary.BigEndian.Uint64(k[8:])
		if skip != nil && skip(seq) {
			continue
		}
		if len(out) >= limit {
			return out, now, nil // more are due
		}
		j, err := t.Job(seq)
		if err != nil {
			return nil, time.Time{}, err
		}
		out = append(out, j)
	}
	return out, time.Time{}, nil
}

// Clock jumps: a forward jump of the wall clock makes every record stamped
// before it look older than it is. The agent records each jump it sees
// (and each long gap between the newest record and a start, which may hide
// one) so that compaction can keep records that much longer.

var kJumps = []byte("clock_jumps")

// maxJumps bounds the list; the oldest are dropped first.
const maxJumps = 64

// ClockJump is one forward jump of the wall clock: records stamped before
// At may be younger than their stamps say, by up to By.
type ClockJump struct {
	At time.Time     `json:"at"`
	By time.Duration `json:"by"`
}

// ClockJumps lists the recorded jumps, oldest first.
func (t *Tx) ClockJumps() ([]ClockJump, error) {
	v := t.tx.Bucket(bMeta).Get(kJumps)
	if v == nil {
		return nil, nil
	}
	var out []ClockJump
	if err := json.Unmarshal(v, &out); err != nil {
		return nil, fmt.Errorf("store: clock jumps: decode: %w", err)
	}
	return out, nil
}

// PutClockJumps replaces the list (at most the newest maxJumps are kept).
func (t *Tx) PutClockJumps(js []ClockJump) error {
	t.wrote = true
	if len(js) > maxJumps {
		js = js[len(js)-maxJumps:]
	}
	if len(js) == 0 {
		return t.tx.Bucket(bMeta).Delete(kJumps)
	}
	v, err := json.Marshal(js)
	if err != nil {
		return err
	}
	return t.tx.Bucket(bMeta).Put(kJumps, v)
}
