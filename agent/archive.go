package agent

import (
	"time"

	"github.com/posagent/posagent/store"
)

// ArchiveExport is the export of a journal file read without an engine:
// an archive (posagent journal archive) or a backup, opened read-only with
// store.OpenReader. It reads the payments and the audit trail as the
// engine's export does (EachExported, AuditTrail), so both give the same
// JSON and CSV.
type ArchiveExport struct {
	r   *store.Reader
	loc *time.Location
}

// NewArchiveExport reads the export from r; loc is the shop's time zone
// (nil: the system's).
func NewArchiveExport(r *store.Reader, loc *time.Location) *ArchiveExport {
	if loc == nil {
		loc = time.Local
	}
	return &ArchiveExport{r: r, loc: loc}
}

// EachExported calls fn for each payment created at or after since, oldest
// first.
func (a *ArchiveExport) EachExported(since time.Time, fn func(p *Payment) error) error {
	return a.r.View(func(tx *store.Tx) error { return eachExported(tx, since, fn) })
}

// AuditTrail returns the audit entries stamped at or after since, oldest
// first (limit > 0: the newest limit of them).
func (a *ArchiveExport) AuditTrail(since time.Time, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := a.r.View(func(tx *store.Tx) (err error) {
		out, err = auditTrail(tx, since, limit)
		return err
	})
	return out, err
}

// Location is the shop's time zone.
func (a *ArchiveExport) Location() *time.Location { return a.loc }
