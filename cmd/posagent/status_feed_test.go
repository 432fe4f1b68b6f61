package main

import (
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/feed"
)

// A stuck feed is named on the first line of posagent status.
func TestStatusShowsAStuckFeed(t *testing.T) {
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	st := &client.Status{}
	st.Clock.Plausible, st.Gateway.Reachable = true, true
	st.Feed = &client.FeedStatus{State: feed.StateStuck, Subject: "posagent.maple.s1.L1", Stream: "POSAGENT", Acked: 40,
		LagEvents: 12, LagSeconds: 900, LastError: "feed: event 41: no acknowledgement within 5s", LastErrAt: now.Add(-3 * time.Second)}
	var b strings.Builder
	writeStatus(&b, st, nil, now)
	out := b.String()
	for _, want := range []string{"✗ posagent  - feed stuck", "feed: stuck, posagent.maple.s1.L1 on POSAGENT, acknowledged #40, 12 event(s) 15m0s behind, last error 3s ago: feed: event 41"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	st.Feed = nil
	b.Reset()
	writeStatus(&b, st, nil, now)
	if strings.Contains(b.String(), "feed") {
		t.Errorf("a feed line with the feed off:\n%s", b.String())
	}
}
