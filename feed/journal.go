package feed

import (
	"time"

	"github.com/posagent/posagent/store"
)

// Journal is what the feed reads and writes of the lane's journal.
type Journal interface {
	// JournalID is the journal's own id.
	JournalID() string
	// Events are up to limit events with sequence > after, in order.
	Events(after uint64, limit int) ([]store.Event, error)
	// LastSeq is the last event sequence assigned.
	LastSeq() uint64
	FeedState() (store.FeedState, error)
	SetFeedAcked(id string, seq uint64, at time.Time) error
	NewFeedEpoch(streamSeq uint64, reason string) (store.FeedState, error)
}

// StoreJournal is a *store.Store as the feed's Journal.
type StoreJournal struct{ *store.Store }

// Events reads events from the journal.
func (j StoreJournal) Events(after uint64, limit int) ([]store.Event, error) {
	var evs []store.Event
	err := j.View(func(t *store.Tx) error {
		var err error
		evs, err = t.Events(after, 0, limit)
		return err
	})
	return evs, err
}

// LastSeq is the journal's last event sequence.
func (j StoreJournal) LastSeq() uint64 {
	var n uint64
	_ = j.View(func(t *store.Tx) error { n = t.LastEventSeq(); return nil })
	return n
}
