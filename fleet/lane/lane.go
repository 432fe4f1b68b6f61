package lane

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/posagent/posagent/fleet"
	"github.com/posagent/posagent/store"
	"github.com/posagent/posagent/store/fleetmark"
)

// Layer is one applied or offered bundle, as the Applier gets it.
type Layer struct {
	Key     string // config.<merchant>.<store>[.<lane>]
	Version uint64
	YAML    string
}

// Applier checks the local configuration with the layers laid over it (the
// store's bundle first, then the lane's) and applies the result: live keys
// at once, restart-only keys left for the next restart (staged). A
// configuration it refuses is a *fleet.Refusal (fleet.ReasonConfig,
// fleet.ReasonSecret); nothing is applied then.
type Applier interface {
	Apply(ctx context.Context, layers []Layer) (live, staged []string, err error)
}

// Options configure a Watcher.
type Options struct {
	// Lane is the lane's full identity.
	Lane fleet.Target
	// PublicKey is head office's key (fleet.public_key).
	PublicKey ed25519.PublicKey
	Store     *store.Store
	Apply     Applier
	// Status fills what a heartbeat says of the lane's health (the
	// fields /v1/status computes); the watcher adds the identity, the
	// sequence, the time, the versions, the last refusal and the uptime.
	Status func() fleet.Heartbeat
	// HeartbeatEvery is the heartbeat's period, jittered by a tenth
	// (default fleet.HeartbeatEvery).
	HeartbeatEvery time.Duration
	// Software is the lane's version.
	Software string
	// Maintenance says whether now is in fleet.maintenance_window and no
	// payment is in flight; Restart restarts the lane (staged keys then
	// take effect). Either nil: staged keys wait for a restart by hand.
	Maintenance func(now time.Time) bool
	Restart     func()
	// Clock is the wall clock (default time.Now).
	Clock func() time.Time
	Log   *slog.Logger
	// Retry is the wait before looking for a bucket again (default 5 s).
	Retry time.Duration
}

// Watcher is the lane's side of the fleet.
type Watcher struct {
	o     Options
	js    jetstream.JetStream
	start time.Time // monotonic: the uptime

	mu       sync.Mutex // guards what the heartbeat reads
	refusal  *fleet.LastRefusal
	seen     map[string][]byte // per key, the last value handled (not journaled twice)
	seq      uint64
	kick     chan struct{}
	applying sync.Mutex // one bundle at a time
}

// New makes a watcher over the connection nc (which the caller closes).
func New(nc *nats.Conn, o Options) (*Watcher, error) {
	if err := o.Lane.Check(); err != nil || o.Lane.Lane == "" {
		return nil, fmt.Errorf("fleet: the lane's identity %s is incomplete (merchant.id, merchant.store, gateway.terminal_no)", o.Lane)
	}
	if len(o.PublicKey) != ed25519.PublicKeySize || o.Store == nil || o.Apply == nil {
		return nil, errors.New("fleet: a lane watcher needs head office's key, the journal and an applier")
	}
	if o.HeartbeatEvery <= 0 {
		o.HeartbeatEvery = fleet.HeartbeatEvery
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Retry <= 0 {
		o.Retry = 5 * time.Second
	}
	if o.Status == nil {
		o.Status = func() fleet.Heartbeat { return fleet.Heartbeat{} }
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	return &Watcher{o: o, js: js, start: time.Now(), seen: map[string][]byte{}, kick: make(chan struct{}, 1)}, nil
}

// Keys are the lane's two keys in fleet.Bucket: its store's and its own.
func (w *Watcher) Keys() (storeKey, laneKey string) {
	s := w.o.Lane
	s.Lane = ""
	return s.Key(), w.o.Lane.Key()
}

// Run watches and reports until ctx ends.
func (w *Watcher) Run(ctx context.Context) error {
	done := make(chan struct{})
	go func() { defer close(done); w.heartbeats(ctx) }()
	defer func() { <-done }()
	for ctx.Err() == nil {
		if err := w.watch(ctx); err != nil && ctx.Err() == nil {
			w.o.Log.Warn("fleet: watching head office's bundles", "err", err, "retry_in", w.o.Retry)
		}
		select {
		case <-ctx.Done():
		case <-time.After(w.o.Retry):
		}
	}
	return nil
}

// watch follows the two keys until ctx ends or the watch fails.
func (w *Watcher) watch(ctx context.Context) error {
	kv, err := w.js.KeyValue(ctx, fleet.Bucket)
	if err != nil {
		return fmt.Errorf("bucket %s (head office makes it): %w", fleet.Bucket, err)
	}
	sk, lk := w.Keys()
	kw, err := kv.WatchFiltered(ctx, []string{sk, lk}, jetstream.IgnoreDeletes())
	if err != nil {
		return err
	}
	defer kw.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-kw.Updates():
			if !ok {
				return errors.New("the watch ended")
			}
			if e == nil {
				continue // caught up with the latest values
			}
			w.Handle(ctx, e.Key(), e.Value())
		}
	}
}

// Handle takes one value of key: verified, checked, applied or refused,
// and journaled either way. A value already handled changes nothing.
func (w *Watcher) Handle(ctx context.Context, key string, data []byte) {
	w.applying.Lock()
	defer w.applying.Unlock()
	w.mu.Lock()
	same := bytes.Equal(w.seen[key], data)
	w.seen[key] = bytes.Clone(data)
	w.mu.Unlock()
	if same {
		return
	}
	st, err := fleetmark.Get(w.o.Store)
	if err != nil {
		w.o.Log.Error("fleet: the journal's fleet state", "err", err)
		return
	}
	if a, ok := st.Applied[key]; ok && bytes.Equal(a.Envelope, data) {
		return // the bundle in effect, read again at a (re)connection
	}
	b, err := fleet.Open(data, w.o.PublicKey, w.o.Lane, w.o.Clock())
	if err == nil && b.Target.Key() != key {
		err = &fleet.Refusal{Reason: fleet.ReasonTarget, Detail: fmt.Sprintf("a bundle for %s stored under %s", b.Target.Key(), key)}
	}
	if err == nil {
		err = fleet.CheckVersion(b, st.Highest[key])
	}
	if err == nil {
		err = w.apply(ctx, key, b, data, st)
	}
	if err != nil {
		w.refused(key, b, err)
	}
	w.Kick()
}
