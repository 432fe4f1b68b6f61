package agent

import (
	"bytes"
	"fmt"
)

// journalStatus is the journal part of /v1/status, with the journal's
// backups (store.backup.*).
func (e *Engine) journalStatus() JournalStatus {
	return JournalStatus{Path: e.st.Path(), SizeBytes: e.st.Size(), LastSeq: e.bus.lastSeq(), Backup: e.st.BackupStatus()}
}

// writeJournalMetrics adds the journal's gauges to /metrics.
func (e *Engine) writeJournalMetrics(b *bytes.Buffer) {
	bs := e.st.BackupStatus()
	fmt.Fprintln(b, "# HELP posagent_journal_backup_age_seconds Age of the newest verified journal backup; -1 when there is none.")
	fmt.Fprintln(b, "# TYPE posagent_journal_backup_age_seconds gauge")
	fmt.Fprintf(b, "posagent_journal_backup_age_seconds %g\n", bs.AgeSeconds)
	fmt.Fprintln(b, "# HELP posagent_journal_size_bytes Size of the journal file.")
	fmt.Fprintln(b, "# TYPE posagent_journal_size_bytes gauge")
	fmt.Fprintf(b, "posagent_journal_size_bytes %d\n", e.st.Size())
}
