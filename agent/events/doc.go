// Package events is the journal-backed event log's live side: a Bus hands
// every committed journal event to its subscribers, after replaying what
// the journal already holds past each subscriber's cursor.
//
// The journal (package store) is the log; the bus adds no storage of its
// own. A subscriber names the last sequence number it saw and gets every
// later event exactly once and in order: first those already in the
// journal, then live ones, with the boundary between the two taken under
// the same lock as publishing, so that there is no gap and no duplicate.
// A subscriber that falls maxQueue events behind is dropped (its channel
// closes) and reconnects with its cursor; it never slows the committer.
//
// The bus carries store.Event as journaled; the agent decodes it into its
// public event type through the function given to Subscribe.
package events
