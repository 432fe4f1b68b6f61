// Package store is the payment journal of posagent: one bbolt file that holds
// every payment with its refunds and history, the order-id index, the
// idempotency keys of the local API, the durable outbox of background jobs and
// the event log that the local API streams.
//
// # Basics
//
// Open the file once per process with [Open]; a second process gets
// [ErrLocked] after Options.LockTimeout (default 1 s; a zero value never means
// "wait forever").
//
// # The check before use
//
// Open first checks the file without modifying it ([Inspect]): every page
// is read with plain, bounds-checked reads (bbolt maps the file and trusts
// it, so damage makes it fault or panic) and accounted for; every record is
// decoded; the journal's invariants are checked (order index both ways,
// outbox jobs name existing payments, no gap in the event sequence but the
// accepted ones, a journal format this package reads); then bbolt's own
// tx.Check runs. A damaged file gives a [*DamageError] (errors.Is
// [ErrCorrupt]) naming the page or record; nothing was written to it.
// [CheckFile] is the same check for any file (backups, salvaged copies);
// [Pages] lists the pages for diagnostics.
//
// A journal of Options.FullCheckBelow (4 MiB) or more whose high-water
// mark names a state a full check verified (Mark.Verified) gets the quick
// check instead: the same reads, of what the start reads only (meta pages,
// freelist, bucket headers, the meta bucket, the outbox, the open-payment
// index and the payments it and the jobs name, the newest events); damage
// it finds is reported by the full check. [Store.RunCheck] checks the rest
// while the journal is in use, with plain reads of one read transaction's
// state at low priority; damage it finds is kept ([Store.CheckStatus],
// [Store.Damage]) and a sound journal moves Mark.Verified on.
//
// The high-water mark ([Mark], in MarkPath beside the journal) holds the
// journal's id, last event sequence and last transaction; a flusher writes
// it after each batch of commits. A journal behind its mark (an older copy,
// a meta-page fallback, an empty, missing or foreign file) gives a
// [*RollbackError] (errors.Is [ErrRolledBack]) until [AcceptRollback] or
// [Restore] records, as a journal.* event, what was lost, and moves the
// event sequence past every sequence ever announced.
//
// Backups: [Store.WriteBackup] and [Store.BackupFile] copy from one read
// transaction while writers go on; [CopyJournal] copies a journal no
// process holds; [Store.RunMaintenance] takes scheduled, verified backups
// and rotates data keys. [Salvage] copies every readable record of a
// damaged file into a new journal. [Archive] writes the final payments and
// the events before a date into an archive, a journal-format file that
// [CheckFile] verifies and [OpenReader] reads; [Open] and [Restore] refuse
// one ([ErrArchive]).
//
// Every state change is one [Store.Update]: a closure that reads and writes
// records through [Tx], appends its events and queues its outbox jobs. The
// transaction is committed with fsync (bbolt's default) before Update returns,
// and only then are the appended events handed to Options.OnCommit, in
// sequence order. A caller therefore acts on a change, or announces it, only
// once it is durable.
//
// Buckets:
//
//	payments   payment id -> Payment JSON (refunds and history inside)
//	orders     order id (of a payment or of a refund) -> payment id
//	idem       idempotency key -> request hash + payment id (+ refund id)
//	outbox     uint64 sequence (big-endian) -> Job JSON, in creation order
//	outbox_stats  the outbox's counters by kind, its jobs by age and their
//	           last errors, kept with every job write ([Tx.OutboxSummary])
//	events     uint64 sequence (big-endian) -> event JSON; the sequence
//	           never goes back, even after Compact or a restart
//	audit_at   the audit events by stamp, so "the audit trail since T" seeks
//	           to T ([Tx.AppendAudit], [Tx.AuditEvents]); derived from the events
//	meta       schema version
//
// Payment ids are time-ordered ("pay_" + fixed-width base-36 nanoseconds +
// random), so the payments bucket iterates in creation order and listing
// newest-first is a reverse cursor walk.
//
// # Payment codes
//
// The customer's payment code (auth_code) is kept only while a payment may
// still need it, and never in clear: [Tx.PutPayment] seals it with AES-GCM
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
//     reuses the freed pages, and [Store.CompactNow] (run by RunMaintenance
//     on a quiet journal with half its pages free) rewrites the file
//     without them while it is open.
package store
