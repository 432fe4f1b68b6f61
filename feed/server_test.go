package feed

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/posagent/posagent/store"
)

// natsServer is an embedded JetStream server that can be stopped and
// started again on the same port with the same store.
type natsServer struct {
	t    testing.TB
	opts server.Options
	s    *server.Server
}

func startNATS(t *testing.T, tweak func(*server.Options)) *natsServer {
	t.Helper()
	return startNATSTB(t, t, tweak)
}

// startNATSB is startNATS for a benchmark.
func startNATSB(b *testing.B) *natsServer { return startNATSTB(b, nil, nil) }

func startNATSTB(tb testing.TB, t *testing.T, tweak func(*server.Options)) *natsServer {
	tb.Helper()
	o := server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: tb.TempDir(), NoSigs: true, NoLog: true}
	if tweak != nil {
		tweak(&o)
	}
	ns := &natsServer{t: tb, opts: o}
	ns.start()
	ns.opts.Port = ns.s.Addr().(*net.TCPAddr).Port
	tb.Cleanup(ns.stop)
	if t == nil { // a benchmark: the stream too
		nc := dialB(tb, ns.url())
		makeStream(tb, nc)
	}
	return ns
}

func (ns *natsServer) start() {
	ns.t.Helper()
	o := ns.opts
	s, err := server.NewServer(&o)
	if err != nil {
		ns.t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		ns.t.Fatal("nats server not ready")
	}
	ns.s = s
}

func (ns *natsServer) stop() {
	if ns.s != nil {
		ns.s.Shutdown()
		ns.s.WaitForShutdown()
		ns.s = nil
	}
}

func (ns *natsServer) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", ns.opts.Port) }

// makeStream makes the feed's stream (as the head office does).
func makeStream(t testing.TB, nc *nats.Conn) jetstream.Stream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.CreateStream(context.Background(), jetstream.StreamConfig{Name: "POSAGENT", Subjects: []string{"posagent.>"}, Duplicates: 2 * time.Minute, Storage: jetstream.FileStorage})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func dial(t *testing.T, url string) *nats.Conn { return dialB(t, url) }

func dialB(t testing.TB, url string) *nats.Conn {
	t.Helper()
	nc, err := Conn{URLs: []string{url}, Name: "test"}.Dial(true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// openJournal opens a journal in dir.
func openJournal(t *testing.T, path string) *store.Store {
	t.Helper()
	st, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// appendEvents appends n payment events, tagged with tag.
func appendEvents(t testing.TB, st *store.Store, n int, tag string) {
	t.Helper()
	for i := range n {
		err := st.Update(func(tx *store.Tx) error {
			_, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
				return json.Marshal(map[string]any{"seq": seq, "kind": "payment.succeeded", "at": time.Now().UTC(),
					"payment": map[string]any{"id": fmt.Sprintf("pay_%s_%d", tag, i), "amount": 100 + i, "state": "succeeded"}})
			})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// streamed reads every message of the stream: envelope and Nats-Msg-Id.
type streamedMsg struct {
	env   Envelope
	msgID string
	seq   uint64 // the stream's sequence
	err   error
}

func readStream(t *testing.T, nc *nats.Conn, subject string) []streamedMsg {
	t.Helper()
	js, _ := jetstream.New(nc)
	s, err := js.Stream(t.Context(), "POSAGENT")
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []streamedMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(t.Context(), seq)
		if err != nil {
			continue // deleted
		}
		if subject != "" && !matchPrefix(m.Subject, subject) {
			continue
		}
		env, derr := Decode(m.Data)
		out = append(out, streamedMsg{env: env, msgID: m.Header.Get(jetstream.MsgIDHeader), seq: seq, err: derr})
	}
	return out
}

func matchPrefix(subj, prefix string) bool {
	return len(subj) > len(prefix) && subj[:len(prefix)] == prefix && subj[len(prefix)] == '.'
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var lane1 = Identity{Merchant: "maple", Store: "s1", Lane: "L1"}

func testOptions(id Identity) Options {
	return Options{Identity: id, Stream: "POSAGENT", Agent: "test", Window: 16, AckTimeout: 500 * time.Millisecond,
		SaveEvery: 20 * time.Millisecond, Poll: 20 * time.Millisecond, Backoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}
}

func journalPath(t *testing.T) string { return filepath.Join(t.TempDir(), "posagent.db") }
