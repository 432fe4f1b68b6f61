package archive

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/store/check"
)

// TestResultWriteText pins `posagent journal archive`, with events and
// payments left out, and without either.
func TestResultWriteText(t *testing.T) {
	before := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	res := &Result{From: "j.db", To: "a.db", Before: before, Payments: 3, Orders: 4, Events: 9, FirstEvent: 1, LastEvent: 9,
		NotFinal: 2, Check: &check.Report{Size: 32768}}
	var b bytes.Buffer
	res.WriteText(&b)
	want := "archive a.db written and verified: the history of j.db before 2026-01-01T00:00:00Z\n" +
		"  3 payments, 4 order ids, 9 events (#1 to #9), 32 KiB\n" +
		"  2 payments created before then are not final yet and are not in the archive\n" +
		"the journal was not modified. Read the archive with: posagent export --archive a.db\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	(&Result{From: "j.db", To: "a.db", Before: before, Check: &check.Report{Size: 8192}}).WriteText(&b)
	want = "archive a.db written and verified: the history of j.db before 2026-01-01T00:00:00Z\n" +
		"  0 payments, 0 order ids, 0 events, 8 KiB\n" +
		"the journal was not modified. Read the archive with: posagent export --archive a.db\n"
	if b.String() != want {
		t.Errorf("empty archive:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestParseBefore: a date is midnight in the shop's zone, an RFC 3339
// time is itself; no value, another form and the future are refused.
func TestParseBefore(t *testing.T) {
	loc := time.FixedZone("shop", -5*3600)
	now := time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC)
	if got, err := ParseBefore("2026-01-01", loc, now); err != nil || !got.Equal(time.Date(2026, 1, 1, 5, 0, 0, 0, time.UTC)) {
		t.Errorf("a date: %v %v", got, err)
	}
	if got, err := ParseBefore("2026-03-01T12:00:00Z", loc, now); err != nil || !got.Equal(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("an RFC 3339 time: %v %v", got, err)
	}
	for in, want := range map[string]string{
		"":           "--before DATE is required",
		"last year":  `--before "last year": use a date`,
		"2026-12-01": "--before 2026-12-01 is in the future",
	} {
		if _, err := ParseBefore(in, loc, now); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%q: %v, want %q...", in, err, want)
		}
	}
}
