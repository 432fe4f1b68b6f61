package feedmark_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/store"
	"github.com/posagent/posagent/store/check"
	"github.com/posagent/posagent/store/feedmark"
)

func TestState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st, err := feedmark.Get(s); err != nil || st.ID != s.JournalID() || st.Acked != 0 || st.Epoch != 0 {
		t.Fatalf("a new journal's feed state: %+v %v", st, err)
	}
	for i := range 5 {
		if err := s.Update(func(tx *store.Tx) error {
			_, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
				return json.Marshal(map[string]any{"seq": seq, "kind": "k", "n": i})
			})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	id := s.JournalID()
	if err := feedmark.SetAcked(s, id, 3, now); err != nil {
		t.Fatal(err)
	}
	if err := feedmark.SetAcked(s, id, 2, now); err != nil { // never back
		t.Fatal(err)
	}
	if err := feedmark.SetAcked(s, id, 6, now); err == nil || !strings.Contains(err.Error(), "the journal's last is 5") {
		t.Fatalf("an acknowledgement past the journal: %v", err)
	}
	if err := feedmark.SetAcked(s, "other", 4, now); err == nil {
		t.Fatal("an acknowledgement under another id was taken")
	}
	if st, _ := feedmark.Get(s); st.Acked != 3 || !st.AckedAt.Equal(now) {
		t.Fatalf("feed state: %+v", st)
	}
	// A new epoch: a new id, the sequence past the stream's, an event.
	st, err := feedmark.NewEpoch(s, 40, "test")
	if err != nil {
		t.Fatal(err)
	}
	if st.Epoch != 1 || !strings.HasPrefix(st.ID, id+"~e1-") || st.Acked != 3 {
		t.Fatalf("epoch: %+v", st)
	}
	var evs []store.Event
	s.View(func(tx *store.Tx) error { evs, _ = tx.Events(5, 0, 0); return nil })
	if len(evs) != 1 || evs[0].Seq != 41 || !strings.Contains(string(evs[0].Data), `"journal.feed_epoch"`) {
		t.Fatalf("after the epoch: %+v", evs)
	}
	if err := feedmark.SetAcked(s, id, 4, now); err == nil {
		t.Fatal("an acknowledgement under the old id was taken")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The journal with its feed bucket and its recorded gap checks clean
	// and reopens with the state.
	if rep, err := check.CheckFile(path, store.CheckOptions{}); err != nil || rep.Damaged() {
		t.Fatalf("check: %v %v", rep, err)
	}
	s, err = store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, _ := feedmark.Get(s); got != st {
		t.Fatalf("after reopening: %+v, want %+v", got, st)
	}
}

// The feed's acknowledgements reach retention's guard (Tx.FeedAck): a
// feed registers at its first session, before anything is acknowledged,
// and each acknowledgement moves the guard; retention then removes
// nothing the stream has not acknowledged.
func TestFeedAcksGuardRetention(t *testing.T) {
	s, err := store.Open(filepath.Join(t.TempDir(), "posagent.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 0; i < 3; i++ {
		if err := s.Update(func(tx *store.Tx) error {
			_, err := tx.AppendEvent(func(seq uint64) ([]byte, error) { return []byte(`{"kind":"x"}`), nil })
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	guard := func() (uint64, bool) {
		var seq uint64
		var ok bool
		s.View(func(tx *store.Tx) error { seq, ok = tx.FeedAck(); return nil })
		return seq, ok
	}
	if _, ok := guard(); ok {
		t.Fatal("a journal without a feed has a retention guard")
	}
	st, err := feedmark.Get(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := feedmark.SetAcked(s, st.ID, 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	if seq, ok := guard(); !ok || seq != 0 {
		t.Fatalf("after the feed registered: guard %d %v, want 0 true", seq, ok)
	}
	if err := feedmark.SetAcked(s, st.ID, 2, time.Now()); err != nil {
		t.Fatal(err)
	}
	if seq, ok := guard(); !ok || seq != 2 {
		t.Fatalf("after an acknowledgement of 2: guard %d %v", seq, ok)
	}
}
