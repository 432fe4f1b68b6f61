package lane

import (
	"context"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posagent/posagent/fleet"
	"github.com/posagent/posagent/store"
	"github.com/posagent/posagent/store/offline"
)

var later = t0.Add(24 * time.Hour) // bundles' expiry in these tests

// A store's bundle reaches every lane of the store; a lane's bundle only
// that lane, over the store's; restart-only keys are staged.
func TestStoreAndLaneBundles(t *testing.T) {
	url, _ := startNATS(t)
	h := newHQ(t, url)
	lanes := []*laneUnderTest{newLane(t, "L1", url), newLane(t, "L2", url), newLane(t, "L3", url)}
	h.push(storeS01.Key(), sign(t, storeS01, 1, "display:\n  tip_choices: [12, 20]\n", hqPriv, later))
	for _, l := range lanes {
		e := l.waitEvent(KindApplied, "", 1)
		if e.Fleet.Key != storeS01.Key() || e.Fleet.Version != 1 || !slices.Equal(e.Fleet.Live, []string{"display.tip_choices"}) {
			t.Fatalf("%s: applied %+v", l.target.Lane, e.Fleet)
		}
		if got := l.app.tips(); !slices.Equal(got, []int{12, 20}) {
			t.Fatalf("%s: tips %v", l.target.Lane, got)
		}
		if fs := l.state(); fs.Highest[storeS01.Key()] != 1 {
			t.Fatalf("%s: highest %v", l.target.Lane, fs.Highest)
		}
	}
	// L2's own bundle: over the store's, with a restart-only key.
	l2 := lanes[1]
	h.push(l2.target.Key(), sign(t, l2.target, 2, "display:\n  tip_choices: [5]\nagent:\n  cart_timeout: 3m\n", hqPriv, later))
	e := l2.waitEvent(KindStaged, "", 1)
	if !slices.Equal(e.Fleet.Staged, []string{"agent.cart_timeout"}) {
		t.Fatalf("staged %+v", e.Fleet)
	}
	if got := l2.app.tips(); !slices.Equal(got, []int{5}) {
		t.Fatalf("L2 tips %v", got)
	}
	if fs := l2.state(); !slices.Equal(fs.Staged, []string{"agent.cart_timeout"}) || fs.StagedVersion != 2 {
		t.Fatalf("L2 staged state %+v", fs)
	}
	// The others did not take L2's bundle.
	time.Sleep(100 * time.Millisecond)
	for _, l := range []*laneUnderTest{lanes[0], lanes[2]} {
		if n := l.count(KindApplied); n != 1 || !slices.Equal(l.app.tips(), []int{12, 20}) {
			t.Fatalf("%s took another lane's bundle: %d applied, tips %v", l.target.Lane, n, l.app.tips())
		}
	}
	// Every applied bundle is on the audit trail.
	audits := 0
	for _, e := range l2.events() {
		if e.Audit != nil && e.Audit.Result == "ok" {
			audits++
		}
	}
	if audits != 2 {
		t.Fatalf("L2 audit entries %d, want 2", audits)
	}
}

// Each refusal is journaled with its reason and changes nothing.
func TestRefusedBundles(t *testing.T) {
	url, _ := startNATS(t)
	h := newHQ(t, url)
	l := newLane(t, "L1", url)
	_, otherPriv, _ := ed25519GenerateKey()
	h.push(l.target.Key(), sign(t, l.target, 5, "display:\n  tip_choices: [12]\n", hqPriv, later))
	l.waitEvent(KindApplied, "", 1)
	cases := []struct {
		name   string
		data   []byte
		reason fleet.Reason
	}{
		{"signed by another key", sign(t, l.target, 6, "display:\n  tip_choices: [30]\n", otherPriv, later), fleet.ReasonSignature},
		{"older version", sign(t, l.target, 4, "display:\n  tip_choices: [30]\n", hqPriv, later), fleet.ReasonVersion},
		{"same version, other content", sign(t, l.target, 5, "display:\n  tip_choices: [30]\n", hqPriv, later), fleet.ReasonVersion},
		{"expired", sign(t, l.target, 7, "display:\n  tip_choices: [30]\n", hqPriv, t0), fleet.ReasonExpired},
		{"another store's", sign(t, fleet.Target{Merchant: "maple", Store: "s02", Lane: "L1"}, 8, "display:\n  tip_choices: [30]\n", hqPriv, later), fleet.ReasonTarget},
		{"a secret", sign(t, l.target, 9, "display:\n  tip_choices: [30]\ngateway:\n  sign_key: 0123456789abcdef\n", hqPriv, later), fleet.ReasonSecret},
		{"a duplicate key", sign(t, l.target, 10, "display:\n  tip_choices: [30]\n  tip_choices: [31]\n", hqPriv, later), fleet.ReasonConfig},
		{"a bad value", sign(t, l.target, 11, "display:\n  tip_choices: [300]\n", hqPriv, later), fleet.ReasonConfig},
		{"the lane's identity", sign(t, l.target, 12, "merchant:\n  store: s02\n", hqPriv, later), fleet.ReasonConfig},
		{"not a bundle", []byte("display: {tip_choices: [30]}"), fleet.ReasonMalformed},
	}
	for i, c := range cases {
		h.push(l.target.Key(), c.data)
		e := l.waitEvent(KindRefused, string(c.reason), countReason(cases[:i+1], c.reason))
		if e.Fleet.Reason != string(c.reason) || e.Fleet.Detail == "" {
			t.Fatalf("%s: refused %+v", c.name, e.Fleet)
		}
		if got := l.app.tips(); !slices.Equal(got, []int{12}) {
			t.Fatalf("%s: tips %v after a refusal", c.name, got)
		}
		if fs := l.state(); fs.Highest[l.target.Key()] != 5 {
			t.Fatalf("%s: highest %v", c.name, fs.Highest)
		}
		hb, err := l.w.Heartbeat()
		if err != nil || hb.Refusal == nil || hb.Refusal.Reason != c.reason {
			t.Fatalf("%s: heartbeat refusal %+v %v", c.name, hb.Refusal, err)
		}
	}
	if n := l.count(KindApplied); n != 1 {
		t.Fatalf("%d bundles applied, want 1", n)
	}
	refusedAudits := 0
	for _, e := range l.events() {
		if e.Audit != nil && e.Audit.Status == 422 {
			refusedAudits++
		}
	}
	if refusedAudits != len(cases) {
		t.Fatalf("%d refusals on the audit trail, want %d", refusedAudits, len(cases))
	}
}

func countReason(cs []struct {
	name   string
	data   []byte
	reason fleet.Reason
}, r fleet.Reason) int {
	n := 0
	for _, c := range cs {
		if c.reason == r {
			n++
		}
	}
	return n
}

// A lane off during a push takes it when it returns; the bundle in effect,
// read again at every start, changes nothing.
func TestOfflineLaneCatchesUp(t *testing.T) {
	url, _ := startNATS(t)
	h := newHQ(t, url)
	l := newLane(t, "L1", url)
	h.push(storeS01.Key(), sign(t, storeS01, 1, "display:\n  tip_choices: [12]\n", hqPriv, later))
	l.waitEvent(KindApplied, "", 1)
	l.stop()
	h.push(storeS01.Key(), sign(t, storeS01, 2, "display:\n  tip_choices: [14]\n", hqPriv, later))
	h.push(l.target.Key(), sign(t, l.target, 3, "merchant:\n  footer: [from head office]\n", hqPriv, later))
	l.start(url)
	l.waitEvent(KindApplied, "", 3)
	waitFor(t, "the tips of version 2", func() bool { return slices.Equal(l.app.tips(), []int{14}) })
	fs := l.state()
	if fs.Highest[storeS01.Key()] != 2 || fs.Highest[l.target.Key()] != 3 {
		t.Fatalf("highest %v", fs.Highest)
	}
	// Started again: nothing new is journaled.
	before := len(l.events())
	l.stop()
	l.start(url)
	hbs := heartbeatsSeen(t, h, l, 3)
	if after := len(l.events()); after != before {
		t.Fatalf("a restart journaled %d fleet events", after-before)
	}
	if hbs.Config.Store != 2 || hbs.Config.Lane != 3 {
		t.Fatalf("heartbeat versions %+v", hbs.Config)
	}
}

// A broker replaying an old bundle (its exact bytes, signature intact)
// changes nothing, also after a restart or a restore of an older journal.
func TestReplayAndRestoreChangeNothing(t *testing.T) {
	url, _ := startNATS(t)
	h := newHQ(t, url)
	l := newLane(t, "L1", url)
	v1 := sign(t, storeS01, 1, "display:\n  tip_choices: [12]\n", hqPriv, later)
	h.push(storeS01.Key(), v1)
	l.waitEvent(KindApplied, "", 1)
	// A backup now, with version 1 the highest.
	backup := l.path + ".bak"
	f, err := os.Create(backup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.st.WriteBackup(f, nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	h.push(storeS01.Key(), sign(t, storeS01, 2, "display:\n  tip_choices: [14]\n", hqPriv, later))
	l.waitEvent(KindApplied, "", 2)
	h.push(storeS01.Key(), v1) // the replay
	l.waitEvent(KindRefused, string(fleet.ReasonVersion), 1)
	if got := l.app.tips(); !slices.Equal(got, []int{14}) {
		t.Fatalf("tips %v after the replay", got)
	}
	// The older journal put back: the fleet's high-water beside it holds.
	l.stop()
	if _, err := offline.Restore(l.path, backup, store.Options{NoSync: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := offline.AcceptRollback(l.path, store.Options{NoSync: true}, "test"); err != nil {
		t.Fatal(err)
	}
	l.app = newApplier(t)
	l.start(url)
	fs := l.state()
	if fs.Highest[storeS01.Key()] != 2 || fs.Applied[storeS01.Key()].Version != 2 {
		t.Fatalf("after the restore: %+v", fs)
	}
	h.push(storeS01.Key(), v1)
	l.waitEvent(KindRefused, string(fleet.ReasonVersion), 1)
	if l.app.calls != 0 {
		t.Fatalf("the replayed bundle reached the applier after the restore")
	}
}

// heartbeatsSeen waits for n heartbeats of l in the lanes' bucket and
// returns the last.
func heartbeatsSeen(t *testing.T, h *hq, l *laneUnderTest, n int) fleet.Heartbeat {
	t.Helper()
	var hb fleet.Heartbeat
	var first uint64
	waitFor(t, "heartbeats", func() bool {
		e, err := h.lanes.Get(context.Background(), fleet.LaneKey(l.target))
		if err != nil {
			return false
		}
		hb, err = fleet.DecodeHeartbeat(e.Key(), e.Value())
		if err != nil {
			t.Fatal(err)
		}
		if first == 0 {
			first = e.Revision()
		}
		return e.Revision() >= first+uint64(n-1)
	})
	return hb
}

// Staged keys restart the lane in the maintenance window, not outside it.
func TestMaintenanceWindowRestarts(t *testing.T) {
	url, _ := startNATS(t)
	h := newHQ(t, url)
	var open atomicBool
	l := &laneUnderTest{t: t, target: fleet.Target{Merchant: "maple", Store: "s01", Lane: "L1"},
		path: t.TempDir() + "/posagent.db", app: newApplier(t), now: t0,
		inWindow: func(time.Time) bool { return open.Load() }, restarts: make(chan struct{}, 1)}
	l.start(url)
	t.Cleanup(l.stop)
	h.push(l.target.Key(), sign(t, l.target, 1, "display:\n  tip_choices: [12]\n", hqPriv, later))
	l.waitEvent(KindApplied, "", 1)
	time.Sleep(200 * time.Millisecond) // heartbeats with nothing staged, the window open or not
	open.Store(true)
	time.Sleep(200 * time.Millisecond)
	select {
	case <-l.restarts:
		t.Fatal("restarted with nothing staged")
	default:
	}
	open.Store(false)
	h.push(l.target.Key(), sign(t, l.target, 2, "agent:\n  cart_timeout: 3m\n", hqPriv, later))
	l.waitEvent(KindStaged, "", 1)
	time.Sleep(200 * time.Millisecond)
	select {
	case <-l.restarts:
		t.Fatal("restarted outside the window")
	default:
	}
	open.Store(true)
	select {
	case <-l.restarts:
	case <-time.After(10 * time.Second):
		t.Fatal("no restart in the window with a key staged")
	}
}

type atomicBool = atomic.Bool
