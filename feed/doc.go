// Package feed streams a lane's journal to the chain's NATS JetStream:
// every event, in journal order, once, through outages and restarts.
//
// A [Feed] reads the journal's events after the last one the stream
// acknowledged (kept in the journal, store/feedmark), wraps each in a
// versioned [Envelope] (docs/feed.md) and publishes it on
// posagent.<merchant>.<store>.<lane>.<kind> with the header Nats-Msg-Id =
// <feed id>-<sequence>, so that a publish sent again (after a timeout, a
// reconnection or a restart) is stored once by the stream's duplicate
// window, and by the head office's (lane, sequence) beyond it. An event is
// counted sent only on its PubAck; the acknowledged prefix is written to
// the journal at most every Options.SaveEvery, so after a SIGKILL the lane
// publishes again from there, and the copies are dropped as duplicates.
//
// At most Options.Window publishes await their acknowledgement; a failed
// or late one stops the round, and the feed starts again from the last
// acknowledged event after a jittered, growing pause. Nothing on the
// payment path waits for the feed: it reads committed events from the
// journal on its own goroutine, woken by [Feed.Kick] (the engine's event
// bus) or a poll.
//
// Before publishing, each session reads the stream's last message of the
// lane: when it was published under the feed's id but this journal does
// not hold that event, or holds a different one (a journal restored from
// a backup, or salvaged, without its high-water mark), the feed takes a
// new id (store.Store.NewFeedEpoch), moving the journal's sequence past
// the stream's, so that no message id the stream holds is ever reused for
// different content.
//
// Payment codes never leave the device: events carry them masked, and
// the envelope's payload is passed through paycode.MaskIn as well.
package feed
