package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/posagent/posagent/daemon/doctor"
	"github.com/posagent/posagent/feed"
)

const lanePass = "lane1-secret-0123456789"

// feedServer is an embedded JetStream server with the feed's stream, a
// head-office user and lane LANE1's user (its own subjects only), as
// docs/feed.md sets them up. It returns the URL and a head-office
// connection.
func feedServer(t *testing.T) (string, *nats.Conn) {
	t.Helper()
	lane := feed.Identity{Merchant: "maple", Store: "s1", Lane: "LANE1"}
	o := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true,
		Users: []*server.User{
			{Username: "hq", Password: "hq-secret-0123456789"},
			{Username: "lane1", Password: lanePass, Permissions: &server.Permissions{
				Publish: &server.SubjectPermission{Allow: []string{lane.Prefix() + ".>",
					"$JS.API.STREAM.INFO.POSAGENT", "$JS.API.STREAM.MSG.GET.POSAGENT"}},
				Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
			}},
		}}
	s, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	url := fmt.Sprintf("nats://127.0.0.1:%d", s.Addr().(*net.TCPAddr).Port)
	nc, err := nats.Connect(url, nats.UserInfo("hq", "hq-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "POSAGENT", Subjects: []string{"posagent.>"}, Duplicates: 2 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	return url, nc
}

func feedYAML(url, lane string) string {
	return "merchant:\n  id: maple\n  store: s1\ngateway:\n  terminal_no: " + lane + "\n" +
		"feed:\n  enabled: true\n  url: [" + url + "]\n  user: lane1\n  password: " + lanePass + "\n"
}

// TestDaemonFeedsTheStream: `posagent run` with feed.enabled publishes every
// journal event; /v1/status, `posagent status` and /metrics show the feed;
// no payment code reaches the stream.
func TestDaemonFeedsTheStream(t *testing.T) {
	url, hq := feedServer(t)
	d := newDaemon(t, feedYAML(url, "LANE1"))
	r := d.start()
	const code = "134567890123456789"
	if out, err := cli(t, r.API, "pay", "12.50", "--code", code); err != nil {
		t.Fatalf("pay: %v\n%s", err, out)
	}
	var st struct {
		Journal struct {
			LastSeq uint64 `json:"last_event_seq"`
		} `json:"journal"`
		Feed *feed.Status `json:"feed"`
	}
	waitFor(t, "the feed to catch up", func() bool {
		apiJSON(t, "GET", "http://"+r.API+"/v1/status", nil, &st)
		return st.Feed != nil && st.Feed.State == feed.StateCaughtUp && st.Feed.Acked == st.Journal.LastSeq && st.Feed.Acked > 0
	})
	if st.Feed.Subject != "posagent.maple.s1.LANE1" || st.Feed.LagEvents != 0 {
		t.Fatalf("feed status: %+v", st.Feed)
	}
	out, err := cli(t, r.API, "status", "--json")
	if err != nil || !strings.Contains(out, `"feed"`) || !strings.Contains(out, `"acked_seq"`) {
		t.Fatalf("posagent status --json: %v\n%s", err, out)
	}
	out, err = cli(t, r.API, "status")
	if want := "feed: caught up, posagent.maple.s1.LANE1 on POSAGENT via nats://127.0.0.1:"; err != nil || !strings.Contains(out, want) ||
		!strings.Contains(out, fmt.Sprintf("acknowledged #%d", st.Feed.Acked)) || !strings.Contains(out, "all well") {
		t.Fatalf("posagent status: %v\n%s", err, out)
	}
	resp, err := http.Get("http://" + r.API + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "posagent_feed_lag_events 0") || !strings.Contains(string(body), "posagent_feed_lag_seconds 0") {
		t.Fatalf("/metrics has no feed lag at 0:\n%s", body)
	}
	// The stream holds every event once, and no payment code.
	js, _ := jetstream.New(hq)
	s, _ := js.Stream(t.Context(), "POSAGENT")
	info, _ := s.Info(t.Context())
	if info.State.Msgs != st.Journal.LastSeq {
		t.Fatalf("the stream holds %d messages, the journal %d events", info.State.Msgs, st.Journal.LastSeq)
	}
	kinds, paid := map[string]bool{}, false
	for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(m.Data), code) {
			t.Fatalf("a payment code reached the stream: %s", m.Data)
		}
		env, err := feed.Decode(m.Data)
		if err != nil || env.Seq != seq || m.Subject != "posagent.maple.s1.LANE1."+env.Kind {
			t.Fatalf("message %d on %s: %+v %v", seq, m.Subject, env, err)
		}
		kinds[env.Kind] = true
		paid = paid || env.Kind == "payment.updated" && strings.Contains(string(env.Event), `"state":"succeeded"`)
	}
	if !paid || !kinds["api.audit"] {
		t.Fatalf("no succeeded payment or audit entry in the stream: %v", kinds)
	}
}

// TestDoctorFeed: doctor tests the connection and the permissions.
func TestDoctorFeed(t *testing.T) {
	url, _ := feedServer(t)
	out, n := doctorOn(t, feedYAML(url, "LANE1"), doctor.Options{Timeout: 500 * time.Millisecond})
	for _, want := range []string{"ok    feed: connected", "ok    feed stream: POSAGENT", "ok    feed publish: may publish on posagent.maple.s1.LANE1.>", "ok    feed permissions: another lane's subjects are refused"} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor: no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, lanePass) {
		t.Fatalf("doctor printed the feed's password:\n%s", out)
	}
	// The same credential configured as another lane.
	out, n2 := doctorOn(t, feedYAML(url, "LANE2"), doctor.Options{Timeout: 500 * time.Millisecond})
	if n2 != n+1 || !strings.Contains(out, "FAIL  feed publish: posagent.maple.s1.LANE2.doctor.probe") {
		t.Fatalf("doctor as LANE2 (failures %d, before %d):\n%s", n2, n, out)
	}
}
