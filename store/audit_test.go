package store

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/store/check"
)

func auditEvent(seq uint64, at time.Time) ([]byte, error) {
	return json.Marshal(map[string]any{"seq": seq, "kind": KindAudit, "at": at})
}

func otherEvent(seq uint64, at time.Time) ([]byte, error) {
	return json.Marshal(map[string]any{"seq": seq, "kind": "payment.updated", "at": at})
}

func auditSeqs(t *testing.T, s *Store, since time.Time, limit int) []uint64 {
	t.Helper()
	var out []uint64
	err := s.View(func(tx *Tx) error {
		return tx.AuditEvents(since, limit, func(ev Event) error { out = append(out, ev.Seq); return nil })
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The audit index answers "since T" and "the newest N" by stamp, exactly,
// also when the wall clock went back between two entries; it is built
// for a journal written before it existed, and it agrees with a scan.
func TestAuditIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	stamps := []time.Duration{0, time.Minute, 2 * time.Minute, 30 * time.Second /* the clock went back */, 3 * time.Minute}
	// Written as an older agent did: plain events (the index is dropped
	// below).
	err = s.Update(func(tx *Tx) error {
		for i, d := range stamps[:3] {
			if _, err := tx.AppendEvent(func(seq uint64) ([]byte, error) { return auditEvent(seq, t0.Add(d)) }); err != nil {
				return err
			}
			if _, err := tx.AppendEvent(func(seq uint64) ([]byte, error) { return otherEvent(seq, t0.Add(d)) }); err != nil {
				return fmt.Errorf("%d: %w", i, err)
			}
		}
		return nil
	})
	if err == nil { // as a journal from before the index
		err = s.Update(func(tx *Tx) error { return tx.tx.DeleteBucket(bAuditAt) })
	}
	if err != nil {
		t.Fatal(err)
	}
	if got := auditSeqs(t, s, t0.Add(time.Minute), 0); fmt.Sprint(got) != "[3 5]" {
		t.Fatalf("without the index, since +1 min: %v", got)
	}
	// Open builds the index from the events.
	s.Close()
	if s, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	err = s.Update(func(tx *Tx) error {
		for _, d := range stamps[3:] {
			if _, err := tx.AppendAudit(t0.Add(d), func(seq uint64) ([]byte, error) { return auditEvent(seq, t0.Add(d)) }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		since time.Duration
		limit int
		want  string
	}{
		{0, 0, "[1 7 3 5 8]"},              // by stamp: 7 was stamped +30 s
		{time.Minute, 0, "[3 5 8]"},        // since +1 min
		{20 * time.Second, 0, "[7 3 5 8]"}, // the entry written after the clock went back is found
		{0, 2, "[5 8]"},                    // the newest two
		{10 * time.Minute, 0, "[]"},        // nothing since: nothing read
		{-time.Hour, 3, "[3 5 8]"},
	} {
		got := fmt.Sprint(auditSeqs(t, s, t0.Add(c.since), c.limit))
		if c.since == 0 && c.limit == 0 {
			got = fmt.Sprint(auditSeqs(t, s, time.Time{}, 0))
		}
		if got != c.want {
			t.Errorf("since %v limit %d: %s, want %s", c.since, c.limit, got, c.want)
		}
	}
	if err := s.Check(); err != nil {
		t.Fatalf("check: %v", err)
	}
	s.Close()
	rep, err := check.CheckFile(path, CheckOptions{})
	if err != nil || rep.Damaged() {
		t.Fatalf("full check: %v %+v", err, rep.Findings)
	}
}

// Compaction removes the index entries of the events it removes.
func TestAuditIndexFollowsCompaction(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "j.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	old, recent := time.Now().Add(-48*time.Hour), time.Now()
	err = s.Update(func(tx *Tx) error {
		for _, at := range []time.Time{old, old, recent} {
			if _, err := tx.AppendAudit(at, func(seq uint64) ([]byte, error) { return auditEvent(seq, at) }); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Compact(time.Now().Add(-24 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(auditSeqs(t, s, time.Time{}, 0)); got != "[3]" {
		t.Fatalf("after compaction: %s", got)
	}
	var n int
	s.View(func(tx *Tx) error { return tx.tx.Bucket(bAuditAt).ForEach(func(_, _ []byte) error { n++; return nil }) })
	if n != 1 {
		t.Fatalf("%d index entries left, want 1", n)
	}
}

// An index entry without its event, or an audit event without its entry,
// is damage the full check reports.
func TestCheckFindsABadAuditIndex(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	err = s.Update(func(tx *Tx) error {
		_, err := tx.AppendAudit(at, func(seq uint64) ([]byte, error) { return auditEvent(seq, at) })
		return err
	})
	if err == nil {
		err = s.Update(func(tx *Tx) error {
			b := tx.tx.Bucket(bAuditAt)
			if err := b.Delete(auditKey(at, 1)); err != nil {
				return err
			}
			return b.Put(auditKey(at, 99), nil)
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	rep, err := check.CheckFile(path, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var missing, dangling bool
	for _, f := range rep.Findings {
		missing = missing || f.Bucket == "audit_at" && f.Damage && f.Problem == "missing: an audit event is not in the audit index"
		dangling = dangling || f.Bucket == "audit_at" && f.Damage && f.Problem == "the audit index names no audit event with this stamp"
	}
	if !missing || !dangling {
		t.Fatalf("findings %+v", rep.Findings)
	}
}
