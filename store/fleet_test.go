package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The fleet's high-water: never lowered, and the file beside the journal
// raises a journal that went back (a restored copy).
func TestFleetHighWater(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	set := func(key string, v uint64) error {
		return s.UpdateFleet(func(_ *Tx, st *FleetState) error {
			st.Highest[key] = v
			st.Applied[key] = FleetBundle{Version: v, Envelope: []byte{byte(v)}}
			return nil
		})
	}
	if err := set("config.maple.s01", 3); err != nil {
		t.Fatal(err)
	}
	if err := set("config.maple.s01", 2); err == nil || !strings.Contains(err.Error(), "would go back from 3 to 2") {
		t.Fatalf("lowering the highest: %v", err)
	}
	// The journal's own state lowered behind the store's back (as a
	// restored older journal holds): the file beside it still says 3.
	if err := s.Update(func(t *Tx) error {
		return t.w().Bucket(bFleet).Put(keyFleetState, []byte(`{"highest":{"config.maple.s01":1},"gen":1}`))
	}); err != nil {
		t.Fatal(err)
	}
	st, err := s.FleetState()
	if err != nil {
		t.Fatal(err)
	}
	if st.Highest["config.maple.s01"] != 3 || st.Applied["config.maple.s01"].Version != 3 {
		t.Fatalf("after the journal went back: %+v", st)
	}
	if err := set("config.maple.s01", 2); err == nil {
		t.Fatal("lowered below the file's highest")
	}
	// An unreadable file is an error, not a silent zero.
	if err := os.WriteFile(FleetMarkPath(path), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FleetState(); err == nil || !strings.Contains(err.Error(), "unreadable") {
		t.Fatalf("a damaged fleet file: %v", err)
	}
}
