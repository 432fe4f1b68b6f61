// Package feedmark is the feed's state as the journal keeps it: the id
// the feed publishes the lane's events under and the last event sequence
// the stream (NATS JetStream, package feed) acknowledged.
//
// The journal holds it as its document "feed" (store.Tx.Doc), so that it
// commits, backs up and restores with the events it speaks of. Get reads
// it; SetAcked moves the acknowledgement forward (never back) and, in the
// same transaction, the journal's retention guard (store.Tx.SetFeedAck:
// retention removes nothing the stream has not acknowledged); NewEpoch
// gives the feed a new id when the stream holds, under the current one,
// events this journal does not have (a restored or salvaged journal).
//
// It reads and writes the journal through store's exported Tx API only
// (package store knows neither the document nor its type), as
// store/fleetmark does for the fleet's state; package feed imports it.
package feedmark
