package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/daemon"
	"github.com/posagent/posagent/hq"
	"github.com/posagent/posagent/internal/agenttest"
	"github.com/posagent/posagent/store"
)

// laneChildEnv names the configuration file of a lane run as a child
// process of the test binary (SIGKILLed by TestChainThroughOutages).
const laneChildEnv = "POSAGENT_TEST_LANE_CONFIG"

// laneChildReloadEnv set to 1 runs the lane child reloadable, as `posagent run`.
const laneChildReloadEnv = "POSAGENT_TEST_LANE_RELOADABLE"

func TestMain(m *testing.M) {
	if path := os.Getenv(laneChildEnv); path != "" {
		os.Exit(laneChild(path))
	}
	os.Exit(m.Run())
}

// laneChild runs `posagent run` on the configuration at path until it is
// killed, and writes its API address beside the configuration.
func laneChild(path string) int {
	cfg, _, err := config.Load(path, nil)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lane child:", err)
		return 2
	}
	// A fleet lane (TestFleetHeartbeatsStopWhenKilled) runs as `posagent
	// run` does: reloadable, with head office's bundles laid over its file.
	do := daemon.Options{}
	if os.Getenv(laneChildReloadEnv) == "1" {
		do = daemon.Options{ConfigPath: path, Reloadable: true}
	}
	err = runDaemonWith(context.Background(), cfg, slog.New(slog.DiscardHandler), func(r running) {
		os.WriteFile(path+".addr.tmp", []byte(r.API), 0o600)
		os.Rename(path+".addr.tmp", path+".addr")
	}, do)
	fmt.Fprintln(os.Stderr, "lane child:", err)
	return 1
}

// childLane is a lane in a process of its own.
type childLane struct {
	t    *testing.T
	cfg  string
	cmd  *exec.Cmd
	addr string
}

func startChildLane(t *testing.T, cfgPath string) *childLane {
	t.Helper()
	os.Remove(cfgPath + ".addr")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), laneChildEnv+"="+cfgPath)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &childLane{t: t, cfg: cfgPath, cmd: cmd}
	t.Cleanup(c.kill)
	waitFor(t, "the lane child to start", func() bool {
		b, err := os.ReadFile(cfgPath + ".addr")
		c.addr = string(b)
		return err == nil
	})
	return c
}

func (c *childLane) kill() {
	if c.cmd != nil {
		c.cmd.Process.Kill() // SIGKILL: no cleanup at all
		c.cmd.Wait()
		c.cmd = nil
	}
}

// proxy is the store's uplink: a TCP relay that can be cut.
type proxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l, target: target}
	t.Cleanup(func() { l.Close(); p.setCut(true) })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			if p.cut { // checked under the lock setCut closes with
				p.mu.Unlock()
				c.Close()
				u.Close()
				continue
			}
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { io.Copy(u, c); u.Close() }()
			go func() { io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// natsNode is an embedded server that can be restarted on its ports.
type natsNode struct {
	t *testing.T
	o server.Options
	s *server.Server
}

func startNode(t *testing.T, o server.Options) *natsNode {
	t.Helper()
	n := &natsNode{t: t, o: o}
	n.start()
	n.o.Port = n.s.Addr().(*net.TCPAddr).Port
	t.Cleanup(n.stop)
	return n
}

func (n *natsNode) start() {
	o := n.o
	s, err := server.NewServer(&o)
	if err != nil {
		n.t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		n.t.Fatal("nats server not ready")
	}
	n.s = s
}

func (n *natsNode) stop() {
	if n.s != nil {
		n.s.Shutdown()
		n.s.WaitForShutdown()
		n.s = nil
	}
}

func (n *natsNode) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.o.Port) }

// freePort is a loopback port nothing listens on.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// chain is the store-leaf-node topology of docs/feed.md: the head office's
// hub (its stream sources the store's), the store's leaf node with its own
// JetStream domain behind a cuttable uplink, and posagent-hq's books.
type chain struct {
	hub, leaf *natsNode
	uplink    *proxy
	hubConn   *nats.Conn
	books     *hq.Books
	consumer  *hq.Consumer
}

func startChain(t *testing.T) *chain {
	t.Helper()
	c := &chain{}
	hubLeafPort := freePort(t)
	c.hub = startNode(t, server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, JetStreamDomain: "hub", ServerName: "hub",
		StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
		// NoAdvertise: the leaf must not learn the hub's own address and
		// reconnect around the cut uplink.
		LeafNode: server.LeafNodeOpts{Host: "127.0.0.1", Port: hubLeafPort, NoAdvertise: true}})
	c.uplink = newProxy(t, fmt.Sprintf("127.0.0.1:%d", hubLeafPort))
	remote, _ := url.Parse("nats-leaf://" + c.uplink.l.Addr().String())
	c.leaf = startNode(t, server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, JetStreamDomain: "s1", ServerName: "leaf-s1",
		StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
		LeafNode: server.LeafNodeOpts{ReconnectInterval: 100 * time.Millisecond, Remotes: []*server.RemoteLeafOpts{{URLs: []*url.URL{remote}}}}})
	// The store's stream, on the leaf node.
	lnc := natsConnect(t, c.leaf.url())
	ljs, _ := jetstream.New(lnc)
	if _, err := ljs.CreateStream(t.Context(), jetstream.StreamConfig{Name: "POSAGENT", Subjects: []string{"posagent.maple.s1.>"},
		Duplicates: 10 * time.Minute, Storage: jetstream.FileStorage}); err != nil {
		t.Fatal(err)
	}
	// The head office's stream sources it through the leaf's domain.
	c.hubConn = natsConnect(t, c.hub.url())
	hjs, _ := jetstream.New(c.hubConn)
	waitFor(t, "the leaf node to connect", func() bool { return c.hub.s.NumLeafNodes() == 1 })
	if _, err := hjs.CreateStream(t.Context(), jetstream.StreamConfig{Name: "CHAIN", Storage: jetstream.FileStorage, Duplicates: 10 * time.Minute,
		Sources: []*jetstream.StreamSource{{Name: "POSAGENT", External: &jetstream.ExternalStream{APIPrefix: "$JS.s1.API"}}}}); err != nil {
		t.Fatal(err)
	}
	var err error
	if c.books, err = hq.Open(filepath.Join(t.TempDir(), "books.db"), nil); err != nil {
		t.Fatal(err)
	}
	c.consumer = &hq.Consumer{Books: c.books, Conn: c.hubConn, Stream: "CHAIN", Batch: 64}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.consumer.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; c.books.Close() })
	return c
}

func natsConnect(t *testing.T, u string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(u, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// hqEvents is what the books hold: events per lane.
func (c *chain) hqEvents(t *testing.T) map[string]uint64 {
	ls, err := c.books.Lanes()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint64{}
	for _, l := range ls {
		out[l.Lane] = l.Events
	}
	return out
}

// laneYAML is a lane of store s1 on the shared simulator, feeding the leaf.
func laneYAML(dir, lane, leafURL, simURL string) string {
	return "store:\n  path: " + filepath.Join(dir, "posagent.db") + "\napi:\n  listen: 127.0.0.1:0\n" +
		"sim:\n  time_scale: 0.02\nagent:\n  time_scale: 0.02\nprinter:\n  kind: none\n" + laneFeedYAML(lane, leafURL, simURL)
}

// laneFeedYAML is what newDaemon does not set of such a lane.
func laneFeedYAML(lane, leafURL, simURL string) string {
	return "merchant:\n  id: maple\n  store: s1\ngateway:\n  url: " + simURL + "/processV2\n  terminal_no: " + lane + "\n" +
		"feed:\n  enabled: true\n  url: [" + leafURL + "]\n  ack_timeout: 500ms\n"
}

// payOn takes a scan payment of amount on the lane at api.
func payOn(t *testing.T, api string, amount int64, code string) string {
	t.Helper()
	var p payment
	if c := apiJSON(t, "POST", "http://"+api+"/v1/payments", map[string]any{"amount": amount, "mode": "scan"}, &p); c != 201 {
		t.Fatalf("create on %s: HTTP %d", api, c)
	}
	apiJSON(t, "POST", "http://"+api+"/v1/payments/"+p.ID+"/code", map[string]any{"code": code}, &p)
	waitFor(t, "the payment to end", func() bool {
		apiJSON(t, "GET", "http://"+api+"/v1/payments/"+p.ID, nil, &p)
		return p.State.Final()
	})
	if p.State != "succeeded" {
		t.Fatalf("payment %s of %d with %s on %s: %s %+v", p.ID, amount, code, api, p.State, p.Error)
	}
	return p.ID
}

func refundOn(t *testing.T, api, id string, amount int64) {
	t.Helper()
	var p payment
	if c := apiJSON(t, "POST", "http://"+api+"/v1/payments/"+id+"/refunds", map[string]any{"amount": amount}, &p); c >= 300 {
		t.Fatalf("refund on %s: HTTP %d", api, c)
	}
	waitFor(t, "the refund to succeed", func() bool {
		apiJSON(t, "GET", "http://"+api+"/v1/payments/"+id, nil, &p)
		return len(p.Refunds) > 0 && p.Refunds[len(p.Refunds)-1].State == "succeeded"
	})
}

// lastSeq is a lane's last journal event.
func lastSeq(t *testing.T, api string) uint64 {
	var st struct {
		Journal struct {
			LastSeq uint64 `json:"last_event_seq"`
		} `json:"journal"`
	}
	apiJSON(t, "GET", "http://"+api+"/v1/status", nil, &st)
	return st.Journal.LastSeq
}

// TestChainThroughOutages: three lanes of a store publish to the store's
// leaf node; the head office's hub sources it. The uplink is cut for a
// while, the hub is restarted, a lane is SIGKILLed just after a payment;
// afterwards the head office's books hold every event of every lane once,
// and its totals equal the sum of the lanes' journals, which equals the
// simulator's ledger.
func TestChainThroughOutages(t *testing.T) {
	if testing.Short() {
		t.Skip("chain test: real servers and a child process")
	}
	c := startChain(t)
	sim := agenttest.StartSim(t, "")
	leaf := c.leaf.url()
	dirs := map[string]string{"L1": t.TempDir(), "L2": t.TempDir(), "L3": t.TempDir()}
	d1, d2 := newDaemon(t, laneFeedYAML("L1", leaf, sim.URL)), newDaemon(t, laneFeedYAML("L2", leaf, sim.URL))
	dirs["L1"], dirs["L2"] = filepath.Dir(d1.cfg.Store.Path), filepath.Dir(d2.cfg.Store.Path)
	apis := map[string]string{"L1": d1.start().API, "L2": d2.start().API}
	cfg3 := filepath.Join(dirs["L3"], "posagent.yaml")
	os.WriteFile(cfg3, []byte(laneYAML(dirs["L3"], "L3", leaf, sim.URL)), 0o600)
	l3 := startChildLane(t, cfg3)
	apis["L3"] = l3.addr

	n := 0
	round := func(refund bool) {
		for _, lane := range []string{"L1", "L2", "L3"} {
			var last string
			for i := range 2 {
				n++
				code := agenttest.WechatCode(n)
				if i == 1 {
					code = agenttest.AlipayCode(n)
				}
				last = payOn(t, apis[lane], int64(100*n+7), code)
			}
			if refund {
				refundOn(t, apis[lane], last, 50)
			}
		}
	}
	caughtUp := func() bool {
		got := c.hqEvents(t)
		for lane, api := range apis {
			if got[lane] != lastSeq(t, api) {
				return false
			}
		}
		return true
	}
	behind := func() (n uint64) {
		got := c.hqEvents(t)
		for lane, api := range apis {
			n += lastSeq(t, api) - min(got[lane], lastSeq(t, api))
		}
		return n
	}
	round(true)
	waitLong(t, c, "the head office to catch up", caughtUp)

	// The uplink is cut: the lanes go on, the store's leaf keeps their
	// events, the head office falls behind.
	cutAt := time.Now()
	c.uplink.setCut(true)
	round(true)
	round(false)
	peak := behind()
	if peak == 0 {
		t.Fatal("the head office did not fall behind while the uplink was cut")
	}
	outage := time.Since(cutAt)
	c.uplink.setCut(false)
	back := time.Now()
	waitLong(t, c, "the head office to catch up after the uplink", caughtUp)
	catchUp := time.Since(back)

	// The hub restarts while the lanes take payments.
	c.hub.stop()
	round(false)
	c.hub.start()
	hubBack := time.Now()
	// A restarted hub sets up its sources again when their retry backoff
	// (10 s, 20 s, ... in nats-server) allows; editing the stream's
	// sources (as `nats stream edit` does) resumes them at once, which
	// keeps this test in seconds.
	waitFor(t, "the leaf node to reconnect", func() bool { return c.hub.s.NumLeafNodes() == 1 })
	c.resumeSources(t)
	waitLong(t, c, "the head office to catch up after the hub restart", caughtUp)
	hubCatchUp := time.Since(hubBack)

	// A lane is SIGKILLed just after a payment, its feed in flight; it
	// starts again on its journal.
	n++
	payOn(t, apis["L3"], 1107, agenttest.WechatCode(n))
	l3.kill()
	l3 = startChildLane(t, cfg3)
	apis["L3"] = l3.addr
	n++
	payOn(t, apis["L3"], 1207, agenttest.AlipayCode(n))
	waitLong(t, c, "the head office to catch up after the kill", caughtUp)

	// Each lane closes its shift with a Z report; the head office lists them.
	var zNet int64
	for _, api := range apis {
		var rep struct {
			Z   uint64 `json:"z"`
			Net int64  `json:"net"`
		}
		if code := apiJSON(t, "POST", "http://"+api+"/v1/shifts/close", map[string]any{}, &rep); code >= 300 || rep.Z == 0 {
			t.Fatalf("close the shift on %s: HTTP %d %+v", api, code, rep)
		}
		zNet += rep.Net
	}
	waitLong(t, c, "the head office to catch up after the Z reports", caughtUp)
	zs, _ := c.books.ZReports()
	var hqZNet int64
	for _, z := range zs {
		hqZNet += z.Net
	}
	if len(zs) != 3 || hqZNet != zNet {
		t.Fatalf("the head office has %d Z reports, net %d; the lanes' net %d", len(zs), hqZNet, zNet)
	}
	_, dups, aside := c.consumer.Counts()

	// The lanes stop; their journals are read.
	d1.stop()
	d2.stop()
	l3.kill()
	var journalNet int64
	lanes, _ := c.books.Lanes()
	byLane := map[string]*hq.LaneState{}
	for _, l := range lanes {
		byLane[l.Lane] = l
	}
	for lane, dir := range dirs {
		st, err := store.Open(filepath.Join(dir, "posagent.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var last uint64
		st.View(func(tx *store.Tx) error {
			last = tx.LastEventSeq()
			return tx.ForEachPayment(false, "", func(p *store.Payment) (bool, error) {
				if p.State == store.Succeeded || p.State == store.Reversed {
					journalNet += p.Amount + p.Tip
				}
				for _, r := range p.Refunds {
					if r.State == store.RefundSucceeded {
						journalNet -= r.Amount
					}
				}
				return true, nil
			})
		})
		jid := st.JournalID()
		st.Close()
		l := byLane[lane]
		if l == nil || l.Journals[jid] == nil {
			t.Fatalf("lane %s: no books for journal %s", lane, jid)
		}
		if l.OpenShift != 0 {
			t.Errorf("lane %s: the head office shows shift %d open after its Z report", lane, l.OpenShift)
		}
		if j := l.Journals[jid]; j.High != last || len(j.Missing) != 0 || l.Events != last || len(l.Journals) != 1 {
			t.Errorf("lane %s: the books hold %d events up to %d (missing %v), the journal %d", lane, l.Events, j.High, j.Missing, last)
		}
	}
	var simNet int64
	for _, o := range sim.Ledger() {
		simNet += o.Charged - o.Refunded
	}
	d, err := c.books.Day("", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if d.Chain.Net != journalNet || journalNet != simNet || zNet != simNet || d.Chain.InDoubt != 0 || aside != 0 {
		t.Fatalf("head office net %d, journals %d, simulator %d (in doubt %d, aside %d)", d.Chain.Net, journalNet, simNet, d.Chain.InDoubt, aside)
	}
	t.Logf("chain: %d payments, net %d; uplink cut %s with the head office %d events behind at the peak, caught up %s after; hub restart caught up %s after; duplicates dropped %d",
		n, d.Chain.Net, outage.Round(time.Millisecond), peak, catchUp.Round(time.Millisecond), hubCatchUp.Round(time.Millisecond), dups)
}

// waitLong waits up to a minute, and says where the chain stands when it
// gives up. A hub whose source consumer could not be set up (a request
// timed out on a loaded machine) retries after nats-server's backoff of
// 10 s and more: after 5 s the sources are resumed, as an operator would.
func waitLong(t *testing.T, c *chain, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(time.Minute)
	nudged := false
	for !cond() {
		if !nudged && time.Since(start) > 5*time.Second {
			t.Logf("%s: still behind after 5 s; resuming the hub's sources", what)
			c.resumeSources(t)
			nudged = true
		}
		if time.Now().After(deadline) {
			info := "no stream"
			if js, err := jetstream.New(c.hubConn); err == nil {
				if s, err := js.Stream(t.Context(), "CHAIN"); err == nil {
					if i, err := s.Info(t.Context()); err == nil {
						info = fmt.Sprintf("%d messages, sources %+v", i.State.Msgs, i.Sources)
					}
				}
			}
			leafs := -1
			if c.hub.s != nil {
				leafs = c.hub.s.NumLeafNodes()
			}
			t.Fatalf("timed out waiting for %s: the books hold %v; the hub has %d leaf nodes; its stream: %s", what, c.hqEvents(t), leafs, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// resumeSources edits the hub stream's source (its filter, to the same
// messages), which makes the hub set it up again now.
func (c *chain) resumeSources(t *testing.T) {
	t.Helper()
	js, _ := jetstream.New(c.hubConn)
	var s jetstream.Stream
	var err error
	for range 100 {
		if s, err = js.Stream(t.Context(), "CHAIN"); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.CachedInfo().Config
	if cfg.Sources[0].FilterSubject == "" {
		cfg.Sources[0].FilterSubject = "posagent.>"
	} else {
		cfg.Sources[0].FilterSubject = ""
	}
	if _, err := js.UpdateStream(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
}
