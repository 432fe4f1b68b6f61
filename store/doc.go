// Package store is the payment journal of posagent: one bbolt file that holds
// every payment with its refunds and history, the order-id index, the
// idempotency keys of the local API, the durable outbox of background jobs and
// the event log that the local API streams.
//
// The journal's format (the records, buckets and keys) is package
// store/record; its integrity tools (the page reader, the checks, salvage)
// are store/check; the high-water mark file is store/hwm, the data keys
// store/seal, verified copies store/backup and archives store/archive. This
// package is the repository: it opens the journal, and reads and writes it
// in transactions. The record types are re-exported under their store
// names (store.Payment is record.Payment).
//
// # Basics
//
// Open the file once per process with [Open]; a second process gets
// [ErrLocked] after Options.LockTimeout (default 1 s; a zero value never means
// "wait forever").
//
// # The check before use
//
// Open first checks the file without modifying it (check.Before): a
// damaged file gives a [*DamageError] (errors.Is [ErrCorrupt]) naming the
// page or record; a journal behind its high-water mark (an older copy, a
// meta-page fallback, an empty, missing or foreign file) a
// [*RollbackError] (errors.Is [ErrRolledBack]) until store/offline's
// AcceptRollback or Restore (with the agent stopped, through
// [OpenAccepting]) records, as a journal.* event, what was lost, and
// moves the event sequence past every sequence ever announced. Nothing is written
// to a journal either refuses. A journal of Options.FullCheckBelow (4 MiB)
// or more whose mark names a state a full check verified gets the quick
// check; [Store.RunCheck] checks the rest while the journal is in use
// (damage it finds: [Store.CheckStatus], [Store.Damage]; a sound journal
// moves Mark.Verified on). A flusher writes the mark after each batch of
// commits.
//
// Backups: [Store.WriteBackup] and [Store.BackupFile] copy from one read
// transaction while writers go on; [Store.BackupNow] takes a scheduled,
// verified backup, [Store.RotateKeys] rotates data keys and
// [Store.CompactIfDue] compacts a quiet journal; the daemon's journal part
// schedules them (daemon/journalmaint.go). [Open] and
// store/offline.Restore refuse an archive ([ErrArchive]); [OpenReader]
// reads one.
//
// Every state change is one [Store.Update]: a closure that reads and writes
// records through [Tx], appends its events and queues its outbox jobs. The
// transaction is committed with fsync (bbolt's default) before Update returns,
// and only then are the appended events handed to Options.OnCommit, in
// sequence order. A caller therefore acts on a change, or announces it, only
// once it is durable.
//
// # Payment codes
//
// The customer's payment code (auth_code) is kept only while a payment may
// still need it, and never in clear: [Tx.PutPayment] seals it (store/seal)
// under the current data key (KeysPath, beside the journal) and erases it in
// the same transaction that writes a final state; reads open it again. Keys
// rotate ([Store.RotateKeys], Options.KeyRotation, daily) and a key no open
// payment needs is destroyed, so a sealed code left in a freed page (or in
// a backup) can no longer be read.
//
// # Caveats
//
//   - bbolt is copy-on-write: a page freed by a later transaction keeps its
//     old bytes until it is reused. Payment codes there are sealed; they stay
//     readable until their key is destroyed (at most a rotation after the
//     last payment that needed it ended).
//   - The mark follows the journal by one fsync: a rollback of only the
//     very last commit before a power cut can go unseen.
//   - Backups do not hold the data keys: codes of payments open at the
//     time of a backup are lost when it is restored (such payments are
//     queried, never sent again with a code).
//   - One process at a time: the file lock is exclusive.
//   - [Store.Compact] deletes final, synced payments (no pending outbox job)
//     older than a cut-off, with their order-index and idempotency entries,
//     and events older than the cut-off. It does not shrink the file; bbolt
//     reuses the freed pages, and [Store.CompactNow] (run by CompactIfDue
//     on a quiet journal with half its pages free) rewrites the file
//     without them while it is open.
package store
