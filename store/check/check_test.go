package check

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/store/record"
	bolt "go.etcd.io/bbolt"
)

func TestFindingJSON(t *testing.T) {
	b, _ := json.Marshal(Finding{Page: pg(3), Bucket: "payments", Problem: "x", Damage: true})
	if string(b) != `{"page":3,"bucket":"payments","problem":"x","damage":true}` {
		t.Error(string(b))
	}
}

// writeJournal writes, with bbolt directly, a small journal in the format
// of package record: one payment with its order id, a job for it, an
// event; edit changes it before the commit.
func writeJournal(t testing.TB, path string, edit func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range record.CoreBuckets {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		at := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		p, _ := json.Marshal(&record.Payment{ID: "pay_1", OrderID: "o1", State: record.InDoubt, Amount: 1250, CreatedAt: at})
		j, _ := json.Marshal(&record.Job{Seq: 1, Kind: record.JobQuery, PaymentID: "pay_1", CreatedAt: at})
		meta, out, ev := tx.Bucket(record.BucketMeta), tx.Bucket(record.BucketOutbox), tx.Bucket(record.BucketEvents)
		for _, put := range []error{
			meta.Put(record.KeySchema, record.U64(record.SchemaVersion)),
			meta.Put(record.KeyJournalID, []byte("0123456789abcdef")),
			tx.Bucket(record.BucketPayments).Put([]byte("pay_1"), p),
			tx.Bucket(record.BucketOrders).Put([]byte("o1"), []byte("pay_1")),
			out.Put(record.U64(1), j), out.SetSequence(1),
			ev.Put(record.U64(1), []byte(`{"seq":1,"kind":"payment.created","at":"2026-12-07T09:00:00Z"}`)), ev.SetSequence(1),
		} {
			if put != nil {
				return put
			}
		}
		if edit != nil {
			return edit(tx)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// CheckFile on journals written without package store: a sound one is
// sound and counted; one whose records disagree names the record.
func TestCheckFileCrossChecks(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(tx *bolt.Tx) error
		want string // "" sound
	}{
		{name: "sound"},
		{name: "order of no payment", want: "orders o2: points at payment pay_2, which is not in the journal",
			edit: func(tx *bolt.Tx) error { return tx.Bucket(record.BucketOrders).Put([]byte("o2"), []byte("pay_2")) }},
		{name: "order id not indexed", want: "orders o1: order id of payment pay_1 is not indexed",
			edit: func(tx *bolt.Tx) error { return tx.Bucket(record.BucketOrders).Delete([]byte("o1")) }},
		{name: "job of no payment", want: "job for payment pay_9, which is not in the journal",
			edit: func(tx *bolt.Tx) error {
				j, _ := json.Marshal(&record.Job{Seq: 1, Kind: record.JobQuery, PaymentID: "pay_9"})
				return tx.Bucket(record.BucketOutbox).Put(record.U64(1), j)
			}},
		{name: "payment unreadable", want: "payments pay_1: record unreadable",
			edit: func(tx *bolt.Tx) error { return tx.Bucket(record.BucketPayments).Put([]byte("pay_1"), []byte("{")) }},
		{name: "newer format", want: "written by a newer posagent",
			edit: func(tx *bolt.Tx) error {
				return tx.Bucket(record.BucketMeta).Put(record.KeySchema, record.U64(record.SchemaVersion+1))
			}},
		{name: "events missing", want: "events #2 to #5 are missing (the newest)",
			edit: func(tx *bolt.Tx) error { return tx.Bucket(record.BucketEvents).SetSequence(5) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "j.db")
			writeJournal(t, path, tc.edit)
			rep, err := CheckFile(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var dmg []string
			for _, f := range rep.Findings {
				if f.Damage {
					dmg = append(dmg, f.String())
				}
			}
			switch {
			case tc.want == "" && (len(dmg) > 0 || rep.Payments != 1 || rep.Open != 1 || rep.Orders != 1 || rep.Jobs != 1 || rep.Events != 1):
				t.Errorf("sound journal: damage %q, counts %+v", dmg, rep)
			case tc.want != "" && !strings.Contains(strings.Join(dmg, "\n"), tc.want):
				t.Errorf("damage %q, want one with %q", dmg, tc.want)
			}
		})
	}
}

func TestDecodeMeta(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	writeJournal(t, path, nil)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := decodeMeta(b[:4096]); !m.ok || m.version != 2 || m.pageSize != 4096 {
		t.Fatalf("the meta page bbolt wrote: %+v", m)
	}
	for _, tc := range []struct {
		name string
		edit func(p []byte) []byte
		why  string
	}{
		{"short", func(p []byte) []byte { return p[:40] }, "short page"},
		{"flags", func(p []byte) []byte { p[8] = flagLeaf; return p }, "not a meta page"},
		{"magic", func(p []byte) []byte { p[16] ^= 1; return p }, "no bbolt magic number"},
		{"checksum", func(p []byte) []byte { p[16+48] ^= 1; return p }, "checksum mismatch"},
	} {
		p := tc.edit(bytes.Clone(b[:4096]))
		if m := decodeMeta(p); m.ok || !strings.Contains(m.why, tc.why) {
			t.Errorf("%s: %+v, want %q", tc.name, m, tc.why)
		}
	}
}

// FuzzCheckFile: whatever bytes a journal file holds (a valid journal with
// one byte changed), CheckFile returns findings, never an error or a
// panic, and Salvage returns.
func FuzzCheckFile(f *testing.F) {
	path := filepath.Join(f.TempDir(), "seed.db")
	writeJournal(f, path, nil)
	seed, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed, 3*4096+40, byte(0xff))
	f.Add(seed, 16, byte(0))
	f.Add(seed, 4096+20, byte(7))
	f.Fuzz(func(t *testing.T, file []byte, at int, b byte) {
		if len(file) == 0 || len(file) > 1<<20 {
			return
		}
		file = bytes.Clone(file)
		file[uint(at)%uint(len(file))] ^= b
		dir := t.TempDir()
		p := filepath.Join(dir, "j.db")
		if err := os.WriteFile(p, file, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := CheckFile(p, Options{}); err != nil {
			t.Fatalf("CheckFile: %v", err)
		}
		_, _ = Salvage(p, filepath.Join(dir, "out.db"), Options{})
	})
}
