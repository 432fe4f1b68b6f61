package view

import (
	"time"

	"github.com/posagent/posagent/store"
)

// Archive is the export of a journal file read without an engine: an
// archive (posagent journal archive) or a backup, opened read-only with
// store.OpenReader. It reads the payments and the audit trail as the
// Reader does (EachExported, AuditTrail), so both give the same JSON and
// CSV.
type Archive struct {
	r   *store.Reader
	loc *time.Location
}

// NewArchive reads the export from r; loc is the shop's time zone (nil:
// the system's).
func NewArchive(r *store.Reader, loc *time.Location) *Archive {
	if loc == nil {
		loc = time.Local
	}
	return &Archive{r: r, loc: loc}
}

// EachExported calls fn for each payment created at or after since, oldest
// first.
func (a *Archive) EachExported(since time.Time, fn func(p *Payment) error) error {
	return a.r.View(func(tx *store.Tx) error { return eachExported(tx, since, fn) })
}

// AuditTrail returns the audit entries stamped at or after since, oldest
// first (limit > 0: the newest limit of them).
func (a *Archive) AuditTrail(since time.Time, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := a.r.View(func(tx *store.Tx) (err error) {
		out, err = auditTrail(tx, since, limit)
		return err
	})
	return out, err
}

// Location is the shop's time zone.
func (a *Archive) Location() *time.Location { return a.loc }
