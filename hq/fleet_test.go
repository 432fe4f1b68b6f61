package hq

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/fleet"
)

// fleetNATS starts an embedded JetStream server with the fleet's buckets;
// url is the server's, for other connections.
func fleetNATS(t *testing.T) (url string, bundles, lanes jetstream.KeyValue) {
	t.Helper()
	o := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true}
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	url = fmt.Sprintf("nats://127.0.0.1:%d", s.Addr().(*net.TCPAddr).Port)
	js := connect(t, url)
	if _, _, err := OpenBuckets(t.Context(), js); !errors.Is(err, ErrNoBucket) {
		t.Fatalf("no buckets yet: %v", err)
	}
	if err := EnsureFleetBuckets(t.Context(), js, 1); err != nil {
		t.Fatal(err)
	}
	bundles, lanes, err = OpenBuckets(t.Context(), js)
	if err != nil {
		t.Fatal(err)
	}
	return url, bundles, lanes
}

// connect is one more client of the server at url.
func connect(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	return js
}

var (
	testSeed = bytes.Repeat([]byte{9}, ed25519.SeedSize)
	maple1   = fleet.Target{Merchant: "maple", Store: "s01"}
)

func publisher(bundles jetstream.KeyValue) *Publisher {
	return &Publisher{Bundles: bundles, Key: ed25519.NewKeyFromSeed(testSeed), By: "ops@maple", Check: checkFragment}
}

// checkFragment is what cmd gives a Publisher.
func checkFragment(file string, yaml []byte) error {
	_, err := config.CheckFragment(file, yaml)
	return err
}

func laneOf(store fleet.Target, lane string) fleet.Target { store.Lane = lane; return store }

// healthy is a heartbeat with nothing wrong.
func healthy(lane fleet.Target, seq uint64, applied fleet.Applied) fleet.Heartbeat {
	return fleet.Heartbeat{Lane: lane, Seq: seq, At: time.Now(), Software: "1.4.0", Config: applied, Gateway: "ok",
		ClockOK: true, JournalCheck: "ok", BackupAgeS: 3600}
}

func beat(t *testing.T, lanes jetstream.KeyValue, h fleet.Heartbeat) {
	t.Helper()
	data, err := fleet.EncodeHeartbeat(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lanes.Put(context.Background(), fleet.LaneKey(h.Lane), data); err != nil {
		t.Fatal(err)
	}
}

func runFleet(t *testing.T, f *Fleet) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Fleet.Run: %v", err)
		}
	})
	select {
	case <-f.Synced():
	case err := <-done:
		t.Fatalf("Fleet.Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the fleet view did not sync")
	}
}

// waitView polls the view until ok holds.
func waitView(t *testing.T, f *Fleet, what string, ok func(map[string]FleetLane) bool) map[string]FleetLane {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m := map[string]FleetLane{}
		for _, l := range f.View() {
			m[l.Lane.Lane] = l
		}
		if ok(m) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the view is %+v", what, m)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFleetView: heartbeats put into the bucket make the view: fresh lanes
// up, a refusal and a lane behind the published version shown as
// problems, and a lane that stops reporting stale after the limit
// (compressed: 400 ms), while the one still reporting stays up.
func TestFleetView(t *testing.T) {
	_, bundles, lanes := fleetNATS(t)
	// L3 reported before head office started: it is in the view at once.
	beat(t, lanes, healthy(laneOf(maple1, "L3"), 1, fleet.Applied{}))
	f := &Fleet{Lanes: lanes, Bundles: bundles, PublicKey: ed25519.NewKeyFromSeed(testSeed).Public().(ed25519.PublicKey),
		Limits: Limits{StaleAfter: 400 * time.Millisecond}}
	runFleet(t, f)
	if v := f.View(); len(v) != 1 || v[0].Lane.Lane != "L3" || v[0].State != LaneUp {
		t.Fatalf("after sync: %+v", v)
	}
	b, err := publisher(bundles).Publish(t.Context(), Push{Target: maple1, YAML: []byte("display:\n  tip_choices: [10, 15]\n"), Expires: time.Hour, Note: "tips"})
	if err != nil {
		t.Fatal(err)
	}
	l2 := healthy(laneOf(maple1, "L2"), 1, fleet.Applied{Store: b.Version - 1})
	l2.Refusal = &fleet.LastRefusal{Key: maple1.Key(), Version: b.Version, Reason: fleet.ReasonSignature, Detail: "not signed by head office's key", At: time.Now()}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // L1 reports every 50 ms and applied what was published
		defer wg.Done()
		for seq := uint64(1); ; seq++ {
			beat(t, lanes, healthy(laneOf(maple1, "L1"), seq, fleet.Applied{Store: b.Version}))
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	beat(t, lanes, l2)
	m := waitView(t, f, "L1, L2 and L3 reported", func(m map[string]FleetLane) bool {
		return len(m) == 3 && m["L2"].Published.Store == b.Version && m["L1"].Applied.Store == b.Version
	})
	if p := m["L1"].Problems; m["L1"].State != LaneUp || len(p) != 0 {
		t.Fatalf("L1: %+v", m["L1"])
	}
	want := []string{fmt.Sprintf("refused config.maple.s01 v%d (signature): not signed by head office's key", b.Version),
		fmt.Sprintf("store config v%d published, v%d applied", b.Version, b.Version-1)}
	if m["L2"].State != LaneUp || !slices.Equal(m["L2"].Problems, want) {
		t.Fatalf("L2: %s %q, want up %q", m["L2"].State, m["L2"].Problems, want)
	}
	// L2 and L3 stop: stale after 400 ms; L1 goes on and stays up.
	m = waitView(t, f, "L2 and L3 stale", func(m map[string]FleetLane) bool {
		return m["L2"].State == LaneStale && m["L3"].State == LaneStale
	})
	if m["L1"].State != LaneUp || m["L2"].AgeSeconds < 0.4 || !strings.HasPrefix(m["L2"].Problems[0], "no heartbeat for ") {
		t.Fatalf("after the stop: %+v", m)
	}
	// L2 comes back: up again.
	beat(t, lanes, healthy(laneOf(maple1, "L2"), 2, fleet.Applied{Store: b.Version}))
	waitView(t, f, "L2 back", func(m map[string]FleetLane) bool { return m["L2"].State == LaneUp && len(m["L2"].Problems) == 0 })
	if p := f.PublishedBundles(); len(p) != 1 || p[0].Version != b.Version || p[0].Check != "ok" || p[0].Note != "tips" {
		t.Fatalf("published: %+v", p)
	}
	// A report that does not read is a problem of its lane (L3, which no
	// longer reports: L1's next heartbeat would replace the bad report).
	if _, err := lanes.Put(t.Context(), fleet.LaneKey(laneOf(maple1, "L3")), []byte("{not json")); err != nil {
		t.Fatal(err)
	}
	waitView(t, f, "L3's bad report", func(m map[string]FleetLane) bool {
		return slices.ContainsFunc(m["L3"].Problems, func(p string) bool { return strings.HasPrefix(p, "its last report does not read") })
	})
}

// TestFleetMetrics: the view on /metrics.
func TestFleetMetrics(t *testing.T) {
	_, bundles, lanes := fleetNATS(t)
	f := &Fleet{Lanes: lanes, Bundles: bundles}
	runFleet(t, f)
	b, err := publisher(bundles).Publish(t.Context(), Push{Target: laneOf(maple1, "L2"), YAML: []byte("merchant:\n  footer: [Merci]\n"), Expires: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h := healthy(laneOf(maple1, "L2"), 7, fleet.Applied{Lane: b.Version})
	h.InDoubt, h.OutboxDepth, h.OutboxOldestS, h.FeedLag, h.FeedLagS = 2, 3, 45, 5, 12
	beat(t, lanes, h)
	waitView(t, f, "L2", func(m map[string]FleetLane) bool {
		return m["L2"].Published.Lane == b.Version && m["L2"].Heartbeat.Seq == 7
	})
	srv := httptest.NewServer((&Server{Fleet: f, Token: "fleet-token-0123456789"}).Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer fleet-token-0123456789")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	lbl := `lane="L2",merchant="maple",store="s01"` // labels sorted by name
	for _, want := range []string{
		`posagent_hq_lane_up{` + lbl + `} 1`,
		`posagent_hq_lane_config_version{lane="L2",level="lane",merchant="maple",store="s01"} ` + fmt.Sprint(b.Version),
		`posagent_hq_lane_config_published_version{lane="L2",level="lane",merchant="maple",store="s01"} ` + fmt.Sprint(b.Version),
		`posagent_hq_lane_config_version{lane="L2",level="store",merchant="maple",store="s01"} 0`,
		`posagent_hq_lane_payments_in_doubt{` + lbl + `} 2`,
		`posagent_hq_lane_outbox_depth{` + lbl + `} 3`,
		`posagent_hq_lane_outbox_oldest_age_seconds{` + lbl + `} 45`,
		`posagent_hq_lane_feed_lag_events{` + lbl + `} 5`,
		`posagent_hq_lane_feed_lag_seconds{` + lbl + `} 12`,
		`posagent_hq_lane_problems{` + lbl + `} 1`,
		`posagent_hq_lane_info{lane="L2",merchant="maple",software="1.4.0",store="s01"} 1`,
		`posagent_hq_config_published_version{` + lbl + `} ` + fmt.Sprint(b.Version),
		`posagent_hq_lane_heartbeat_age_seconds{` + lbl + `} `,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}
	req, _ = http.NewRequest("GET", srv.URL+"/metrics", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("/metrics without the token: %v %v", resp.StatusCode, err)
	}
}

// TestPublish: a published bundle opens with fleet.Open against the
// public key on a lane of its store, and config show reads it back.
func TestPublish(t *testing.T) {
	_, bundles, _ := fleetNATS(t)
	p := publisher(bundles)
	now := time.Date(2026, 12, 7, 11, 0, 0, 0, time.UTC)
	p.Now = func() time.Time { return now }
	yaml := "display:\n  tip_choices: [12, 18]\n"
	b, err := p.Publish(t.Context(), Push{Target: maple1, YAML: []byte(yaml), Expires: 7 * 24 * time.Hour, Note: "new tips"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := bundles.Get(t.Context(), maple1.Key())
	if err != nil {
		t.Fatal(err)
	}
	pub := p.Key.Public().(ed25519.PublicKey)
	got, err := fleet.Open(e.Value(), pub, laneOf(maple1, "L7"), now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got.YAML != yaml || got.Version != b.Version || got.By != "ops@maple" || got.Note != "new tips" || !got.Expires.Equal(now.Add(7*24*time.Hour)) {
		t.Fatalf("opened %+v", got)
	}
	_, other, _ := ed25519.GenerateKey(nil)
	if _, err := fleet.Open(e.Value(), other.Public().(ed25519.PublicKey), laneOf(maple1, "L7"), now); fleet.ReasonOf(err) != fleet.ReasonSignature {
		t.Fatalf("another key: %v", err)
	}
	sh, err := Show(t.Context(), bundles, maple1, pub, now)
	if err != nil || sh.Version != b.Version || sh.Check != "ok" || sh.Note != "new tips" {
		t.Fatalf("show: %+v %v", sh, err)
	}
	if sh, _ := Show(t.Context(), bundles, maple1, pub, now.Add(8*24*time.Hour)); !strings.Contains(sh.Check, "expired") {
		t.Fatalf("show after expiry: %+v", sh)
	}
	if sh, _ := Show(t.Context(), bundles, maple1, nil, now.Add(8*24*time.Hour)); sh.Check != "not checked; expired at 2026-12-14T11:00:00Z" {
		t.Fatalf("show after expiry without the key: %+v", sh)
	}
	if _, err := Show(t.Context(), bundles, laneOf(maple1, "L1"), pub, now); !errors.Is(err, ErrNothingPublished) {
		t.Fatalf("show of nothing: %v", err)
	}
}

// TestPublishRefuses: a fragment with a problem is not published (nor is
// a version taken): each problem with its line; a secret named.
func TestPublishRefuses(t *testing.T) {
	_, bundles, _ := fleetNATS(t)
	p := publisher(bundles)
	for _, tc := range []struct{ name, yaml, want string }{
		{"secret", "gateway:\n  sign_key: 0123456789abcdef\n", "line 2: gateway.sign_key is a secret"},
		{"duplicate key", "display:\n  tip_choices: [10]\n  tip_choices: [15]\n", "line 3: display.tip_choices is written twice, on line 2 and line 3"},
		{"unknown key", "display:\n  tips: [10]\n", "line 2: unknown key display.tips"},
	} {
		_, err := p.Publish(t.Context(), Push{Target: maple1, File: "tips.yaml", YAML: []byte(tc.yaml), Expires: time.Hour})
		var ce *config.Error
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "tips.yaml") || strings.Contains(err.Error(), "0123456789abcdef") {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	for _, d := range []time.Duration{0, -time.Hour, 400 * 24 * time.Hour} {
		if _, err := p.Publish(t.Context(), Push{Target: maple1, YAML: []byte("log:\n  level: info\n"), Expires: d}); err == nil {
			t.Errorf("expires %s: published", d)
		}
	}
	if _, err := p.Publish(t.Context(), Push{Target: fleet.Target{Merchant: "maple", Store: "s.01"}, YAML: []byte("log:\n  level: info\n"), Expires: time.Hour}); err == nil {
		t.Error("a bad target published")
	}
	keys, _ := bundles.ListKeys(t.Context())
	var all []string
	for k := range keys.Keys() {
		all = append(all, k)
	}
	if len(all) != 0 {
		t.Fatalf("refused pushes left keys %q", all)
	}
}

// TestPublishConcurrentVersions: two `config set`s at once (two
// publishers, each with its own connection), many times,
// on the same store and on lanes: every version is taken once, and under
// each key the bundles stand in strictly increasing versions, the last
// the highest.
func TestPublishConcurrentVersions(t *testing.T) {
	url, bundles, _ := fleetNATS(t)
	const each = 25
	targets := []fleet.Target{maple1, laneOf(maple1, "L1")}
	var mu sync.Mutex
	var versions []uint64
	perKey := map[string][]uint64{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range 2 {
		wg.Add(1)
		kv, err := connect(t, url).KeyValue(t.Context(), fleet.Bucket)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer wg.Done()
			p := publisher(kv)
			<-start
			for i := range each {
				tg := targets[(i+w)%2]
				if i%3 == 0 {
					tg = maple1 // more collisions on one key
				}
				b, err := p.Publish(context.Background(), Push{Target: tg, YAML: []byte(fmt.Sprintf("log:\n  level: %s\n", []string{"info", "debug"}[i%2])), Expires: time.Hour})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				versions = append(versions, b.Version)
				perKey[tg.Key()] = append(perKey[tg.Key()], b.Version)
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	sort.Slice(versions, func(i, j int) bool { return versions[i] < versions[j] })
	for i := 1; i < len(versions); i++ {
		if versions[i] == versions[i-1] {
			t.Fatalf("version %d given twice: %v", versions[i], versions)
		}
	}
	if len(versions) != 2*each {
		t.Fatalf("%d versions, want %d", len(versions), 2*each)
	}
	for _, tg := range targets {
		hist, err := bundles.History(t.Context(), tg.Key())
		if err != nil {
			t.Fatal(err)
		}
		var last uint64
		for _, e := range hist {
			b, err := fleet.Open(e.Value(), ed25519.NewKeyFromSeed(testSeed).Public().(ed25519.PublicKey), laneOf(maple1, "L1"), time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if b.Version <= last {
				t.Fatalf("%s: version %d stands after %d", tg.Key(), b.Version, last)
			}
			last = b.Version
		}
		if want := slices.Max(perKey[tg.Key()]); last != want {
			t.Fatalf("%s: the last bundle is v%d, the highest published there v%d", tg.Key(), last, want)
		}
	}
}
