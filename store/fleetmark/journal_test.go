package fleetmark

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posagent/posagent/store"
)

// The fleet's high-water: never lowered, and the file beside the journal
// raises a journal that went back (a restored copy).
func TestFleetHighWater(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	s, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	set := func(key string, v uint64) error {
		return Update(s, func(_ *store.Tx, st *State) error {
			st.Highest[key] = v
			st.Applied[key] = Bundle{Version: v, Envelope: []byte{byte(v)}}
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
	if err := s.Update(func(t *store.Tx) error {
		return t.PutDoc(doc, json.RawMessage(`{"highest":{"config.maple.s01":1},"gen":1}`))
	}); err != nil {
		t.Fatal(err)
	}
	st, err := Get(s)
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
	if err := os.WriteFile(Path(path), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Get(s); err == nil || !strings.Contains(err.Error(), "unreadable") {
		t.Fatalf("a damaged fleet file: %v", err)
	}
}
