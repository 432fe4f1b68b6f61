package agent

import "github.com/prometheus/client_golang/prometheus"

var descJournalDamaged = prometheus.NewDesc("posagent_journal_damaged", "1 once the check of the journal while the agent runs found damage (new payments are refused).", nil, nil)

// journalStatus is the journal part of /v1/status, with the journal's
// backups (store.backup.*) and how far it was checked.
func (e *Engine) journalStatus() JournalStatus {
	return JournalStatus{Path: e.st.Path(), SizeBytes: e.st.Size(), LastSeq: e.bus.Last(), Backup: e.st.BackupStatus(), Check: e.st.CheckStatus()}
}

// collectJournal adds the journal's gauges to /metrics.
func (e *Engine) collectJournal(gauge metricFunc) {
	gauge(descBackupAge, e.st.BackupStatus().AgeSeconds)
	gauge(descJournalSize, float64(e.st.Size()))
	gauge(descJournalDamaged, boolGauge(e.st.Damage() != nil))
}
