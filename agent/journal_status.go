package agent

// journalStatus is the journal part of /v1/status, with the journal's
// backups (store.backup.*).
func (e *Engine) journalStatus() JournalStatus {
	return JournalStatus{Path: e.st.Path(), SizeBytes: e.st.Size(), LastSeq: e.bus.Last(), Backup: e.st.BackupStatus()}
}

// collectJournal adds the journal's gauges to /metrics.
func (e *Engine) collectJournal(gauge metricFunc) {
	gauge(descBackupAge, e.st.BackupStatus().AgeSeconds)
	gauge(descJournalSize, float64(e.st.Size()))
}
