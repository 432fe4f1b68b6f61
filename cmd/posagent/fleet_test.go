package main

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/daemon"
	"github.com/posagent/posagent/fleet"
	"github.com/posagent/posagent/hq"
	"github.com/posagent/posagent/internal/displaytest"
)

// The fleet end to end on the lane's side: real daemons (as `posagent run`
// runs them, reloading), an embedded JetStream server, head office's
// buckets and signed bundles, and a headless Chromium on one lane's
// customer display.

// fleetHQ is what head office does as far as these tests need: the buckets,
// the key and the pushes.
type fleetHQ struct {
	t       *testing.T
	url     string
	priv    ed25519.PrivateKey
	pub     ed25519.PublicKey
	bundles jetstream.KeyValue
	lanes   jetstream.KeyValue
	version uint64
}

func newFleetHQ(t *testing.T) *fleetHQ {
	t.Helper()
	n := startNode(t, server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true})
	nc, err := nats.Connect(n.url())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	h := &fleetHQ{t: t, url: n.url()}
	if h.bundles, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: fleet.Bucket, History: 5}); err != nil {
		t.Fatal(err)
	}
	if h.lanes, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: fleet.LanesBucket}); err != nil {
		t.Fatal(err)
	}
	if h.pub, h.priv, err = fleet.GenerateKey(); err != nil {
		t.Fatal(err)
	}
	return h
}

// sign makes a bundle for target at version v (0: the next), valid for an hour.
func (h *fleetHQ) sign(target fleet.Target, v uint64, yaml string) []byte {
	h.t.Helper()
	if v == 0 {
		h.version++
		v = h.version
	}
	now := time.Now()
	data, err := fleet.Sign(fleet.Bundle{Target: target, Version: v, Issued: now, Expires: now.Add(time.Hour), YAML: yaml, By: "ops@hq"}, h.priv)
	if err != nil {
		h.t.Fatal(err)
	}
	return data
}

func (h *fleetHQ) put(key string, data []byte) {
	h.t.Helper()
	if _, err := h.bundles.Put(context.Background(), key, data); err != nil {
		h.t.Fatal(err)
	}
}

// heartbeat is the lane's last heartbeat in the lanes' bucket, and its revision.
func (h *fleetHQ) heartbeat(lane fleet.Target) (fleet.Heartbeat, uint64, bool) {
	e, err := h.lanes.Get(context.Background(), fleet.LaneKey(lane))
	if err != nil {
		return fleet.Heartbeat{}, 0, false
	}
	hb, err := fleet.DecodeHeartbeat(e.Key(), e.Value())
	if err != nil {
		h.t.Fatal(err)
	}
	return hb, e.Revision(), true
}

// fleetLaneYAML is a lane's own file.
func fleetLaneYAML(dir, lane string, h *fleetHQ) string {
	return "store:\n  path: " + filepath.Join(dir, "posagent.db") + "\n" +
		"api:\n  listen: 127.0.0.1:0\nsim:\n  time_scale: 0.02\nagent:\n  time_scale: 0.1\nprinter:\n  kind: none\n" +
		"merchant:\n  id: maple\n  store: s01\n  name: Maple Tea House\n" +
		"gateway:\n  terminal_no: " + lane + "\n" +
		"display:\n  tip_choices: [10, 15, 18]\n" +
		"fleet:\n  enabled: true\n  public_key: " + fleet.FormatPublicKey(h.pub) + "\n  url: [" + h.url + "]\n  heartbeat_every: 100ms\n"
}

// fleetDaemon is a lane run as `posagent run` runs it: from its file,
// reloadable, with head office's bundles in effect laid over it.
type fleetDaemon struct {
	t      *testing.T
	lane   fleet.Target
	path   string
	api    string
	cancel context.CancelFunc
	done   chan error
}

func newFleetDaemon(t *testing.T, h *fleetHQ, lane string) *fleetDaemon {
	t.Helper()
	dir := t.TempDir()
	d := &fleetDaemon{t: t, lane: fleet.Target{Merchant: "maple", Store: "s01", Lane: lane}, path: filepath.Join(dir, "posagent.yaml")}
	if err := os.WriteFile(d.path, []byte(fleetLaneYAML(dir, lane, h)), 0o600); err != nil {
		t.Fatal(err)
	}
	d.start()
	t.Cleanup(d.stop)
	return d
}

func (d *fleetDaemon) start() {
	d.t.Helper()
	cfg, src, err := config.Check(d.path, nil)
	if err != nil {
		d.t.Fatal(err)
	}
	if d.api != "" {
		cfg.API.Listen = d.api // the same address again
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan running, 1)
	d.cancel, d.done = cancel, make(chan error, 1)
	go func() {
		d.done <- runDaemonWith(ctx, cfg, slog.New(slog.DiscardHandler), func(r running) { ready <- r },
			daemon.Options{ConfigPath: src.File, Reloadable: true})
	}()
	select {
	case r := <-ready:
		d.api = r.API
	case err := <-d.done:
		d.t.Fatalf("%s did not start: %v", d.lane.Lane, err)
	case <-time.After(20 * time.Second):
		d.t.Fatalf("%s did not start", d.lane.Lane)
	}
}

func (d *fleetDaemon) stop() {
	if d.cancel == nil {
		return
	}
	d.cancel()
	if err := <-d.done; err != nil {
		d.t.Errorf("%s: %v", d.lane.Lane, err)
	}
	d.cancel = nil
}

// tips are the suggestions a cart with a tip prompt gets now.
func (d *fleetDaemon) tips() []int {
	d.t.Helper()
	var cart struct {
		TipChoices []int `json:"tip_choices"`
	}
	if code := apiJSON(d.t, "PUT", "http://"+d.api+"/v1/cart", map[string]any{"amount": 1000, "tip_prompt": true}, &cart); code != 200 {
		d.t.Fatalf("%s: cart HTTP %d", d.lane.Lane, code)
	}
	apiJSON(d.t, "DELETE", "http://"+d.api+"/v1/cart", nil, nil)
	return cart.TipChoices
}

func (d *fleetDaemon) waitTips(want ...int) {
	d.t.Helper()
	var got []int
	waitFor(d.t, fmt.Sprintf("%s to offer tips %v", d.lane.Lane, want), func() bool {
		got = d.tips()
		return slices.Equal(got, want)
	})
}

// fleetAudit are the lane's fleet.bundle audit entries: results in order.
func (d *fleetDaemon) fleetAudit() []string {
	d.t.Helper()
	var res struct {
		Audit []struct {
			Action string `json:"action"`
			Result string `json:"result"`
			Detail string `json:"detail"`
		} `json:"audit"`
	}
	if code := apiJSON(d.t, "GET", "http://"+d.api+"/v1/audit", nil, &res); code != 200 {
		d.t.Fatalf("audit HTTP %d", code)
	}
	var out []string
	for _, a := range res.Audit {
		if a.Action == "fleet.bundle" {
			out = append(out, a.Result)
		}
	}
	return out
}

func (d *fleetDaemon) waitAudit(n int) []string {
	d.t.Helper()
	var got []string
	waitFor(d.t, fmt.Sprintf("%s: %d fleet audit entries", d.lane.Lane, n), func() bool {
		got = d.fleetAudit()
		return len(got) >= n
	})
	return got
}

// TestFleetBundlesOnThreeLanes: a store's bundle applied live on three
// lanes (the tip choices seen in Chromium on one), a lane's own bundle over
// it with a restart-only key staged and applied at the restart, a lane off
// during a push catching up, and a replayed old bundle changing nothing.
func TestFleetBundlesOnThreeLanes(t *testing.T) {
	bctx := displaytest.StartBrowser(t)
	h := newFleetHQ(t)
	l1, l2, l3 := newFleetDaemon(t, h, "L1"), newFleetDaemon(t, h, "L2"), newFleetDaemon(t, h, "L3")
	storeT := fleet.Target{Merchant: "maple", Store: "s01"}
	if err := displaytest.Open(bctx, "http://"+l2.api+"/display"); err != nil {
		t.Fatal(err)
	}
	if err := displaytest.WaitConnected(bctx, true); err != nil {
		t.Fatal(err)
	}
	v1 := h.sign(storeT, 0, "display:\n  tip_choices: [12, 20]\n")
	h.put(storeT.Key(), v1)
	for _, l := range []*fleetDaemon{l1, l2, l3} {
		l.waitTips(12, 20)
		if got := l.waitAudit(1); got[0] != "ok" {
			t.Fatalf("%s audit %v", l.lane.Lane, got)
		}
	}
	// The customer sees the new suggestions on L2's display.
	if code := apiJSON(t, "PUT", "http://"+l2.api+"/v1/cart", map[string]any{"amount": 1000, "tip_prompt": true}, nil); code != 200 {
		t.Fatalf("cart HTTP %d", code)
	}
	deadline := time.Now().Add(45 * time.Second)
	for {
		labels, _ := displaytest.Eval[string](bctx, `Array.prototype.map.call(document.querySelectorAll("#tips button"), function (b) { return b.textContent; }).join("|")`)
		if strings.Contains(labels, "12%") && strings.Contains(labels, "20%") && !strings.Contains(labels, "15%") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the display's tip buttons: %q", labels)
		}
		time.Sleep(20 * time.Millisecond)
	}
	apiJSON(t, "DELETE", "http://"+l2.api+"/v1/cart", nil, nil)

	// L3's own bundle: live tips over the store's, and tips.max_percent,
	// which needs a restart: staged, in the heartbeat, applied at restart.
	h.put(l3.lane.Key(), h.sign(l3.lane, 0, "display:\n  tip_choices: [8]\ntips:\n  max_percent: 50\n"))
	l3.waitTips(8)
	l1.waitTips(12, 20)
	tipped := map[string]any{"amount": 1000, "tip": 400}
	if code := apiJSON(t, "PUT", "http://"+l3.api+"/v1/cart", tipped, nil); code != 403 {
		t.Fatalf("a 40%% tip before the restart: HTTP %d, want 403 (tips.max_percent still 30)", code)
	}
	waitFor(t, "L3's heartbeat with the staged key", func() bool {
		hb, _, ok := h.heartbeat(l3.lane)
		return ok && hb.Config.Lane == 2 && slices.Contains(hb.Config.StagedKeys, "tips.max_percent")
	})
	l3.stop()
	l3.start()
	if code := apiJSON(t, "PUT", "http://"+l3.api+"/v1/cart", tipped, nil); code != 200 {
		t.Fatalf("a 40%% tip after the restart: HTTP %d, want 200 (tips.max_percent 50 from head office)", code)
	}
	apiJSON(t, "DELETE", "http://"+l3.api+"/v1/cart", nil, nil)
	l3.waitTips(8)
	waitFor(t, "L3's heartbeat with nothing staged", func() bool {
		hb, _, ok := h.heartbeat(l3.lane)
		return ok && hb.Config.Store == 1 && hb.Config.Lane == 2 && len(hb.Config.StagedKeys) == 0
	})

	// L1 is off while head office pushes; it catches up when it returns.
	l1.stop()
	h.put(storeT.Key(), h.sign(storeT, 0, "display:\n  tip_choices: [14]\n"))
	l2.waitTips(14)
	l3.waitTips(8) // its own bundle still wins
	l1.start()
	l1.waitTips(14)

	// A broker replaying version 1: refused everywhere, nothing changes.
	h.put(storeT.Key(), v1)
	for _, l := range []*fleetDaemon{l1, l2} {
		got := l.waitAudit(3)
		if got[len(got)-1] != "refused:version" {
			t.Fatalf("%s after the replay: %v", l.lane.Lane, got)
		}
		l.waitTips(14)
	}
}

// TestFleetRefusals: every kind of bad bundle is refused with its reason,
// on the audit trail and in the heartbeat, and changes nothing.
func TestFleetRefusals(t *testing.T) {
	h := newFleetHQ(t)
	l := newFleetDaemon(t, h, "L1")
	h.put(l.lane.Key(), h.sign(l.lane, 5, "display:\n  tip_choices: [12]\n"))
	l.waitTips(12)
	_, other, _ := fleet.GenerateKey()
	otherHQ := &fleetHQ{t: t, priv: other}
	cases := []struct {
		name   string
		data   []byte
		reason fleet.Reason
	}{
		{"a bad signature", otherHQ.sign(l.lane, 6, "display:\n  tip_choices: [30]\n"), fleet.ReasonSignature},
		{"an older version", h.sign(l.lane, 4, "display:\n  tip_choices: [30]\n"), fleet.ReasonVersion},
		{"expired", expiredBundle(t, h, l.lane), fleet.ReasonExpired},
		{"another store's", h.sign(fleet.Target{Merchant: "maple", Store: "s02", Lane: "L1"}, 8, "display:\n  tip_choices: [30]\n"), fleet.ReasonTarget},
		{"a secret", h.sign(l.lane, 9, "display:\n  tip_choices: [30]\napi:\n  tokens:\n    pos: 0123456789abcdef0123\n"), fleet.ReasonSecret},
		{"a duplicate key", h.sign(l.lane, 10, "display:\n  tip_choices: [30]\n  tip_choices: [25]\n"), fleet.ReasonConfig},
		{"a rule between keys", h.sign(l.lane, 11, "display:\n  tip_choices: [40]\n"), fleet.ReasonConfig},
	}
	for i, c := range cases {
		h.put(l.lane.Key(), c.data)
		got := l.waitAudit(i + 2)
		if want := "refused:" + string(c.reason); got[i+1] != want {
			t.Fatalf("%s: audit %q, want %q", c.name, got[i+1], want)
		}
		waitFor(t, c.name+" in the heartbeat", func() bool {
			hb, _, ok := h.heartbeat(l.lane)
			return ok && hb.Refusal != nil && hb.Refusal.Reason == c.reason && hb.Config.Lane == 5
		})
		if got := l.tips(); !slices.Equal(got, []int{12}) {
			t.Fatalf("%s: tips %v after the refusal", c.name, got)
		}
	}
	// A reload of the file (SIGHUP, posagent reload) keeps head office's bundle over it.
	if code := apiJSON(t, "POST", "http://"+l.api+"/v1/config/reload", nil, nil); code != 200 {
		t.Fatalf("reload HTTP %d", code)
	}
	if got := l.tips(); !slices.Equal(got, []int{12}) {
		t.Fatalf("tips %v after a reload of the file, want head office's [12]", got)
	}
}

func expiredBundle(t *testing.T, h *fleetHQ, lane fleet.Target) []byte {
	past := time.Now().Add(-time.Hour)
	data, err := fleet.Sign(fleet.Bundle{Target: lane, Version: 7, Issued: past.Add(-time.Hour), Expires: past, YAML: "display:\n  tip_choices: [30]\n"}, h.priv)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestFleetHeartbeatsStopWhenKilled: a lane in a process of its own
// reports to head office's fleet view (package hq, as posagent-hq runs
// it) and is up; SIGKILLed, its heartbeats stop and head office marks it
// stale after three missed.
func TestFleetHeartbeatsStopWhenKilled(t *testing.T) {
	h := newFleetHQ(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "posagent.yaml")
	if err := os.WriteFile(path, []byte(fleetLaneYAML(dir, "L7", h)), 0o600); err != nil {
		t.Fatal(err)
	}
	lane := fleet.Target{Merchant: "maple", Store: "s01", Lane: "L7"}
	const every = 100 * time.Millisecond // fleet.heartbeat_every in fleetLaneYAML
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	view := &hq.Fleet{Lanes: h.lanes, Bundles: h.bundles, PublicKey: h.pub, Limits: hq.Limits{StaleAfter: 3 * every}}
	go view.Run(ctx)
	state := func() (hq.FleetLane, bool) {
		for _, l := range view.View() {
			if l.Lane == lane {
				return l, true
			}
		}
		return hq.FleetLane{}, false
	}
	t.Setenv(laneChildReloadEnv, "1")
	child := startChildLane(t, path)
	h.put(lane.Key(), h.sign(lane, 0, "display:\n  tip_choices: [11]\n"))
	waitFor(t, "head office to see L7 up with version 1 applied", func() bool {
		l, ok := state()
		return ok && l.State == hq.LaneUp && l.Applied.Lane == 1 && l.Heartbeat.Software == version
	})
	_, rev1, _ := h.heartbeat(lane)
	waitFor(t, "more heartbeats", func() bool { _, rev, _ := h.heartbeat(lane); return rev > rev1+2 })

	child.kill() // SIGKILL
	waitFor(t, "head office to mark L7 stale", func() bool {
		l, ok := state()
		return ok && l.State == hq.LaneStale && len(l.Problems) > 0
	})
	_, last, _ := h.heartbeat(lane)
	time.Sleep(5 * every)
	if _, rev, _ := h.heartbeat(lane); rev != last {
		t.Fatalf("heartbeats after the kill: revision %d, then %d", last, rev)
	}
	l, _ := state()
	if l.State != hq.LaneStale || !strings.Contains(strings.Join(l.Problems, "; "), "no heartbeat") {
		t.Fatalf("after the kill: %+v", l)
	}
}
