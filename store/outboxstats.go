package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/posagent/posagent/store/record"
	bolt "go.etcd.io/bbolt"
)

// The outbox at a glance (GET /v1/status, /metrics) without decoding the
// jobs: bucket outbox_stats, kept by PutJob and DeleteJob in the job's own
// transaction, derived from the outbox (salvage leaves it out; Open and the
// first job write build it when missing):
//
//	"k/" + kind                  -> the number of jobs of that kind (absent: none)
//	"a/" + created_at + seq      -> created_at (binary): the jobs by age (dueKey's layout)
//	"e/" + seq                   -> the job's last error, for jobs that have one
var bOutboxStats = record.BucketOutboxStats

const (
	statKind = record.StatKind
	statAge  = record.StatAge
	statErr  = record.StatErr
)

// OutboxSummary is the outbox's depth, kinds, oldest job and last error.
type OutboxSummary struct {
	Depth  int
	ByKind map[string]int
	// Oldest is the creation time of the oldest job (zero: no job).
	Oldest time.Time
	// LastError is the last error of the newest job (by sequence) that has
	// one.
	LastError string
}

func statKey(prefix string, rest []byte) []byte { return record.StatKey(prefix, rest) }

// statsBucket is the outbox_stats bucket, built from the jobs when a write
// transaction finds none (nil in a read transaction then).
func (t *Tx) statsBucket() (*bolt.Bucket, error) {
	if b := t.tx.Bucket(bOutboxStats); b != nil || !t.tx.Writable() {
		return b, nil
	}
	if _, err := t.tx.CreateBucket(bOutboxStats); err != nil {
		return nil, err
	}
	err := t.tx.Bucket(bOutbox).ForEach(func(k, v []byte) error {
		var j Job
		if err := json.Unmarshal(v, &j); err != nil {
			return fmt.Errorf("store: job %x: decode: %w", k, err)
		}
		return t.indexStats(nil, &j)
	})
	return t.tx.Bucket(bOutboxStats), err
}

// indexStats moves job j's entries in outbox_stats from old (nil: none);
// j nil: the job is deleted.
func (t *Tx) indexStats(old, j *Job) error {
	// Called before the job's own write: a bucket built here holds old
	// (stored), not j.
	b, err := t.statsBucket()
	if err != nil || b == nil {
		return err
	}
	count := func(kind string, d int64) error {
		k := statKey(statKind, []byte(kind))
		var n int64
		if v := b.Get(k); len(v) == 8 {
			n = int64(binary.BigEndian.Uint64(v))
		}
		if n += d; n <= 0 {
			return b.Delete(k)
		}
		return b.Put(k, u64(uint64(n)))
	}
	if old != nil {
		if err := count(old.Kind, -1); err != nil {
			return err
		}
		if err := b.Delete(statKey(statAge, dueKey(old.CreatedAt, old.Seq))); err != nil {
			return err
		}
		if err := b.Delete(statKey(statErr, u64(old.Seq))); err != nil {
			return err
		}
	}
	if j == nil {
		return nil
	}
	if err := count(j.Kind, 1); err != nil {
		return err
	}
	at, err := j.CreatedAt.MarshalBinary()
	if err != nil {
		return fmt.Errorf("store: job %d: created_at: %w", j.Seq, err)
	}
	if err := b.Put(statKey(statAge, dueKey(j.CreatedAt, j.Seq)), at); err != nil {
		return err
	}
	if j.LastError != "" {
		return b.Put(statKey(statErr, u64(j.Seq)), []byte(j.LastError))
	}
	return nil
}

// OutboxSummary reads the outbox's counters: a few keys, whatever its
// depth (every job when the counters are not built yet).
func (t *Tx) OutboxSummary() (OutboxSummary, error) {
	sum := OutboxSummary{ByKind: map[string]int{}}
	b := t.tx.Bucket(bOutboxStats)
	if b == nil {
		jobs, err := t.Jobs()
		for _, j := range jobs {
			sum.Depth++
			sum.ByKind[j.Kind]++
			if sum.Oldest.IsZero() || j.CreatedAt.Before(sum.Oldest) {
				sum.Oldest = j.CreatedAt
			}
			if j.LastError != "" {
				sum.LastError = j.LastError
			}
		}
		return sum, err
	}
	c := b.Cursor()
	for k, v := c.Seek([]byte(statKind)); k != nil && bytes.HasPrefix(k, []byte(statKind)); k, v = c.Next() {
		if len(v) == 8 {
			n := int(binary.BigEndian.Uint64(v))
			sum.ByKind[string(k[len(statKind):])] = n
			sum.Depth += n
		}
	}
	if k, v := c.Seek([]byte(statAge)); k != nil && bytes.HasPrefix(k, []byte(statAge)) {
		if err := sum.Oldest.UnmarshalBinary(v); err != nil {
			return sum, fmt.Errorf("store: outbox counters: oldest job: %w", err)
		}
	}
	// The newest job with an error: the last "e/" key.
	if k, _ := c.Seek([]byte("e0")); k != nil {
		if k, v := c.Prev(); k != nil && bytes.HasPrefix(k, []byte(statErr)) {
			sum.LastError = string(v)
		}
	} else if k, v := c.Last(); k != nil && bytes.HasPrefix(k, []byte(statErr)) {
		sum.LastError = string(v)
	}
	return sum, nil
}
