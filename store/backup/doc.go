// Package backup makes verified copies of a journal file: Copy (a journal
// no agent holds), Save (a copy streamed by a running agent, GET
// /v1/journal/backup) and Write (what the running store's
// Store.BackupFile and scheduled backups, and store/offline.Restore, write
// through). Every copy is written to a temporary file beside out, fsynced,
// renamed into place with its directory fsynced, then checked with
// check.CheckFile: a copy that does not check is removed. An existing out
// is never overwritten. Scheduled backups are named by their time (Name)
// and listed newest first (List).
package backup
