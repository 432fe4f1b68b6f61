// Package check holds the journal's integrity tools, apart from the
// repository (package store) as bbolt keeps its page format and check
// tools apart from its API. It reads a journal file without trusting it
// and never writes to it.
//
// # The page reader
//
// bbolt maps the file and trusts it, so damage makes it fault or panic.
// Here every page is read with plain, bounds-checked reads (pagefile.go)
// and accounted for (in use, free, meta, freelist); damage becomes a
// Finding naming the page, bucket or record. No panic escapes, whatever
// the file holds.
//
// # The checks
//
//   - CheckFile: the full check of any file (a journal, a backup, a
//     salvaged copy, an archive): every page and record, the journal's
//     invariants (order index both ways, outbox jobs name existing
//     payments, the payment indexes and outbox counters match, no gap in
//     the event sequence but the accepted ones, a journal format this
//     posagent reads), then bbolt's own tx.Check.
//   - Inspect and Before: the check as store.Open uses it, with the
//     high-water mark beside the journal (store/hwm: a journal behind it
//     gives a Rollback) and its data keys (store/seal). Before gives a
//     journal of 4 MiB or more whose mark names a state a full check
//     verified the quick check instead (quickcheck.go): the same reads, of
//     what the start reads only; damage it finds is reported by the full
//     check.
//   - Background and Snapshot: the rest, checked while the journal is in
//     use, of one read transaction's state at the lowest CPU priority; the
//     streamed check (checksum.go) keeps sums, not maps, and only when it
//     cannot tell the journal sound does the record-level check run to name
//     the damage.
//
// A damaged journal gives a *DamageError (errors.Is ErrCorrupt), one
// behind its mark a *RollbackError (errors.Is ErrRolledBack); the store
// package returns them from Open and re-exports them.
//
// # Salvage and diagnostics
//
// Salvage copies every readable record of a damaged file into a new
// journal (derived records rebuilt, what points at lost payments dropped,
// lost event sequences recorded as a gap) and checks it. Pages and
// PageRecords list pages and records for diagnostics; Measure says how a
// journal's bytes are used (live records by bucket, free pages);
// OpenReadOnly lets bbolt open a file only once it checked clean.
//
// The format the checks read (records, buckets, keys) is package
// store/record; nothing here imports package store.
package check
