package store

import (
	"fmt"
	"testing"
	"time"
)

// Events are appended in key order, so their pages are packed full: the
// file stays close to the data it holds, and Usage measures both.
func TestUsageAppendDense(t *testing.T) {
	s := open(t, "", Options{})
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for range 20 {
		err := s.Update(func(tx *Tx) error {
			for range 100 {
				if _, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
					return fmt.Appendf(nil, `{"seq":%d,"kind":"x","at":%q,"pad":%q}`, seq, at.Format(time.RFC3339Nano), noise(int(seq))[:200]), nil
				}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	u, err := s.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if u.LiveBytes < 2000*200 || u.FileBytes < u.LiveBytes {
		t.Fatalf("usage %+v: live bytes should count 2000 events of about 230 bytes as stored", u)
	}
	// Half-full pages (bbolt's default for splits) would make this about 2.
	if r := float64(u.FileBytes-u.FreeBytes) / float64(u.LiveBytes); r > 1.4 {
		t.Errorf("pages in use / live data = %.2f, want <= 1.4 (appended pages packed full); %+v", r, u)
	}
}
