// Package archive writes archives. An archive is a journal-format file
// (the same buckets and records) that holds a journal's history before a
// date, outside the live journal:
//
//   - the final payments created before it (a payment whose state or one of
//     whose refunds is not final yet is left out and counted), as stored,
//     with their order ids in the order index;
//   - the events stamped before it, oldest first up to the first one that
//     is not (events are in time order; retention removes them the same
//     way), each written whole, with the audit index of the audit events
//     among them and the gaps the journal accepted;
//   - in the meta bucket: the journal format, a journal id of its own, and
//     archive/of (the journal's id), archive/before and archive/at.
//
// Archive only reads the journal (check.OpenReadOnly: checked first, a
// damaged one is refused): what leaves the live journal is for the
// store's guarded retention to remove. check.CheckFile verifies an
// archive like any journal; store.OpenReader reads it (posagent export
// --archive), and store.Open and store/offline.Restore refuse one.
package archive
