package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/posagent/posagent/store/check"
	bolt "go.etcd.io/bbolt"
)

// sumCheck runs the streamed check (checksum.go) on the file at path.
func sumCheck(t *testing.T, path string) (sound bool, rep *Report) {
	t.Helper()
	sound, rep, err := check.Streamed(path, CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return sound, rep
}

// tamper changes the closed journal at path with bbolt directly.
func tamper(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// The streamed check agrees with the record-level check: it finds a
// sound journal sound with the same counts, and it does not find sound
// any journal whose records are each readable but disagree with each
// other, which the record-level check reports.
func TestStreamedCheckAgrees(t *testing.T) {
	at := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	// The journal, built once (built), copied for each case.
	build := func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "posagent.db")
		streamedJournal.copyTo(t, path, func(t testing.TB, path string) []string {
			mixed.copyTo(t, path, buildMixed)
			s, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Update(func(tx *Tx) error {
				_, err := tx.AppendAudit(at, func(seq uint64) ([]byte, error) { return auditEvent(seq, at) })
				if err == nil {
					err = tx.PutIdem("k1", &Idem{Hash: "h", PaymentID: "pay_90000001", Status: 201, CreatedAt: at})
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			return nil
		})
		return path
	}
	path := build(t)
	exact, err := check.CheckFile(path, CheckOptions{})
	if err != nil || exact.Damaged() {
		t.Fatalf("record-level check of the clean journal: %v %+v", err, exact)
	}
	sound, rep := sumCheck(t, path)
	if !sound {
		t.Fatalf("streamed check of a clean journal: not sound, %+v", rep.Findings)
	}
	if rep.Payments != exact.Payments || rep.Open != exact.Open || rep.Orders != exact.Orders || rep.Jobs != exact.Jobs ||
		rep.IdemKeys != exact.IdemKeys || rep.Events != exact.Events || rep.LastSeq != exact.LastSeq {
		t.Errorf("streamed counts %+v, record-level %+v", rep, exact)
	}
	put := func(b, k, v string) func(*bolt.Tx) error {
		return func(tx *bolt.Tx) error { return tx.Bucket([]byte(b)).Put([]byte(k), []byte(v)) }
	}
	del := func(b, k string) func(*bolt.Tx) error {
		return func(tx *bolt.Tx) error { return tx.Bucket([]byte(b)).Delete([]byte(k)) }
	}
	for _, tc := range []struct {
		name   string
		change func(*bolt.Tx) error
	}{
		{"an order id not indexed", del("orders", "F0000007")},
		{"an order index entry for no payment", put("orders", "ZZZ", "pay_99999999")},
		{"an order id indexed to another payment", put("orders", "F0000007", "pay_90000008")},
		{"pay_state disagrees", put("pay_state", "pay_90000003", string(Failed))},
		{"by_state entry missing", del("by_state", string(stateKey(Succeeded, "pay_90000003")))},
		{"by_state entry twice", put("by_state", string(stateKey(Failed, "pay_90000003")), "")},
		{"a state count off", put("meta", kCount+string(Succeeded), string(u64(3)))},
		{"an event missing in the middle", del("events", string(u64(50)))},
		{"the newest event missing", func(tx *bolt.Tx) error {
			b := tx.Bucket(bEvents)
			k, _ := b.Cursor().Last()
			return b.Delete(k)
		}},
		{"the audit index misses an event", func(tx *bolt.Tx) error { // the audit event's stamp and sequence
			c := tx.Bucket(bAuditAt).Cursor()
			k, _ := c.First()
			return tx.Bucket(bAuditAt).Delete(k)
		}},
		{"a job for no payment", func(tx *bolt.Tx) error {
			return tx.Bucket(bOutbox).Put(u64(1), []byte(`{"seq":1,"kind":"receipt","payment_id":"pay_nope"}`))
		}},
		{"an idempotency key for no payment", put("idem", "k2", `{"hash":"h","payment_id":"pay_nope","created_at":"2026-11-30T09:00:00Z"}`)},
		{"a latest/ entry past the sequence", put("meta", latestPrefix+"rate", string(u64(1<<40)))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := build(t)
			tamper(t, path, tc.change)
			exact, err := check.CheckFile(path, CheckOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(exact.Findings) == 0 {
				t.Fatalf("the record-level check finds nothing: the case tests nothing")
			}
			if sound, rep := sumCheck(t, path); sound {
				t.Errorf("the streamed check finds it sound; the record-level check: %+v (streamed %+v)", exact.Findings, rep.Findings)
			}
		})
	}
}

var streamedJournal = &built{name: "streamed"}

// The check while running names the damage the streamed check cannot
// (it runs the record-level check then), and a sound journal is
// verified by the streamed check alone.
func TestRunCheckFallsBackToNameTheDamage(t *testing.T) {
	path, _ := mixedJournal(t)
	tamper(t, path, func(tx *bolt.Tx) error { return tx.Bucket(bOrders).Delete([]byte("F0000007")) })
	s, err := Open(path, Options{FullCheckBelow: -1})
	if err != nil {
		t.Fatal(err) // the quick check does not read that final payment's order id
	}
	defer s.Close()
	if err := s.RunCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
	st := s.CheckStatus()
	if st.State != CheckDamaged || len(st.Findings) != 1 || st.Findings[0].Key != "F0000007" {
		t.Fatalf("check status %+v, want the order id F0000007 named", st)
	}
}
