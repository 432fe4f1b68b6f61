package store

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/store/check"
	bolt "go.etcd.io/bbolt"
)

// A Z report is stored with its checksum; the check finds one whose bytes
// changed; salvage keeps the shift and Z sequences, so no number is reused.
func TestZReportChecksumCheckAndSalvage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "posagent.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := 0; i < 3; i++ {
		err := s.Update(func(tx *Tx) error {
			sh := &Shift{Lane: "L1", OpenedAt: now}
			if err := tx.NewShift(sh); err != nil {
				return err
			}
			z, err := tx.AddZ(sh.No, now, func(no uint64) ([]byte, error) { return json.Marshal(map[string]any{"z": no}) })
			if err != nil {
				return err
			}
			sh.ClosedAt, sh.Z = now, z.No
			return tx.PutShift(sh)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The newest Z and its shift are lost (as if their pages were):
	// the sequences must still remember them.
	s.Update(func(tx *Tx) error {
		tx.w().Bucket(bZReports).Delete(u64(3))
		return tx.w().Bucket(bShifts).Delete(u64(3))
	})
	s.Close()
	rep, err := check.CheckFile(path, CheckOptions{})
	if err != nil || rep.Damaged() {
		t.Fatalf("clean journal: %v %+v", err, rep)
	}
	out := filepath.Join(dir, "salvaged.db")
	if _, err := check.Salvage(path, out, CheckOptions{}); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2.Update(func(tx *Tx) error {
		if z, err := tx.Z(2); err != nil || string(z.Report) != `{"z":2}` {
			t.Errorf("Z 2 after salvage: %v %v", z, err)
		}
		if tx.LastZ() != 3 {
			t.Errorf("last Z %d after salvage, want 3", tx.LastZ())
		}
		sh := &Shift{Lane: "L1", OpenedAt: now}
		if err := tx.NewShift(sh); err != nil || sh.No != 4 {
			t.Errorf("new shift %d (%v), want 4", sh.No, err)
		}
		return nil
	})
	s2.Close()

	// Change one byte of a stored report: the check and a read both see it.
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bZReports)
		v := strings.Replace(string(b.Get(u64(1))), `"report":{"z":1}`, `"report":{"z":7}`, 1)
		return b.Put(u64(1), []byte(v))
	})
	db.Close()
	rep, err = check.CheckFile(path, CheckOptions{})
	if err != nil || !rep.Damaged() || !strings.Contains(rep.Findings[0].Problem, "checksum") {
		t.Fatalf("tampered Z report: %v %+v", err, rep)
	}
	// Open refuses it as it refuses any damage (the file is left alone).
	if s3, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), "checksum") {
		if s3 != nil {
			s3.Close()
		}
		t.Fatalf("open of a journal with a tampered Z report: %v", err)
	}
}
