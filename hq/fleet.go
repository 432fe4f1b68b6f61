package hq

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/posagent/posagent/fleet"
)

// BundlesConfig and LanesConfig are the fleet's key-value buckets as head
// office makes them: bundles with a history (what was pushed, for audit),
// heartbeats with the latest only.
func BundlesConfig(replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{Bucket: fleet.Bucket, Description: "posagent: signed configuration bundles (posagent-hq config set)",
		History: 16, MaxValueSize: fleet.MaxBundle, Storage: jetstream.FileStorage, Replicas: max(replicas, 1)}
}

// LanesConfig: see [BundlesConfig].
func LanesConfig(replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{Bucket: fleet.LanesBucket, Description: "posagent: each lane's heartbeat",
		History: 1, MaxValueSize: 64 << 10, Storage: jetstream.FileStorage, Replicas: max(replicas, 1)}
}

// EnsureFleetBuckets makes the two fleet buckets when they do not exist (an
// existing one is left as its operator configured it).
func EnsureFleetBuckets(ctx context.Context, js jetstream.JetStream, replicas int) error {
	for _, cfg := range []jetstream.KeyValueConfig{BundlesConfig(replicas), LanesConfig(replicas)} {
		_, err := js.KeyValue(ctx, cfg.Bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			_, err = js.CreateKeyValue(ctx, cfg)
		}
		if err != nil {
			return fmt.Errorf("hq: bucket %s: %w", cfg.Bucket, err)
		}
	}
	return nil
}

// Lane states in the fleet view.
const (
	LaneUp    = "up"    // a heartbeat within StaleAfter
	LaneStale = "stale" // none for StaleAfter: the lane, its network or its NATS is down
)

// FleetLane is one lane as head office sees it.
type FleetLane struct {
	Lane     fleet.Target `json:"lane"`
	State    string       `json:"state"`
	Software string       `json:"software"`
	// Applied is what the lane runs; Published the versions head office
	// published for its store and for it (0: none).
	Applied   fleet.Applied `json:"applied"`
	Published Versions      `json:"published"`
	// AgeSeconds is the time since the last heartbeat arrived, on head
	// office's clock.
	AgeSeconds float64         `json:"heartbeat_age_s"`
	Heartbeat  fleet.Heartbeat `json:"heartbeat"`
	// Problems say what needs attention, in words; empty when none.
	Problems []string `json:"problems"`
}

// Versions are the versions published for a lane's store and for the lane.
type Versions struct {
	Store uint64 `json:"store"`
	Lane  uint64 `json:"lane"`
}

// Published is a bundle as the bucket holds it.
type Published struct {
	Key    string       `json:"key"`
	Target fleet.Target `json:"target"`
	fleet.Bundle
	// Check is "ok" when the signature verifies against head office's
	// public key, "not checked" without one, else why not (expired, ...).
	Check string `json:"check"`
}

// Fleet is head office's view of the lanes: it watches the heartbeats
// ([fleet.LanesBucket]) and the published bundles ([fleet.Bucket]), keeps
// each lane's last heartbeat with the time it arrived on head office's
// monotonic clock, and calls a lane stale after StaleAfter without one.
// Safe for concurrent use; Run feeds it.
type Fleet struct {
	Lanes   jetstream.KeyValue // fleet.LanesBucket
	Bundles jetstream.KeyValue // fleet.Bucket
	// Conn, when set, makes the watches again as soon as it reconnects
	// (a restarted server lost them; without it they recover by their own
	// heartbeats, within about 20 s).
	Conn *nats.Conn
	// PublicKey, when set, checks the published bundles' signatures.
	PublicKey ed25519.PublicKey
	Limits    Limits
	// Now is the clock (default time.Now: a monotonic reading).
	Now func() time.Time
	Log *slog.Logger

	mu        sync.Mutex
	lanes     map[string]*laneRec
	published map[string]Published
	synced    chan struct{}
	syncOnce  sync.Once
}

// Limits say when a heartbeat's figures are problems.
type Limits struct {
	StaleAfter     time.Duration // default fleet.StaleAfter
	OutboxOldAfter time.Duration // default 10 minutes
	BackupOldAfter time.Duration // default 48 hours
	FeedLagAfter   time.Duration // default 10 minutes
}

func (l Limits) orDefaults() Limits {
	if l.StaleAfter <= 0 {
		l.StaleAfter = fleet.StaleAfter
	}
	if l.OutboxOldAfter <= 0 {
		l.OutboxOldAfter = 10 * time.Minute
	}
	if l.BackupOldAfter <= 0 {
		l.BackupOldAfter = 48 * time.Hour
	}
	if l.FeedLagAfter <= 0 {
		l.FeedLagAfter = 10 * time.Minute
	}
	return l
}

type laneRec struct {
	hb       fleet.Heartbeat
	received time.Time // head office's clock, monotonic
	bad      string    // the last report did not decode
	rev      uint64    // the entry's revision
}

func (f *Fleet) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *Fleet) init() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lanes == nil {
		f.lanes = map[string]*laneRec{}
		f.published = map[string]Published{}
	}
	if f.synced == nil {
		f.synced = make(chan struct{})
	}
	if f.Log == nil {
		f.Log = slog.New(slog.DiscardHandler)
	}
}

// Synced is closed once Run has read both buckets' current values.
func (f *Fleet) Synced() <-chan struct{} {
	f.init()
	return f.synced
}

// Run watches both buckets until ctx ends (nil then). A watch that ends
// (the server went away, a stream was recreated) is made again, and the
// buckets read again from their current values.
func (f *Fleet) Run(ctx context.Context) error {
	f.init()
	var reconnected chan nats.Status
	if f.Conn != nil {
		reconnected = f.Conn.StatusChanged(nats.CONNECTED)
		defer f.Conn.RemoveStatusListener(reconnected)
	}
	wait := 100 * time.Millisecond
	for {
		err := f.watch(ctx, reconnected)
		if errors.Is(err, errReconnected) {
			f.Log.Info("hq: NATS reconnected; watching the fleet's buckets again")
			wait = 100 * time.Millisecond
			continue
		}
		if ctx.Err() != nil {
			return nil
		}
		f.Log.Warn("hq: the fleet's watch ended; watching again", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

var errReconnected = errors.New("reconnected")

// watch watches both buckets until ctx ends, a watch ends or the
// connection comes back.
func (f *Fleet) watch(ctx context.Context, reconnected <-chan nats.Status) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lw, err := f.Lanes.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("hq: watch %s: %w", fleet.LanesBucket, err)
	}
	defer lw.Stop()
	bw, err := f.Bundles.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("hq: watch %s: %w", fleet.Bucket, err)
	}
	defer bw.Stop()
	lanesIn, bundlesIn := false, false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-reconnected:
			return errReconnected
		case e, ok := <-lw.Updates():
			if !ok {
				return errors.New("hq: the heartbeats' watch ended")
			}
			if e == nil {
				lanesIn = true
			} else {
				f.noteLane(e, !lanesIn)
			}
		case e, ok := <-bw.Updates():
			if !ok {
				return errors.New("hq: the bundles' watch ended")
			}
			if e == nil {
				bundlesIn = true
			} else {
				f.notePublished(e)
			}
		}
		if lanesIn && bundlesIn {
			f.syncOnce.Do(func() { close(f.synced) })
		}
	}
}

// noteLane records a heartbeat. One already in the bucket when the watch
// began (initial) arrived when the server stored it, not now.
func (f *Fleet) noteLane(e jetstream.KeyValueEntry, initial bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := e.Key()
	if e.Operation() != jetstream.KeyValuePut {
		delete(f.lanes, key)
		return
	}
	rec := f.lanes[key]
	if rec != nil && rec.rev == e.Revision() {
		return // read again after a new watch: it arrived when it first did
	}
	received := f.now()
	if initial {
		received = received.Add(-max(0, received.Round(0).Sub(e.Created())))
	}
	h, err := fleet.DecodeHeartbeat(key, e.Value())
	if err != nil {
		f.Log.Warn("hq: a lane's report does not read", "key", key, "err", err)
		if rec == nil {
			t, ok := laneOfKey(key)
			if !ok {
				return // not a lane's key
			}
			rec = &laneRec{hb: fleet.Heartbeat{Lane: t}}
			f.lanes[key] = rec
		}
		rec.bad, rec.rev = err.Error(), e.Revision()
		return
	}
	f.lanes[key] = &laneRec{hb: h, received: received, rev: e.Revision()}
}

// laneOfKey reads lane.<merchant>.<store>.<lane>.
func laneOfKey(key string) (fleet.Target, bool) {
	p := strings.Split(key, ".")
	if len(p) != 4 || p[0] != "lane" {
		return fleet.Target{}, false
	}
	t := fleet.Target{Merchant: p[1], Store: p[2], Lane: p[3]}
	return t, t.Check() == nil
}

func (f *Fleet) notePublished(e jetstream.KeyValueEntry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e.Operation() != jetstream.KeyValuePut {
		delete(f.published, e.Key())
		return
	}
	if !strings.HasPrefix(e.Key(), "config.") {
		return // the version counter
	}
	f.published[e.Key()] = ReadPublished(e.Key(), e.Value(), f.PublicKey, f.now())
}

// ReadPublished reads a published bundle for display; its signature is
// checked when pub is set.
func ReadPublished(key string, data []byte, pub ed25519.PublicKey, now time.Time) Published {
	p := Published{Key: key, Check: "not checked"}
	b, err := peek(data)
	if err != nil {
		p.Check = err.Error()
		return p
	}
	p.Bundle, p.Target = b, b.Target
	if b.Target.Key() != key {
		p.Check = fmt.Sprintf("the bundle under %s is for %s", key, b.Target)
		return p
	}
	if len(pub) == 0 && !now.Before(b.Expires) {
		p.Check = "not checked; expired at " + b.Expires.UTC().Format(time.RFC3339)
	}
	if len(pub) > 0 {
		if _, err := fleet.Open(data, pub, laneFor(b.Target), now); err != nil {
			p.Check = err.Error()
		} else {
			p.Check = "ok"
		}
	}
	return p
}

// laneFor is a full lane identity a bundle for t covers.
func laneFor(t fleet.Target) fleet.Target {
	if t.Lane == "" {
		t.Lane = "any"
	}
	return t
}

// PublishedBundles lists the published bundles by key.
func (f *Fleet) PublishedBundles() []Published {
	f.init()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Published, 0, len(f.published))
	for _, p := range f.published {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// View lists every lane that ever reported, by merchant, store and lane,
// with its state and problems now.
func (f *Fleet) View() []FleetLane {
	f.init()
	lim := f.Limits.orDefaults()
	now := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]FleetLane, 0, len(f.lanes))
	for _, r := range f.lanes {
		h := r.hb
		store := h.Lane
		store.Lane = ""
		l := FleetLane{Lane: h.Lane, Software: h.Software, Applied: h.Config, Heartbeat: h,
			Published: Versions{Store: f.published[store.Key()].Version, Lane: f.published[h.Lane.Key()].Version}}
		age := now.Sub(r.received)
		if r.received.IsZero() {
			age = lim.StaleAfter
		}
		l.AgeSeconds = max(0, age.Seconds())
		l.State = LaneUp
		if age >= lim.StaleAfter {
			l.State = LaneStale
		}
		if l.Problems = Problems(l, r.bad, lim); l.Problems == nil {
			l.Problems = []string{}
		}
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Lane.String() < out[j].Lane.String() })
	return out
}

// ErrNoBucket says a fleet bucket does not exist yet.
var ErrNoBucket = errors.New("the fleet's buckets do not exist yet: posagent-hq makes them when it starts (run it once against this NATS)")

// OpenBuckets opens the two fleet buckets (an error wrapping ErrNoBucket
// when one does not exist).
func OpenBuckets(ctx context.Context, js jetstream.JetStream) (bundles, lanes jetstream.KeyValue, err error) {
	if bundles, err = js.KeyValue(ctx, fleet.Bucket); err == nil {
		lanes, err = js.KeyValue(ctx, fleet.LanesBucket)
	}
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, nil, fmt.Errorf("hq: %w", ErrNoBucket)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("hq: the fleet's buckets: %w", err)
	}
	return bundles, lanes, nil
}
