package store

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The floors: what this disk and bbolt cost before the journal adds
// anything. make bench prints each journal figure beside the floor it
// depends on (scripts/bench-table).

// BenchmarkFloorFsync: one 4 KiB write and fdatasync of a file on the
// disk the journals live on (bbolt syncs twice per commit: data, meta).
func BenchmarkFloorFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	page := make([]byte, 4096)
	b.ResetTimer()
	for i := range b.N {
		page[0] = byte(i)
		if _, err := f.WriteAt(page, 0); err != nil {
			b.Fatal(err)
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			b.Fatal(err)
		}
	}
}

func boltDB(b *testing.B) *bolt.DB {
	db, err := bolt.Open(filepath.Join(b.TempDir(), "floor.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("b")); return err }); err != nil {
		b.Fatal(err)
	}
	return db
}

// BenchmarkFloorBoltUpdate: one bbolt Update putting one 1 KiB value.
func BenchmarkFloorBoltUpdate(b *testing.B) {
	db := boltDB(b)
	v := make([]byte, 1024)
	b.ResetTimer()
	for i := range b.N {
		err := db.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put(u64(uint64(i)), v) })
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFloorBoltBatch: bbolt's Batch from 64 goroutines, each putting
// one 1 KiB value: the ceiling of a group commit on this disk (ops/s).
func BenchmarkFloorBoltBatch(b *testing.B) {
	db := boltDB(b)
	v := make([]byte, 1024)
	var n atomic.Uint64
	b.ResetTimer()
	t0 := time.Now()
	parallel(b.N, 64, func() {
		i := n.Add(1)
		err := db.Batch(func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put(u64(i), v) })
		if err != nil {
			b.Error(err)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "ops/s")
}

// BenchmarkCommitParallel: the journal's commit (a payment, its order
// index entry and its event) from 64 goroutines at once: group commit.
func BenchmarkCommitParallel(b *testing.B) {
	s := open(b, "", Options{})
	now := time.Now()
	var n atomic.Uint64
	b.ResetTimer()
	t0 := time.Now()
	parallel(b.N, 64, func() {
		i := n.Add(1)
		p := &Payment{ID: fmt.Sprintf("pay_%012d", i), OrderID: fmt.Sprintf("P%012d", i), Mode: "scan", Amount: 1250, Currency: "CAD",
			State: Processing, History: []HistoryEntry{{State: "processing", At: now}}}
		err := s.Update(func(tx *Tx) error {
			if err := tx.PutPayment(p); err != nil {
				return err
			}
			_, err := tx.AppendEvent(event("payment.updated", now))
			return err
		})
		if err != nil {
			b.Error(err)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "ops/s")
}

// parallel runs fn n times on c goroutines.
func parallel(n, c int, fn func()) {
	var wg sync.WaitGroup
	var left atomic.Int64
	left.Store(int64(n))
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				fn()
			}
		}()
	}
	wg.Wait()
}
