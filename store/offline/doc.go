// Package offline holds the journal tools a technician runs with the agent
// stopped, which put a journal back and record it in the journal itself:
//
//   - Restore puts a backup in place of the journal (posagent journal
//     restore), keeping the one that was there aside;
//   - AcceptRollback opens a journal that is behind its high-water mark
//     (posagent journal accept-rollback).
//
// Both refuse a damaged file and a journal a running agent holds
// (store.ErrLocked). They open the journal with store.OpenAccepting: their
// change is the first transaction, a journal.* event, with the event
// sequence moved past every sequence the high-water mark announced, so no
// sequence a client has seen is ever used again.
//
// Compacting a stopped journal (store.CompactFile) stays in package store:
// Open runs it at start. The package sits above store and store/check and
// below cmd/posagent; nothing in store imports it.
package offline
