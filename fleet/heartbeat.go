package fleet

import (
	"encoding/json"
	"fmt"
	"time"
)

// HeartbeatEvery is how often a lane reports (jittered by up to a tenth);
// head office calls a lane stale after [StaleAfter] without a report: three
// missed heartbeats.
const (
	HeartbeatEvery = 30 * time.Second
	StaleAfter     = 3 * HeartbeatEvery
)

// Applied is what a lane runs from head office: the highest version it
// applied for its store's key and for its own, and a version staged for the
// next restart or maintenance window.
type Applied struct {
	Store  uint64 `json:"store"`
	Lane   uint64 `json:"lane"`
	Staged uint64 `json:"staged,omitempty"`
	// StagedKeys are the restart-only keys waiting in the staged version.
	StagedKeys []string `json:"staged_keys,omitempty"`
}

// LastRefusal is the newest bundle the lane refused.
type LastRefusal struct {
	Key     string    `json:"key"`
	Version uint64    `json:"version,omitempty"`
	Reason  Reason    `json:"reason"`
	Detail  string    `json:"detail"`
	At      time.Time `json:"at"`
}

// Device is one device's state as the lane sees it.
type Device struct {
	Name  string `json:"name"`
	Kind  string `json:"kind"` // scanner, printer, display, pole
	State string `json:"state"`
	// Problem is set when the device needs a person (paper out, lost).
	Problem string `json:"problem,omitempty"`
}

// Heartbeat is a lane's report to head office.
type Heartbeat struct {
	Format int    `json:"format"`
	Lane   Target `json:"lane"`
	// Seq counts the lane's heartbeats since it started; At is the lane's
	// wall clock (head office judges staleness by its own clock).
	Seq      uint64       `json:"seq"`
	At       time.Time    `json:"at"`
	Software string       `json:"software"`
	Config   Applied      `json:"config"`
	Refusal  *LastRefusal `json:"refusal,omitempty"`
	UptimeS  int64        `json:"uptime_s"`
	// Gateway is ok, unreachable or auth_refused.
	Gateway       string   `json:"gateway"`
	OutboxDepth   int      `json:"outbox_depth"`
	OutboxOldestS int64    `json:"outbox_oldest_s"`
	InDoubt       int      `json:"in_doubt"`
	FeedLag       uint64   `json:"feed_lag"`
	FeedLagS      int64    `json:"feed_lag_s"`
	Devices       []Device `json:"devices,omitempty"`
	// ClockOK says whether the lane's wall clock is plausible (not before
	// its build, not jumped); ClockNote says why not.
	ClockOK   bool   `json:"clock_ok"`
	ClockNote string `json:"clock_note,omitempty"`
	// JournalCheck is the journal check's state (ok, running, damaged).
	JournalCheck string `json:"journal_check"`
	// BackupAgeS is the last verified backup's age, -1 when there is none.
	BackupAgeS int64 `json:"backup_age_s"`
	// Problems lists what needs attention, in words.
	Problems []string `json:"problems,omitempty"`
}

// EncodeHeartbeat is a heartbeat's JSON.
func EncodeHeartbeat(h Heartbeat) ([]byte, error) {
	h.Format = Format
	if err := h.Lane.Check(); err != nil {
		return nil, err
	}
	if h.Lane.Lane == "" {
		return nil, fmt.Errorf("fleet: a heartbeat names its lane")
	}
	return json.Marshal(h)
}

// DecodeHeartbeat reads a heartbeat, refusing unknown formats and a lane
// that does not match key (a lane cannot report for another).
func DecodeHeartbeat(key string, data []byte) (Heartbeat, error) {
	var h Heartbeat
	if err := json.Unmarshal(data, &h); err != nil {
		return h, fmt.Errorf("fleet: heartbeat %s: %v", key, err)
	}
	if h.Format != Format {
		return h, fmt.Errorf("fleet: heartbeat %s: format %d, this reads %d", key, h.Format, Format)
	}
	if err := h.Lane.Check(); err != nil || h.Lane.Lane == "" || LaneKey(h.Lane) != key {
		return h, fmt.Errorf("fleet: heartbeat under %s names lane %s", key, h.Lane)
	}
	return h, nil
}
