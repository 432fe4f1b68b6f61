package store

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/store/check"
	bolt "go.etcd.io/bbolt"
)

// summaryOfJobs is the outbox summary computed the slow way: every job
// decoded.
func summaryOfJobs(t *testing.T, tx *Tx) OutboxSummary {
	t.Helper()
	jobs, err := tx.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	sum := OutboxSummary{ByKind: map[string]int{}}
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
	return sum
}

func sameSummary(a, b OutboxSummary) bool {
	if a.Depth != b.Depth || !a.Oldest.Equal(b.Oldest) || a.LastError != b.LastError || len(a.ByKind) != len(b.ByKind) {
		return false
	}
	for k, n := range a.ByKind {
		if b.ByKind[k] != n {
			return false
		}
	}
	return true
}

func checkSummary(t *testing.T, s *Store, when string) {
	t.Helper()
	s.View(func(tx *Tx) error {
		got, err := tx.OutboxSummary()
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if want := summaryOfJobs(t, tx); !sameSummary(got, want) {
			t.Fatalf("%s: summary %+v, the jobs say %+v", when, got, want)
		}
		return nil
	})
}

// The outbox counters follow every job write (creation times out of
// order, errors set and cleared, jobs deleted), are built for a journal
// without them, and the check sees them tampered with.
func TestOutboxSummaryFollowsJobs(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	takePayments(t, s, 0, 4) // payments 1 and 3 are open, with a query job each
	r := rand.New(rand.NewPCG(14, 14))
	base := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	kinds := []string{JobQuery, JobRefund, JobReceipt}
	var seqs []uint64
	for round := range 30 {
		err := s.Update(func(tx *Tx) error {
			switch op := r.IntN(4); {
			case op < 2 || len(seqs) == 0:
				j := &Job{Kind: kinds[r.IntN(3)], PaymentID: fmt.Sprintf("pay_%08d", 1+2*r.IntN(2)),
					CreatedAt: base.Add(time.Duration(r.IntN(3600)-1800) * time.Second), NextAt: base}
				if err := tx.AddJob(j); err != nil {
					return err
				}
				seqs = append(seqs, j.Seq)
			case op == 2:
				j, err := tx.Job(seqs[r.IntN(len(seqs))])
				if err != nil {
					return err
				}
				j.Attempts++
				j.LastError = ""
				if r.IntN(3) > 0 {
					j.LastError = fmt.Sprintf("timeout %d", round)
				}
				return tx.PutJob(j)
			default:
				i := r.IntN(len(seqs))
				if err := tx.DeleteJob(seqs[i]); err != nil {
					return err
				}
				seqs = append(seqs[:i], seqs[i+1:]...)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		checkSummary(t, s, fmt.Sprintf("round %d", round))
	}
	s.Close()
	if rep, err := check.CheckFile(path, CheckOptions{}); err != nil || rep.Damaged() {
		t.Fatalf("check: %v %v", rep, err)
	}

	// A journal from before the counters: Open builds them.
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bOutboxStats) })
	db.Close()
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkSummary(t, s, "built at open")
	s.Close()

	// A counter changed behind the journal's back is damage.
	db, err = bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bOutboxStats).Put(statKey(statKind, []byte(JobQuery)), u64(999))
	})
	db.Close()
	rep, err := check.CheckFile(path, CheckOptions{})
	if err != nil || !rep.Damaged() || !strings.Contains(fmt.Sprint(rep.Findings), "outbox_stats k/query: the outbox counters do not match the jobs") {
		t.Fatalf("tampered counter: %v %v", rep.Findings, err)
	}
}

// BenchmarkOutboxSummary: the outbox's depth, kinds, oldest job and last
// error for /v1/status and /metrics with 10,000 jobs queued: from the
// counters, and (decode) by decoding every job as before them.
func BenchmarkOutboxSummary(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "posagent.db"), Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	err = s.Update(func(tx *Tx) error {
		p := &Payment{ID: "pay_1", OrderID: "O1", State: Succeeded, CreatedAt: at, UpdatedAt: at}
		if err := tx.PutPayment(p); err != nil {
			return err
		}
		for i := range 10000 {
			j := &Job{Kind: JobRefund, PaymentID: p.ID, CreatedAt: at.Add(time.Duration(i) * time.Second), NextAt: at, LastError: "gateway unreachable"}
			if err := tx.AddJob(j); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("counters", func(b *testing.B) {
		for range b.N {
			s.View(func(tx *Tx) error { _, err := tx.OutboxSummary(); return err })
		}
	})
	b.Run("decode", func(b *testing.B) {
		for range b.N {
			s.View(func(tx *Tx) error {
				jobs, err := tx.Jobs()
				_ = len(jobs)
				return err
			})
		}
	})
}
