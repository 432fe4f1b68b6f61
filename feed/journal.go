package feed

import (
	"time"

	"github.com/posagent/posagent/store"
	"github.com/posagent/posagent/store/feedmark"
)

// Journal is what the feed reads and writes of the lane's journal.
type Journal interface {
	// JournalID is the journal's own id.
	JournalID() string
	// Events are up to limit events with sequence > after, in order.
	Events(after uint64, limit int) ([]store.Event, error)
	// LastSeq is the last event sequence assigned.
	LastSeq() uint64
	// FeedState, SetFeedAcked and NewFeedEpoch are the feed's state as
	// the journal keeps it (store/feedmark's Get, SetAcked, NewEpoch).
	FeedState() (feedmark.State, error)
	SetFeedAcked(id string, seq uint64, at time.Time) error
	NewFeedEpoch(streamSeq uint64, reason string) (feedmark.State, error)
}

// StoreJournal is a *store.Store as the feed's Journal.
type StoreJournal struct{ *store.Store }

// FeedState reads the feed's state (feedmark.Get).
func (j StoreJournal) FeedState() (feedmark.State, error) { return feedmark.Get(j.Store) }

// SetFeedAcked records the stream's acknowledgement (feedmark.SetAcked).
func (j StoreJournal) SetFeedAcked(id string, seq uint64, at time.Time) error {
	return feedmark.SetAcked(j.Store, id, seq, at)
}

// NewFeedEpoch gives the feed a new id (feedmark.NewEpoch).
func (j StoreJournal) NewFeedEpoch(streamSeq uint64, reason string) (feedmark.State, error) {
	return feedmark.NewEpoch(j.Store, streamSeq, reason)
}

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
