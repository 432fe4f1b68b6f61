package feedmark

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/posagent/posagent/store"
)

// doc is the journal document that holds the feed's state.
const doc = "feed"

// State is how far the feed got: the id it publishes under and the last
// event sequence the stream acknowledged.
type State struct {
	// ID is what the feed's message ids start with: the journal's id, or,
	// once the feed found that the stream holds different events under
	// the journal's id (a restored or salvaged journal), a new epoch of it
	// (NewEpoch).
	ID string `json:"id"`
	// Acked is the last event sequence acknowledged by the stream (every
	// event up to it is stored there).
	Acked   uint64    `json:"acked"`
	AckedAt time.Time `json:"acked_at,omitzero"`
	// Epoch counts the new ids given (0: the journal's own id).
	Epoch int `json:"epoch,omitempty"`
}

// Get reads the feed's state; a journal that never fed anything gives the
// journal's id and Acked 0.
func Get(s *store.Store) (State, error) {
	var st State
	err := s.View(func(t *store.Tx) error {
		var err error
		st, err = read(t, s.JournalID())
		return err
	})
	return st, err
}

func read(t *store.Tx, journalID string) (State, error) {
	st := State{ID: journalID}
	if _, err := t.Doc(doc, &st); err != nil {
		return st, err
	}
	if st.ID == "" {
		st.ID = journalID
	}
	return st, nil
}

// SetAcked records that the stream acknowledged every event up to seq
// under id. It never moves Acked back, and refuses an id that is not the
// feed's current one (a feed that started a new epoch meanwhile).
func SetAcked(s *store.Store, id string, seq uint64, at time.Time) error {
	return s.Update(func(t *store.Tx) error {
		st, err := read(t, s.JournalID())
		if err != nil {
			return err
		}
		if st.ID != id {
			return fmt.Errorf("feedmark: feed acknowledgement for id %s, but the feed publishes as %s", id, st.ID)
		}
		// Retention removes nothing the feed has not acknowledged
		// (store.Tx.FeedAck); a call at or below Acked registers the feed.
		if seq <= st.Acked {
			if _, ok := t.FeedAck(); !ok {
				return t.SetFeedAck(st.Acked)
			}
			return nil
		}
		if last := t.LastEventSeq(); seq > last {
			return fmt.Errorf("feedmark: feed acknowledgement of event %d, but the journal's last is %d", seq, last)
		}
		st.Acked, st.AckedAt = seq, at.UTC()
		if err := t.PutDoc(doc, st); err != nil {
			return err
		}
		return t.SetFeedAck(seq)
	})
}

// NewEpoch gives the feed a new id (the journal's id, "~e", the epoch's
// number, "-" and random hex) because the stream holds, under the current
// one, events this journal does not have or has differently (reason says
// which). It moves the event sequence past streamSeq (the stream's last
// sequence from this journal), so that no sequence the stream knows is
// used again, and records a journal.feed_epoch event at the journal's
// clock. Acked stays: the events after it are published again under the
// new id.
func NewEpoch(s *store.Store, streamSeq uint64, reason string) (State, error) {
	var st State
	err := s.Update(func(t *store.Tx) error {
		var err error
		if st, err = read(t, s.JournalID()); err != nil {
			return err
		}
		old := st.ID
		r := make([]byte, 4)
		rand.Read(r)
		st.Epoch++
		st.ID = fmt.Sprintf("%s~e%d-%s", s.JournalID(), st.Epoch, hex.EncodeToString(r))
		if st.Acked > t.LastEventSeq() {
			st.Acked = t.LastEventSeq()
		}
		if err := t.SkipTo(streamSeq); err != nil {
			return err
		}
		if err := t.PutDoc(doc, st); err != nil {
			return err
		}
		_, err = t.JournalEvent("journal.feed_epoch", s.Now(), map[string]any{
			"reason": reason, "old_id": old, "new_id": st.ID, "stream_seq": streamSeq,
		})
		return err
	})
	return st, err
}
