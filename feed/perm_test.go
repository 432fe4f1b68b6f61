package feed

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// laneUser is the least a lane needs (docs/feed.md): publish on its own
// subjects, read the stream's info and its last message, get replies.
func laneUser(name, pass string, id Identity) *server.User {
	return &server.User{Username: name, Password: pass, Permissions: &server.Permissions{
		Publish: &server.SubjectPermission{Allow: []string{id.Prefix() + ".>",
			"$JS.API.STREAM.INFO.POSAGENT", "$JS.API.STREAM.MSG.GET.POSAGENT"}},
		Subscribe: &server.SubjectPermission{Allow: []string{"_INBOX.>"}},
	}}
}

func permServer(t *testing.T) *natsServer {
	return startNATS(t, func(o *server.Options) {
		o.Users = []*server.User{
			{Username: "hq", Password: "hq-secret-0123456789"},
			laneUser("lane1", "lane1-secret-0123456789", lane1),
		}
	})
}

func hqConn(t *testing.T, ns *natsServer) *nats.Conn {
	nc, err := Conn{URLs: []string{ns.url()}, User: "hq", Password: "hq-secret-0123456789"}.Dial(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

func checksOf(cs []Check) map[string]Check {
	m := map[string]Check{}
	for _, c := range cs {
		m[c.Name] = c
	}
	return m
}

// A lane's credential publishes on its own subjects only: the server
// refuses another lane's, and the feed and doctor say so.
func TestLaneCredentialIsRefusedOtherLanes(t *testing.T) {
	ns := permServer(t)
	hq := hqConn(t, ns)
	makeStream(t, hq)
	conn := Conn{URLs: []string{ns.url()}, User: "lane1", Password: "lane1-secret-0123456789"}

	// doctor's probe: all well for its own identity.
	got := checksOf(Probe(t.Context(), conn, lane1, "POSAGENT", 2*time.Second))
	for _, name := range []string{"feed", "feed stream", "feed publish", "feed permissions"} {
		if got[name].Level != "ok" {
			t.Errorf("probe as lane1: %s = %+v", name, got[name])
		}
	}
	if c, ok := got["feed read"]; ok {
		t.Errorf("probe as lane1: %+v", c)
	}
	// ... and refused as another lane.
	lane2 := Identity{Merchant: "maple", Store: "s1", Lane: "L2"}
	got = checksOf(Probe(t.Context(), conn, lane2, "POSAGENT", 300*time.Millisecond))
	if c := got["feed publish"]; c.Level != "fail" || !strings.Contains(c.Detail, "Permissions Violation") {
		t.Errorf("probe as lane2 with lane1's credential: %+v", c)
	}
	// An open credential is reported.
	open := Conn{URLs: []string{ns.url()}, User: "hq", Password: "hq-secret-0123456789"}
	if c := checksOf(Probe(t.Context(), open, lane1, "POSAGENT", 300*time.Millisecond))["feed permissions"]; c.Level != "warn" {
		t.Errorf("probe with the head office's credential: %+v", c)
	}
	// A wrong password.
	bad := Conn{URLs: []string{ns.url()}, User: "lane1", Password: "wrong-wrong-wrong"}
	if c := checksOf(Probe(t.Context(), bad, lane1, "POSAGENT", 300*time.Millisecond))["feed"]; c.Level != "fail" || strings.Contains(c.Detail, "wrong-wrong") {
		t.Errorf("probe with a wrong password: %+v", c)
	}

	// The feed of a lane configured as L2 with lane1's credential: nothing
	// reaches the stream, and the status says why.
	st := openJournal(t, journalPath(t))
	appendEvents(t, st, 3, "a")
	var f *Feed
	conn.OnError = func(err error) { f.ServerError(err) }
	o := testOptions(lane2)
	o.AckTimeout = 200 * time.Millisecond
	f, _ = New(StoreJournal{st}, nil, o)
	nc, err := conn.Dial(true)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	f.nc = nc
	stop := runFeed(t, f)
	waitFor(t, "an error", 10*time.Second, func() bool { return f.Status().Errors >= 2 })
	stop()
	if s := f.Status(); s.Acked != 0 || s.LagEvents != 3 || !strings.Contains(s.LastError, "Permissions Violation") {
		t.Fatalf("status: %+v", s)
	}
	if msgs := readStream(t, hq, lane2.Prefix()); len(msgs) != 0 {
		t.Fatalf("the stream took %d messages on another lane's subject", len(msgs))
	}
	// A raw publish, as a hostile lane would send it.
	nc.Publish(lane2.Subject("payment.succeeded"), []byte(`{"v":1}`))
	nc.Flush()
	if msgs := readStream(t, hq, lane2.Prefix()); len(msgs) != 0 {
		t.Fatalf("the stream took a raw publish on another lane's subject")
	}
}
