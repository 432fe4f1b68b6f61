package hq

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/posagent/posagent/feed"
)

// BenchmarkIngest100Lanes: posagent-hq's consumer books a stream holding
// the events of 100 simulated lanes (20 stores of 5), each a payment
// event of a distinct payment; b.N rounds, each with a fresh books file
// and a new durable consumer over the same stream.
func BenchmarkIngest100Lanes(b *testing.B) {
	const lanes, perLane = 100, 100
	o := &server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: b.TempDir(), NoSigs: true, NoLog: true}
	s, err := server.NewServer(o)
	if err != nil {
		b.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		b.Fatal("not ready")
	}
	defer func() { s.Shutdown(); s.WaitForShutdown() }()
	nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", s.Addr().(*net.TCPAddr).Port))
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	ctx := context.Background()
	if err := EnsureStream(ctx, nc, StreamConfig("POSAGENT", 1)); err != nil {
		b.Fatal(err)
	}
	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(1024))
	for seq := 1; seq <= perLane; seq++ {
		for l := range lanes {
			id := feed.Identity{Merchant: "maple", Store: fmt.Sprintf("s%02d", l/5), Lane: fmt.Sprintf("L%d", l%5)}
			m := msg(b, id, fmt.Sprintf("j%03d", l), uint64(seq), payEvent(uint64(seq), fmt.Sprintf("p%d-%d", l, seq), "succeeded", "wechat", 1000, 0))
			if _, err := js.PublishMsgAsync(&nats.Msg{Subject: m.Subject, Data: m.Data}); err != nil {
				b.Fatal(err)
			}
		}
	}
	<-js.PublishAsyncComplete()
	total := lanes * perLane
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		books, err := Open(filepath.Join(b.TempDir(), fmt.Sprintf("books%d.db", i)), nil)
		if err != nil {
			b.Fatal(err)
		}
		c := &Consumer{Books: books, Conn: nc, Stream: "POSAGENT", Durable: fmt.Sprintf("bench%d", i)}
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		b.StartTimer()
		start := time.Now()
		go func() { c.Run(cctx); close(done) }()
		for {
			if added, _, _ := c.Counts(); added >= int64(total) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		el := time.Since(start)
		b.StopTimer()
		cancel()
		<-done
		books.Close()
		b.ReportMetric(float64(total)/el.Seconds(), "events/s")
		b.StartTimer()
	}
}
