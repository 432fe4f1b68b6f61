package hq

import (
	"strings"
	"testing"

	"github.com/posagent/posagent/fleet"
)

// TestProblemsWords: each figure of a heartbeat that needs a person, in
// words (Problems is pure: fleet ls, the page and the metrics use it).
func TestProblemsWords(t *testing.T) {
	lane := fleet.Target{Merchant: "maple", Store: "s1", Lane: "L1"}
	base := fleet.Heartbeat{Format: fleet.Format, Lane: lane, Gateway: "ok", ClockOK: true, JournalCheck: "ok", BackupAgeS: 3600, Config: fleet.Applied{Store: 5, Lane: 2}}
	for _, tc := range []struct {
		name string
		mod  func(*fleet.Heartbeat, *FleetLane)
		want []string
	}{
		{"healthy", func(*fleet.Heartbeat, *FleetLane) {}, nil},
		{"gateway down", func(h *fleet.Heartbeat, _ *FleetLane) { h.Gateway = "unreachable" }, []string{"gateway unreachable"}},
		{"gateway refuses", func(h *fleet.Heartbeat, _ *FleetLane) { h.Gateway = "auth_refused" }, []string{"the gateway refuses the lane's credentials"}},
		{"outbox old", func(h *fleet.Heartbeat, _ *FleetLane) { h.OutboxDepth, h.OutboxOldestS = 4, 900 }, []string{"outbox: 4 waiting, the oldest for 15m0s"}},
		{"outbox young", func(h *fleet.Heartbeat, _ *FleetLane) { h.OutboxDepth, h.OutboxOldestS = 4, 30 }, nil},
		{"in doubt", func(h *fleet.Heartbeat, _ *FleetLane) { h.InDoubt = 2 }, []string{"2 payment(s) in doubt"}},
		{"feed behind", func(h *fleet.Heartbeat, _ *FleetLane) { h.FeedLag, h.FeedLagS = 40, 1200 }, []string{"feed: 40 event(s) not delivered, the oldest for 20m0s"}},
		{"paper out", func(h *fleet.Heartbeat, _ *FleetLane) {
			h.Devices = []fleet.Device{{Name: "rcpt", Kind: "printer", State: "paper_out", Problem: "paper out"}, {Name: "s", Kind: "scanner", State: "ok"}}
		}, []string{"printer rcpt: paper out"}},
		{"clock", func(h *fleet.Heartbeat, _ *FleetLane) { h.ClockOK, h.ClockNote = false, "before the build" }, []string{"clock: before the build"}},
		{"journal damaged", func(h *fleet.Heartbeat, _ *FleetLane) { h.JournalCheck = "damaged" }, []string{"journal damaged: run posagent journal check on the lane"}},
		{"backup old", func(h *fleet.Heartbeat, _ *FleetLane) { h.BackupAgeS = 3 * 86400 }, []string{"last backup 72h0m0s old"}},
		{"no backup configured", func(h *fleet.Heartbeat, _ *FleetLane) { h.BackupAgeS = -1 }, nil},
		{"behind", func(_ *fleet.Heartbeat, l *FleetLane) { l.Published.Store = 6 }, []string{"store config v6 published, v5 applied"}},
		{"staged", func(h *fleet.Heartbeat, l *FleetLane) { l.Published.Lane, h.Config.Staged = 3, 3 }, []string{"lane config v3 staged for the next restart or maintenance window (runs v2)"}},
		{"refused, newer than applied", func(h *fleet.Heartbeat, _ *FleetLane) {
			h.Refusal = &fleet.LastRefusal{Key: "config.maple.s1", Version: 6, Reason: fleet.ReasonSignature, Detail: "not signed by head office's key"}
		}, []string{"refused config.maple.s1 v6 (signature): not signed by head office's key"}},
		{"a replay refused: nothing to do", func(h *fleet.Heartbeat, _ *FleetLane) {
			h.Refusal = &fleet.LastRefusal{Key: "config.maple.s1", Version: 4, Reason: fleet.ReasonVersion, Detail: "version 4 is not above 5"}
		}, nil},
		{"unreadable bundle", func(h *fleet.Heartbeat, _ *FleetLane) {
			h.Refusal = &fleet.LastRefusal{Key: "config.maple.s1.L1", Reason: fleet.ReasonMalformed, Detail: "not a signed bundle"}
		}, []string{"refused config.maple.s1.L1 (malformed): not a signed bundle"}},
		{"the lane's own words, once", func(h *fleet.Heartbeat, _ *FleetLane) {
			h.InDoubt, h.Problems = 1, []string{"1 payment(s) in doubt", "scanner lost"}
		},
			[]string{"1 payment(s) in doubt", "scanner lost"}},
		{"stale", func(_ *fleet.Heartbeat, l *FleetLane) { l.State, l.AgeSeconds = LaneStale, 125 }, []string{"no heartbeat for 2m5s (stale after 1m30s)"}},
	} {
		h := base
		l := FleetLane{Lane: lane, State: LaneUp, Published: Versions{Store: 5, Lane: 2}}
		tc.mod(&h, &l)
		l.Heartbeat = h
		got := Problems(l, "", Limits{})
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
