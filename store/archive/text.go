package archive

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// WriteText writes what Archive wrote, as `posagent journal archive`
// prints it: the records and events in the archive, its size, the
// payments left out because they are not final, and how to read it.
func (res *Result) WriteText(w io.Writer) {
	fmt.Fprintf(w, "archive %s written and verified: the history of %s before %s\n", res.To, res.From, res.Before.Format(time.RFC3339Nano))
	fmt.Fprintf(w, "  %d payments, %d order ids, %d events", res.Payments, res.Orders, res.Events)
	if res.Events > 0 {
		fmt.Fprintf(w, " (#%d to #%d)", res.FirstEvent, res.LastEvent)
	}
	fmt.Fprintf(w, ", %d KiB\n", res.Check.Size/1024)
	if res.NotFinal > 0 {
		fmt.Fprintf(w, "  %d payments created before then are not final yet and are not in the archive\n", res.NotFinal)
	}
	fmt.Fprintf(w, "the journal was not modified. Read the archive with: posagent export --archive %s\n", res.To)
}

// ParseBefore reads the time an archive ends at as a technician gives it
// (journal archive's --before, which the errors name): a date (midnight in
// loc) or an RFC 3339 time, not after now: an archive holds history that
// is over.
func ParseBefore(s string, loc *time.Location, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("--before DATE is required: archive what is older than DATE, e.g. --before 2026-01-01")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t, err = time.ParseInLocation("2006-01-02", s, loc)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("--before %q: use a date (2026-01-01, midnight in the shop's time zone) or an RFC 3339 time (2026-01-01T00:00:00Z)", s)
	}
	if t.After(now) {
		return time.Time{}, fmt.Errorf("--before %s is in the future: an archive holds history that is over", s)
	}
	return t, nil
}
