package store

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posagent/posagent/store/check"
	"github.com/posagent/posagent/store/record"
)

// A damaged packed event is reported by the journal check (not read as
// another event).
func TestPackedEventDamageFound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	js, _ := os.ReadFile(filepath.Join("record", "testdata", "event-packed.json"))
	err = s.Update(func(tx *Tx) error {
		_, err := tx.AppendEvent(func(uint64) ([]byte, error) { return bytes.TrimSpace(js), nil })
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	packed := record.PackEvent(bytes.TrimSpace(js))
	i := bytes.Index(b, packed[:24])
	if i < 0 {
		t.Fatal("precondition: the packed event is in the file")
	}
	b[i+len(packed)/2] ^= 0x55
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := check.CheckFile(path, CheckOptions{})
	if err != nil || !rep.Damaged() {
		t.Fatalf("a damaged packed event: %+v %v", rep, err)
	}
	found := false
	for _, f := range rep.Findings {
		found = found || (f.Bucket == "events" && strings.Contains(f.Problem, "event unreadable"))
	}
	if !found {
		t.Fatalf("findings: %+v", rep.Findings)
	}
}

// Unpacked finds the packed records in a journal file's bytes, live and
// freed: what they hold can be searched as if it were plain.
func TestUnpackedFindsRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		err := s.Update(func(tx *Tx) error {
			p := &Payment{ID: fmt.Sprintf("pay_%03d", i), OrderID: fmt.Sprintf("O%03d", i), State: Failed, Reference: fmt.Sprintf("marker-%03d", i), Refunds: []Refund{}}
			if err := tx.PutPayment(p); err != nil {
				return err
			}
			_, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
				return fmt.Appendf(nil, `{"seq":%d,"kind":"scan.barcode","at":"2026-12-07T08:03:49Z","barcode":"event-marker-%03d"}`, seq, i), nil
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if bytes.Contains(raw, []byte("marker-007")) {
		t.Fatal("precondition: the records are packed")
	}
	all := bytes.Join(record.Unpacked(raw), nil)
	for i := range 30 {
		for _, m := range []string{fmt.Sprintf(`"reference":"marker-%03d"`, i), fmt.Sprintf("event-marker-%03d", i)} {
			if !bytes.Contains(all, []byte(m)) {
				t.Errorf("%s not found in the unpacked records", m)
			}
		}
	}
}
