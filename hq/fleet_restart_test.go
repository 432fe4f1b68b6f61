package hq

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/posagent/posagent/fleet"
)

// TestFleetViewThroughNATSRestart: the NATS server goes away and comes
// back (same port, same store): the lanes turn stale meanwhile, and the
// view takes their heartbeats again once it is back.
func TestFleetViewThroughNATSRestart(t *testing.T) {
	o := server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoSigs: true, NoLog: true}
	start := func() *server.Server {
		oo := o
		s, err := server.NewServer(&oo)
		if err != nil {
			t.Fatal(err)
		}
		go s.Start()
		if !s.ReadyForConnections(10 * time.Second) {
			t.Fatal("nats server not ready")
		}
		return s
	}
	s := start()
	o.Port = s.Addr().(*net.TCPAddr).Port
	defer func() { s.Shutdown(); s.WaitForShutdown() }()
	url := fmt.Sprintf("nats://127.0.0.1:%d", o.Port)
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if err := EnsureFleetBuckets(t.Context(), js, 1); err != nil {
		t.Fatal(err)
	}
	bundles, lanes, err := OpenBuckets(t.Context(), js)
	if err != nil {
		t.Fatal(err)
	}
	f := &Fleet{Conn: nc, Lanes: lanes, Bundles: bundles, Limits: Limits{StaleAfter: 300 * time.Millisecond}}
	runFleet(t, f)
	l1 := laneOf(maple1, "L1")
	beat(t, lanes, healthy(l1, 1, fleet.Applied{}))
	waitView(t, f, "L1 up", func(m map[string]FleetLane) bool { return m["L1"].State == LaneUp })

	s.Shutdown()
	s.WaitForShutdown()
	waitView(t, f, "L1 stale while NATS is away", func(m map[string]FleetLane) bool { return m["L1"].State == LaneStale })
	s = start()
	deadline := time.Now().Add(10 * time.Second)
	for seq := uint64(2); ; seq++ {
		data, _ := fleet.EncodeHeartbeat(healthy(l1, seq, fleet.Applied{}))
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		_, perr := lanes.Put(ctx, fleet.LaneKey(l1), data) // fails until the client is back
		if perr != nil && seq%10 == 0 {
			t.Logf("put: %v", perr)
		}
		cancel()
		if v := f.View(); len(v) == 1 && v[0].State == LaneUp && v[0].Heartbeat.Seq >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the view did not take heartbeats again after NATS came back: %+v", f.View())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
