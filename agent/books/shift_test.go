package books

import (
	"testing"
	"time"
	_ "time/tzdata"
)

func TestLastBoundary(t *testing.T) {
	tor, err := time.LoadLocation("America/Toronto") // time/tzdata is linked in: never missing
	if err != nil {
		t.Fatal(err)
	}
	at := 3 * time.Hour
	for _, c := range []struct{ now, want string }{
		{"2026-11-30T09:00:00Z", "2026-11-30T03:00:00-05:00"}, // 04:00 in Toronto: today's 03:00
		{"2026-11-30T07:59:00Z", "2026-11-29T03:00:00-05:00"}, // 02:59 in Toronto: yesterday's
		{"2026-11-30T08:00:00Z", "2026-11-30T03:00:00-05:00"}, // exactly 03:00
		{"2026-03-08T12:00:00Z", "2026-03-08T03:00:00-04:00"}, // DST starts at 02:00 that night
	} {
		now, _ := time.Parse(time.RFC3339, c.now)
		want, _ := time.Parse(time.RFC3339, c.want)
		if got := lastBoundary(now, tor, at); !got.Equal(want) {
			t.Errorf("lastBoundary(%s) = %s, want %s", c.now, got, want)
		}
	}
	for _, bad := range []string{"3", "24:00", "03:5", "ab:cd", "03:60"} {
		if _, err := parseCloseAt(bad); err == nil {
			t.Errorf("close_at %q accepted", bad)
		}
	}
}
