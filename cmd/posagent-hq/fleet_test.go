package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/posagent/posagent/fleet"
	"github.com/posagent/posagent/hq"
	"github.com/posagent/posagent/internal/displaytest"
)

// cli runs a command as main does; it returns the exit status and what it
// printed.
func cli(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := command(context.Background(), args, env{getenv: func(k string) string { return vars[k] }, stdout: &out, stderr: &errb})
	return code, out.String(), errb.String()
}

var publicKeyRe = regexp.MustCompile(`public_key: (ed25519:\S+)`)

// keygenIn writes a key in dir; it returns the file and the public key.
func keygenIn(t *testing.T, dir string) (string, string) {
	t.Helper()
	file := filepath.Join(dir, "hq.key")
	code, out, errs := cli(t, nil, "keygen", "--out", file)
	if code != 0 {
		t.Fatalf("keygen: %d %s", code, errs)
	}
	m := publicKeyRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("keygen printed no public key:\n%s", out)
	}
	return file, m[1]
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	file, pubText := keygenIn(t, dir)
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v %v", st.Mode(), err)
	}
	data, _ := os.ReadFile(file)
	priv, err := fleet.ParsePrivateKey(data)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := fleet.ParsePublicKey(pubText)
	if err != nil || !pub.Equal(priv.Public()) {
		t.Fatalf("the printed public key is not the file's: %v", err)
	}
	code, out, errs := cli(t, nil, "keygen", "--out", file)
	if code != 1 || !strings.Contains(errs, "exists: keygen never overwrites a key") {
		t.Fatalf("keygen over a key: %d %q %q", code, out, errs)
	}
	if again, _ := os.ReadFile(file); !bytes.Equal(again, data) {
		t.Fatal("the key file changed")
	}
	if strings.Contains(out+errs, "PRIVATE KEY") {
		t.Fatal("the private key printed")
	}
}

// TestConfigSetRefuses: what config set refuses, before and when it
// reaches NATS, each with a specific message.
func TestConfigSetRefuses(t *testing.T) {
	dir := t.TempDir()
	keyFile, _ := keygenIn(t, dir)
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("tips.yaml", "display:\n  tip_choices: [10, 15, 20]\n")
	secret := write("secret.yaml", "display:\n  tip_choices: [10]\napi:\n  tokens:\n    pos: pos-token-not-shown\n")
	dup := write("dup.yaml", "display:\n  tip_choices: [10]\n  tip_choices: [15]\n")
	loose := write("loose.key", "")
	os.WriteFile(loose, mustRead(t, keyFile), 0o644)
	noNATS := "nats://127.0.0.1:1"
	vars := map[string]string{"POSAGENT_HQ_KEY_FILE": keyFile}
	for _, tc := range []struct {
		name string
		vars map[string]string
		args []string
		code int
		want []string
	}{
		{"a secret", vars, []string{"--merchant", "maple", "--store", "s1", secret}, 1, []string{"secret.yaml", "line 5: api.tokens.pos is a secret: it stays in each lane's own file"}},
		{"a duplicate key", vars, []string{"--merchant", "maple", "--store", "s1", dup}, 1, []string{"line 3: display.tip_choices is written twice, on line 2 and line 3"}},
		{"no store", vars, []string{"--merchant", "maple", good}, 2, []string{"--store name the target"}},
		{"a bad lane", vars, []string{"--merchant", "maple", "--store", "s1", "--lane", "L 1", good}, 2, []string{`target lane "L 1"`}},
		{"no file", vars, []string{"--merchant", "maple", "--store", "s1"}, 2, []string{"one YAML file"}},
		{"a bad expiry", vars, []string{"--merchant", "maple", "--store", "s1", "--expires", "soon", good}, 2, []string{`--expires "soon"`}},
		{"no key", nil, []string{"--merchant", "maple", "--store", "s1", good}, 2, []string{"--key-file FILE or POSAGENT_HQ_KEY_FILE"}},
		{"a key others read", nil, []string{"--merchant", "maple", "--store", "s1", "--key-file", loose, good}, 1, []string{"readable by others (mode 0644): chmod 600"}},
		{"no NATS", vars, []string{"--merchant", "maple", "--store", "s1", "--nats", noNATS, good}, 1, []string{"cannot reach NATS at " + noNATS}},
	} {
		code, out, errs := cli(t, tc.vars, append([]string{"config", "set"}, tc.args...)...)
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d: %s", tc.name, code, tc.code, errs)
		}
		for _, w := range tc.want {
			if !strings.Contains(errs, w) {
				t.Errorf("%s: %q lacks %q", tc.name, errs, w)
			}
		}
		if strings.Contains(out+errs, "not-shown") || strings.Contains(out+errs, "PRIVATE") {
			t.Errorf("%s: a secret printed: %s%s", tc.name, out, errs)
		}
	}
	// NATS without the fleet's buckets: say so.
	o := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true}
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	defer func() { s.Shutdown(); s.WaitForShutdown() }()
	bare := fmt.Sprintf("nats://127.0.0.1:%d", s.Addr().(*net.TCPAddr).Port)
	code, _, errs := cli(t, vars, "config", "set", "--merchant", "maple", "--store", "s1", "--nats", bare, good)
	if code != 1 || !strings.Contains(errs, "the fleet's buckets do not exist yet: posagent-hq makes them when it starts") {
		t.Fatalf("no buckets: %d %s", code, errs)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFleetCommands: keygen, config set and show against a running
// posagent-hq; heartbeats put into the lanes' bucket (as lanes put them)
// make fleet ls, /api/fleet, /metrics and the page; a lane that stops
// reporting is stale after --stale-after (compressed: 600 ms).
func TestFleetCommands(t *testing.T) {
	dir := t.TempDir()
	keyFile, pubText := keygenIn(t, dir)
	pub, _ := fleet.ParsePublicKey(pubText)
	r := startHQ(t, func(o *options) { o.staleAfter = 600 * time.Millisecond; o.publicKey = pub })
	vars := map[string]string{"POSAGENT_HQ_KEY_FILE": keyFile, "POSAGENT_HQ_MERCHANT": "maple"}
	tips := filepath.Join(dir, "tips.yaml")
	os.WriteFile(tips, []byte("display:\n  tip_choices: [10, 15, 20]\n"), 0o644)
	code, out, errs := cli(t, vars, "config", "set", "--nats", r.NATS, "--store", "s1", "--note", "holiday tips", "--by", "ops", tips)
	if code != 0 || !strings.Contains(out, "published config.maple.s1 version 1 for maple/s1") {
		t.Fatalf("config set: %d %s %s", code, out, errs)
	}
	code, out, errs = cli(t, vars, "config", "set", "--nats", r.NATS, "--store", "s1", "--lane", "L2", "--expires", "36h", tips)
	if code != 0 || !strings.Contains(out, "published config.maple.s1.L2 version 2 for maple/s1/L2") {
		t.Fatalf("config set --lane: %d %s %s", code, out, errs)
	}
	// Two config sets at once: two versions.
	outs := make(chan string, 2)
	for _, l := range []string{"L3", "L4"} {
		go func() {
			code, out, errs := cli(t, vars, "config", "set", "--nats", r.NATS, "--store", "s1", "--lane", l, tips)
			outs <- fmt.Sprint(code, " ", out, errs)
		}()
	}
	got := <-outs + <-outs
	if !strings.Contains(got, " version 3 for ") || !strings.Contains(got, " version 4 for ") || strings.Count(got, "0 published") != 2 {
		t.Fatalf("two config sets at once: %s", got)
	}
	code, out, errs = cli(t, vars, "config", "show", "--nats", r.NATS, "--store", "s1")
	for _, w := range []string{"key        config.maple.s1", "version    1", "by         ops", "note       holiday tips", "signature  ok", "tip_choices: [10, 15, 20]"} {
		if code != 0 || !strings.Contains(out, w) {
			t.Errorf("config show lacks %q: %d\n%s%s", w, code, out, errs)
		}
	}
	if code, _, errs := cli(t, vars, "config", "show", "--nats", r.NATS, "--store", "s9"); code != 1 || !strings.Contains(errs, "nothing published for maple/s9") {
		t.Errorf("config show of nothing: %d %s", code, errs)
	}

	// Lanes report as a lane does: into the lanes' bucket.
	nc, err := nats.Connect(r.NATS)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	lanes, err := js.KeyValue(t.Context(), fleet.LanesBucket)
	if err != nil {
		t.Fatal(err)
	}
	put := func(h fleet.Heartbeat) {
		data, err := fleet.EncodeHeartbeat(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lanes.Put(context.Background(), fleet.LaneKey(h.Lane), data); err != nil {
			t.Error(err)
		}
	}
	l1 := fleet.Target{Merchant: "maple", Store: "s1", Lane: "L1"}
	l2 := fleet.Target{Merchant: "maple", Store: "s1", Lane: "L2"}
	ok := func(l fleet.Target, seq uint64, applied fleet.Applied) fleet.Heartbeat {
		return fleet.Heartbeat{Lane: l, Seq: seq, At: time.Now(), Software: "1.5.0", Config: applied, Gateway: "ok", ClockOK: true, JournalCheck: "ok", BackupAgeS: -1}
	}
	refused := ok(l2, 1, fleet.Applied{Store: 1})
	refused.Refusal = &fleet.LastRefusal{Key: l2.Key(), Version: 2, Reason: fleet.ReasonExpired, Detail: "expired at 2026-12-07T10:00:00Z", At: time.Now()}
	refused.Devices = []fleet.Device{{Name: "receipt", Kind: "printer", State: "paper_out", Problem: "paper out"}}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // L1 beats every 100 ms; L2 once
		defer close(done)
		for seq := uint64(1); ; seq++ {
			put(ok(l1, seq, fleet.Applied{Store: 1}))
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); <-done }()
	put(refused)

	base := "http://" + r.API
	var rep hq.FleetReport
	deadline := time.Now().Add(10 * time.Second)
	for get(t, base+"/api/fleet", token, &rep) != 200 || len(rep.Lanes) != 2 || rep.Lanes[1].Heartbeat.Seq != 1 || rep.Lanes[1].State != hq.LaneUp {
		if time.Now().After(deadline) {
			t.Fatalf("/api/fleet: %+v", rep)
		}
		time.Sleep(20 * time.Millisecond)
	}
	code, out, errs = cli(t, nil, "fleet", "ls", "--nats", r.NATS, "--stale-after", "1h")
	if code != 0 {
		t.Fatalf("fleet ls: %d %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !regexp.MustCompile(`^LANE\s+SOFTWARE\s+STORE CFG\s+LANE CFG\s+HEARTBEAT\s+STATE\s+PROBLEMS$`).MatchString(lines[0]) ||
		!regexp.MustCompile(`^maple/s1/L1\s+1\.5\.0\s+1/1\s+-\s+\d+s ago\s+up\s+-$`).MatchString(lines[1]) ||
		!regexp.MustCompile(`^maple/s1/L2\s+1\.5\.0\s+1/1\s+0/2\s+\d+s ago\s+up\s+refused config\.maple\.s1\.L2 v2 \(expired\): expired at 2026-12-07T10:00:00Z; lane config v2 published, v0 applied; printer receipt: paper out$`).MatchString(lines[2]) {
		t.Fatalf("fleet ls:\n%s", out)
	}
	code, out, _ = cli(t, nil, "fleet", "ls", "--json", "--nats", r.NATS)
	var js2 hq.FleetReport
	if err := json.Unmarshal([]byte(out), &js2); code != 0 || err != nil || len(js2.Lanes) != 2 || len(js2.Published) != 4 || js2.Lanes[1].Published.Lane != 2 {
		t.Fatalf("fleet ls --json: %d %v %s", code, err, out)
	}

	// The page shows the fleet, in Chromium.
	ctx := displaytest.StartBrowser(t)
	if err := displaytest.Open(ctx, base+"/?token="+token); err != nil {
		t.Fatal(err)
	}
	if err := displaytest.WaitUntil(ctx, `document.body.dataset.state === "ready" && document.querySelectorAll("#fleet tbody tr").length === 2`); err != nil {
		st, _ := displaytest.Eval[string](ctx, `document.body.dataset.state + " " + document.getElementById("error").textContent`)
		t.Fatalf("%v: the page is %s", err, st)
	}
	probs, _ := displaytest.Eval[string](ctx, `document.querySelector('#fleet tr[data-lane="maple/s1/L2"] td.problems').textContent`)
	if !strings.Contains(probs, "printer receipt: paper out") {
		t.Fatalf("the page's L2 problems: %q", probs)
	}

	// L2 stopped reporting: stale after 600 ms; L1 still up.
	deadline = time.Now().Add(10 * time.Second)
	for get(t, base+"/api/fleet", token, &rep) != 200 || rep.Lanes[1].State != hq.LaneStale {
		if time.Now().After(deadline) {
			t.Fatalf("L2 never stale: %+v", rep.Lanes)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if rep.Lanes[0].State != hq.LaneUp || !strings.HasPrefix(rep.Lanes[1].Problems[0], "no heartbeat for ") {
		t.Fatalf("after L2 stopped: %+v", rep.Lanes)
	}
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, w := range []string{`posagent_hq_lane_up{lane="L1",merchant="maple",store="s1"} 1`, `posagent_hq_lane_up{lane="L2",merchant="maple",store="s1"} 0`,
		`posagent_hq_lane_bundle_refused{lane="L2",merchant="maple",store="s1"} 1`, `posagent_hq_config_published_version{lane="",merchant="maple",store="s1"} 1`} {
		if !strings.Contains(string(body), w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
	// Every posagent_hq_ metric the alerts use is exported.
	rules, err := os.ReadFile("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	used := regexp.MustCompile(`\bposagent_hq_[a-z0-9_]+`).FindAllString(string(rules), -1)
	if len(used) < 6 {
		t.Fatalf("the alerts use %d posagent_hq_ metrics", len(used))
	}
	for _, n := range used {
		if !strings.Contains(string(body), "\n"+n+"{") {
			t.Errorf("alerts.yml uses %s, not exported by posagent-hq's /metrics", n)
		}
	}
}

// The table of fleet ls (its problems as hq.Problems words them).
func Example_writeFleet() {
	l1 := hq.FleetLane{Lane: fleet.Target{Merchant: "maple", Store: "s1", Lane: "L1"}, State: hq.LaneUp, Software: "1.5.0",
		Applied: fleet.Applied{Store: 7}, Published: hq.Versions{Store: 7}, AgeSeconds: 12.4, Problems: []string{}}
	l2 := hq.FleetLane{Lane: fleet.Target{Merchant: "maple", Store: "s1", Lane: "L2"}, State: hq.LaneStale, Software: "1.4.2",
		Applied: fleet.Applied{Store: 6, Lane: 3}, Published: hq.Versions{Store: 7, Lane: 3}, AgeSeconds: 254,
		Problems: []string{"no heartbeat for 4m14s (stale after 1m30s)", "store config v7 published, v6 applied"}}
	writeFleet(os.Stdout, []hq.FleetLane{l1, l2})
	// Output:
	// LANE         SOFTWARE  STORE CFG  LANE CFG  HEARTBEAT  STATE  PROBLEMS
	// maple/s1/L1  1.5.0     7/7        -         12s ago    up     -
	// maple/s1/L2  1.4.2     6/7        3/3       4m14s ago  stale  no heartbeat for 4m14s (stale after 1m30s); store config v7 published, v6 applied
}
