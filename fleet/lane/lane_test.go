package lane

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/fleet"
	"github.com/posagent/posagent/store"
	"github.com/posagent/posagent/store/fleetmark"
)

// The lane's watcher against an embedded JetStream server, real journals
// (bbolt files) and an applier that checks the configuration with package
// config as the daemon does.

var (
	seed      = bytes.Repeat([]byte{9}, ed25519.SeedSize)
	hqPriv    = ed25519.NewKeyFromSeed(seed)
	hqPub     = hqPriv.Public().(ed25519.PublicKey)
	storeS01  = fleet.Target{Merchant: "maple", Store: "s01"}
	localYAML = "display:\n  tip_choices: [10, 15, 18]\nagent:\n  cart_timeout: 10m\n"
)

func startNATS(t *testing.T) (url string, stop func()) {
	t.Helper()
	o := server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true}
	s, err := server.NewServer(&o)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	stop = func() { s.Shutdown(); s.WaitForShutdown() }
	t.Cleanup(stop)
	return s.ClientURL(), stop
}

// hq is head office's side as far as the tests need it: the buckets and
// the pushes.
type hq struct {
	t       *testing.T
	bundles jetstream.KeyValue
	lanes   jetstream.KeyValue
}

func newHQ(t *testing.T, url string) *hq {
	t.Helper()
	nc := dial(t, url)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	b, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: fleet.Bucket, History: 5})
	if err != nil {
		t.Fatal(err)
	}
	l, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: fleet.LanesBucket})
	if err != nil {
		t.Fatal(err)
	}
	return &hq{t: t, bundles: b, lanes: l}
}

func dial(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func sign(t *testing.T, target fleet.Target, v uint64, yaml string, priv ed25519.PrivateKey, expires time.Time) []byte {
	t.Helper()
	data, err := fleet.Sign(fleet.Bundle{Target: target, Version: v, Issued: expires.Add(-2 * time.Hour), Expires: expires,
		YAML: yaml, By: "ops@hq"}, priv)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// push puts a bundle under key.
func (h *hq) push(key string, data []byte) {
	h.t.Helper()
	if _, err := h.bundles.Put(context.Background(), key, data); err != nil {
		h.t.Fatal(err)
	}
}

// configApplier checks the local YAML with the layers over it (package
// config, as the daemon) and keeps the running configuration: display.*
// and merchant.* live, the rest staged.
type configApplier struct {
	mu    sync.Mutex
	cur   *config.Config
	calls int
}

func newApplier(t *testing.T) *configApplier {
	cfg, _, err := config.CheckLayered("", []byte(localYAML), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &configApplier{cur: cfg}
}

func (a *configApplier) Apply(_ context.Context, layers []Layer) (live, staged []string, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.calls++
	var cl []config.Layer
	for _, l := range layers {
		bc := config.CheckBundle([]byte(l.YAML))
		if len(bc.Secrets) > 0 {
			return nil, nil, &fleet.Refusal{Reason: fleet.ReasonSecret, Detail: strings.Join(bc.Secrets, ",")}
		}
		if len(bc.Problems) > 0 {
			return nil, nil, &fleet.Refusal{Reason: fleet.ReasonConfig, Detail: bc.Problems[0].String()}
		}
		cl = append(cl, config.Layer{Name: l.Key, YAML: []byte(l.YAML)})
	}
	next, _, err := config.CheckLayered("", []byte(localYAML), nil, cl)
	if err != nil {
		return nil, nil, &fleet.Refusal{Reason: fleet.ReasonConfig, Detail: err.Error()}
	}
	for _, c := range config.Changes(a.cur, next) {
		if strings.HasPrefix(c.Key, "display.") || strings.HasPrefix(c.Key, "merchant.") {
			live = append(live, c.Key)
		} else {
			staged = append(staged, c.Key)
		}
	}
	a.cur = a.cur.With(next, live)
	return live, staged, nil
}

func (a *configApplier) tips() []int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.cur.Display.TipChoices)
}

// laneUnderTest is one lane: its journal, its applier, its watcher.
type laneUnderTest struct {
	t      *testing.T
	target fleet.Target
	path   string
	st     *store.Store
	app    *configApplier
	w      *Watcher
	cancel context.CancelFunc
	done   chan error
	now    time.Time
	// inWindow, when set, is Options.Maintenance; restarts counts Restart.
	inWindow func(time.Time) bool
	restarts chan struct{}
}

var t0 = time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)

func newLane(t *testing.T, name, url string) *laneUnderTest {
	t.Helper()
	l := &laneUnderTest{t: t, target: fleet.Target{Merchant: "maple", Store: "s01", Lane: name},
		path: filepath.Join(t.TempDir(), "posagent.db"), app: newApplier(t), now: t0}
	l.start(url)
	t.Cleanup(l.stop)
	return l
}

func (l *laneUnderTest) start(url string) {
	l.t.Helper()
	st, err := store.Open(l.path, store.Options{NoSync: true})
	if err != nil {
		l.t.Fatal(err)
	}
	l.st = st
	w, err := New(dial(l.t, url), Options{Lane: l.target, PublicKey: hqPub, Store: st, Apply: l.app,
		HeartbeatEvery: 50 * time.Millisecond, Software: "test", Retry: 50 * time.Millisecond,
		Clock: func() time.Time { return l.now }, Maintenance: l.inWindow, Restart: l.restart})
	if err != nil {
		l.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.w, l.cancel, l.done = w, cancel, make(chan error, 1)
	go func() { l.done <- w.Run(ctx) }()
}

func (l *laneUnderTest) restart() {
	if l.restarts != nil {
		select {
		case l.restarts <- struct{}{}:
		default:
		}
	}
}

func (l *laneUnderTest) stop() {
	if l.cancel == nil {
		return
	}
	l.cancel()
	<-l.done
	l.cancel = nil
	l.st.Close()
}

type fleetEvent struct {
	Seq    uint64     `json:"seq"`
	Kind   string     `json:"kind"`
	Reason string     `json:"reason"`
	Fleet  eventFleet `json:"fleet"`
	Audit  *auditEntry
}

// events are the lane's fleet.* events and fleet audit entries.
func (l *laneUnderTest) events() []fleetEvent {
	var out []fleetEvent
	err := l.st.View(func(t *store.Tx) error {
		evs, err := t.Events(0, 0, 0)
		for _, ev := range evs {
			var e fleetEvent
			var raw struct {
				Audit *auditEntry `json:"audit"`
			}
			json.Unmarshal(ev.Data, &e)
			json.Unmarshal(ev.Data, &raw)
			e.Audit = raw.Audit
			if strings.HasPrefix(e.Kind, "fleet.") || (e.Audit != nil && e.Audit.Action == "fleet.bundle") {
				out = append(out, e)
			}
		}
		return err
	})
	if err != nil {
		l.t.Fatal(err)
	}
	return out
}

func (l *laneUnderTest) count(kind string) int {
	n := 0
	for _, e := range l.events() {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

func (l *laneUnderTest) waitEvent(kind, reason string, n int) fleetEvent {
	l.t.Helper()
	var last fleetEvent
	waitFor(l.t, fmt.Sprintf("%s: %d %s %s", l.target.Lane, n, kind, reason), func() bool {
		c := 0
		for _, e := range l.events() {
			if e.Kind == kind && (reason == "" || e.Reason == reason) {
				c++
				last = e
			}
		}
		return c >= n
	})
	return last
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (l *laneUnderTest) state() fleetmark.State {
	l.t.Helper()
	fs, err := fleetmark.Get(l.st)
	if err != nil {
		l.t.Fatal(err)
	}
	return fs
}

func ed25519GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(nil)
}
