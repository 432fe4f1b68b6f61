package hq

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/posagent/posagent/fleet"
)

// Problems says in words what needs attention on lane l (its state, its
// last heartbeat, the versions published for it); bad is why its last
// report did not read ("" when it did). Pure: the fleet view, fleet ls,
// the page and the metrics all use it.
func Problems(l FleetLane, bad string, lim Limits) []string {
	lim = lim.orDefaults()
	h := l.Heartbeat
	var out []string
	add := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }
	if l.State == LaneStale {
		add("no heartbeat for %s (stale after %s)", round(time.Duration(l.AgeSeconds*float64(time.Second))), lim.StaleAfter)
	}
	if bad != "" {
		add("its last report does not read: %s", bad)
	}
	if h.Format == 0 {
		return out // never a readable heartbeat: nothing more to say
	}
	if r := h.Refusal; r != nil && !refusalSuperseded(*r, h) {
		v := ""
		if r.Version > 0 {
			v = fmt.Sprintf(" v%d", r.Version)
		}
		add("refused %s%s (%s): %s", r.Key, v, r.Reason, r.Detail)
	}
	for _, c := range []struct {
		level              string
		applied, published uint64
	}{{"store", h.Config.Store, l.Published.Store}, {"lane", h.Config.Lane, l.Published.Lane}} {
		if c.published > c.applied {
			if h.Config.Staged >= c.published {
				add("%s config v%d staged for the next restart or maintenance window (runs v%d)", c.level, c.published, c.applied)
			} else {
				add("%s config v%d published, v%d applied", c.level, c.published, c.applied)
			}
		}
	}
	switch h.Gateway {
	case "ok", "":
	case "auth_refused":
		add("the gateway refuses the lane's credentials")
	default:
		add("gateway %s", h.Gateway)
	}
	if old := time.Duration(h.OutboxOldestS) * time.Second; old > lim.OutboxOldAfter {
		add("outbox: %d waiting, the oldest for %s", h.OutboxDepth, round(old))
	}
	if h.InDoubt > 0 {
		add("%d payment(s) in doubt", h.InDoubt)
	}
	if lag := time.Duration(h.FeedLagS) * time.Second; lag > lim.FeedLagAfter {
		add("feed: %d event(s) not delivered, the oldest for %s", h.FeedLag, round(lag))
	}
	for _, d := range h.Devices {
		if d.Problem != "" {
			add("%s %s: %s", d.Kind, d.Name, d.Problem)
		}
	}
	if !h.ClockOK {
		note := h.ClockNote
		if note == "" {
			note = "implausible"
		}
		add("clock: %s", note)
	}
	if h.JournalCheck == "damaged" {
		add("journal damaged: run posagent journal check on the lane")
	}
	if age := time.Duration(h.BackupAgeS) * time.Second; h.BackupAgeS >= 0 && age > lim.BackupOldAfter {
		add("last backup %s old", round(age))
	}
	for _, p := range h.Problems {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// refusalSuperseded: the lane has since applied, for the refused bundle's
// key, a version at least as high (a replayed old bundle refused for its
// version changes nothing: shown in the heartbeat, not a problem).
func refusalSuperseded(r fleet.LastRefusal, h fleet.Heartbeat) bool {
	if r.Version == 0 {
		return false
	}
	store := h.Lane
	store.Lane = ""
	switch r.Key {
	case store.Key():
		return h.Config.Store >= r.Version
	case h.Lane.Key():
		return h.Config.Lane >= r.Version
	}
	return false
}

func round(d time.Duration) time.Duration {
	if d >= time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}

// peek reads a bundle's payload without checking its signature (for
// display: a lane checks it).
func peek(data []byte) (fleet.Bundle, error) {
	var env fleet.Envelope
	var b fleet.Bundle
	if err := json.Unmarshal(data, &env); err != nil {
		return b, errors.New("not a signed bundle")
	}
	if err := json.Unmarshal(env.Payload, &b); err != nil {
		return b, errors.New("the bundle's payload does not read")
	}
	return b, nil
}
