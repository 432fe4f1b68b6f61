package events_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/agent/events"
	"github.com/posagent/posagent/store"
)

// journal is a real bbolt journal whose commits are published on a bus,
// as the engine wires them.
func journal(t *testing.T) (*store.Store, *events.Bus) {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "j.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := events.New(st, 0)
	st.SetOnCommit(b.Publish)
	return st, b
}

func appendEvents(t *testing.T, st *store.Store, n int) {
	t.Helper()
	for range n {
		err := st.Update(func(tx *store.Tx) error {
			_, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
				return fmt.Appendf(nil, `{"seq":%d}`, seq), nil
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func raw(e store.Event) (uint64, bool) {
	n, err := strconv.ParseUint(string(e.Data[len(`{"seq":`):len(e.Data)-1]), 10, 64)
	return n, err == nil && n == e.Seq
}

func recv(t *testing.T, ch <-chan uint64) (uint64, bool) {
	t.Helper()
	select {
	case v, ok := <-ch:
		return v, ok
	case <-time.After(10 * time.Second): // a hang guard, not a speed limit
		t.Fatal("no event")
		return 0, false
	}
}

// A subscriber gets every event after its cursor once, in order: those in
// the journal first, then live ones, while commits go on concurrently.
func TestReplayThenLiveHasNoGapAndNoDuplicate(t *testing.T) {
	st, b := journal(t)
	appendEvents(t, st, 300) // more than one replay chunk
	ch, cancel := events.Subscribe(b, 42, raw)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { appendEvents(t, st, 200) })
	for want := uint64(43); want <= 500; want++ {
		got, ok := recv(t, ch)
		if !ok || got != want {
			t.Fatalf("event %d: got %d (open %v)", want, got, ok)
		}
	}
	wg.Wait()
	if b.Last() != 500 {
		t.Fatalf("Last = %d, want 500", b.Last())
	}
}

// An event the decoder refuses is skipped, not delivered and not fatal.
func TestUndecodableEventIsSkipped(t *testing.T) {
	st, b := journal(t)
	appendEvents(t, st, 3)
	ch, cancel := events.Subscribe(b, 0, func(e store.Event) (uint64, bool) { return e.Seq, e.Seq != 2 })
	defer cancel()
	for _, want := range []uint64{1, 3} {
		if got, ok := recv(t, ch); !ok || got != want {
			t.Fatalf("got %d (open %v), want %d", got, ok, want)
		}
	}
}

// A subscriber that stops reading is dropped once MaxQueue events wait for
// it: its channel closes, and the committer never blocked on it.
func TestSlowSubscriberIsDropped(t *testing.T) {
	_, b := journal(t)
	ch, cancel := events.Subscribe(b, 0, raw)
	defer cancel()
	// Hand the bus more than MaxQueue events without reading (published
	// directly: the journal's commit path is not what is under test).
	batch := make([]store.Event, events.MaxQueue+1)
	for i := range batch {
		batch[i] = store.Event{Seq: uint64(i + 1), Data: fmt.Appendf(nil, `{"seq":%d}`, i+1)}
	}
	b.Publish(batch)
	for {
		if _, ok := recv(t, ch); !ok {
			break // dropped
		}
	}
}

// Cancel stops the stream and closes its channel; a later publish is fine.
func TestCancelClosesTheStream(t *testing.T) {
	st, b := journal(t)
	ch, cancel := events.Subscribe(b, 0, raw)
	cancel()
	cancel() // twice is harmless
	if _, ok := <-ch; ok {
		t.Fatal("channel still open after cancel")
	}
	appendEvents(t, st, 1)
}

// A replay chunk of nothing but undecodable events moves the cursor on: the
// subscriber gets the good event after them instead of reading the same
// chunk forever.
func TestReplayPastUndecodableChunk(t *testing.T) {
	st, b := journal(t)
	appendEvents(t, st, 600) // more than two replay chunks
	ch, cancel := events.Subscribe(b, 0, func(e store.Event) (uint64, bool) { return e.Seq, e.Seq > 590 })
	defer cancel()
	for want := uint64(591); want <= 600; want++ {
		if got, ok := recv(t, ch); !ok || got != want {
			t.Fatalf("got %d (open %v), want %d", got, ok, want)
		}
	}
}
