package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/store/check"
	"github.com/posagent/posagent/store/record"
)

// payEvent is an event about payment id as the agent writes them: the
// whole payment, with a history that grows.
func payEvent(seq uint64, id string, at time.Time, state string, hist int, note string) []byte {
	type h struct {
		State string    `json:"state"`
		At    time.Time `json:"at"`
	}
	var hs []h
	for i := range hist {
		hs = append(hs, h{fmt.Sprintf("s%d", i), time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)})
	}
	b, _ := json.Marshal(map[string]any{"seq": seq, "kind": "payment.updated", "at": at,
		"payment": map[string]any{"id": id, "order_id": "O" + id, "amount": 1000, "state": state, "history": hs,
			"error": map[string]any{"message": note}, "updated_at": at}})
	return b
}

// Events about the same payment are stored as deltas and read back
// byte for byte: by Events, by OnCommit, after the retention compaction
// cut their chains, and after salvage.
func TestEventDeltasReadBackExact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posagent.db")
	var announced []Event
	s, err := Open(path, Options{OnCommit: func(evs []Event) { announced = append(announced, evs...) }})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	want := map[uint64][]byte{}
	hist := map[string]int{}
	for i := range 600 {
		id := fmt.Sprintf("pay_%03d", rng.IntN(40))
		hist[id]++
		at := t0.Add(time.Duration(i) * time.Hour)
		note := strings.Repeat("n", rng.IntN(40)) + ", with: {commas} [and] \"quotes\""
		err := s.Update(func(tx *Tx) error {
			_, err := tx.AppendEventAbout(id, nil, func(seq uint64) ([]byte, error) {
				b := payEvent(seq, id, at, []string{"processing", "succeeded", "in_doubt"}[rng.IntN(3)], hist[id], note)
				want[seq] = b
				return b, nil
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	readBack := func(stage string, from uint64) {
		t.Helper()
		var evs []Event
		s.View(func(tx *Tx) error { evs, err = tx.Events(from, 0, 0); return err })
		if len(evs) != len(want)-int(from) {
			t.Fatalf("%s: %d events read, want %d", stage, len(evs), len(want)-int(from))
		}
		for _, e := range evs {
			if !bytes.Equal(e.Data, want[e.Seq]) {
				t.Fatalf("%s: event %d reads\n%s\nwant\n%s", stage, e.Seq, e.Data, want[e.Seq])
			}
		}
	}
	readBack("stored", 0)
	for _, e := range announced {
		if !bytes.Equal(e.Data, want[e.Seq]) {
			t.Fatalf("event %d announced as %s", e.Seq, e.Data)
		}
	}
	var deltas, stored, full int
	s.View(func(tx *Tx) error {
		return tx.tx.Bucket(bEvents).ForEach(func(k, v []byte) error {
			if storedDelta(v) {
				deltas++
			}
			stored += len(v)
			return nil
		})
	})
	for _, b := range want {
		full += len(b)
	}
	t.Logf("%d of %d events stored as deltas; %d bytes stored for %d", deltas, len(want), stored, full)
	if deltas < len(want)/2 {
		t.Errorf("only %d of %d events stored as deltas", deltas, len(want))
	}
	// The retention compaction removes the first 300 events: those kept
	// whose chains reached them are stored in full first.
	if _, err := s.Compact(t0.Add(300 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	readBack("after compaction", 300)
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Salvage writes them in full.
	out := filepath.Join(t.TempDir(), "salvaged.db")
	if _, err := check.Salvage(path, out, CheckOptions{}); err != nil {
		t.Fatal(err)
	}
	s, err = Open(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	readBack("salvaged", 300)
	s.Close()
}

// storedDelta reports whether a stored event (packed or not) is a delta.
func storedDelta(v []byte) bool {
	js, err := record.UnpackEvent(v)
	return err == nil && isDelta(js)
}
