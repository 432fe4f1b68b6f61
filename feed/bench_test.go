package feed

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posagent/posagent/store"
)

func appendOne(b testing.TB, st *store.Store, i int) uint64 {
	var seq uint64
	err := st.Update(func(tx *store.Tx) error {
		var err error
		seq, err = tx.AppendEvent(func(seq uint64) ([]byte, error) {
			return json.Marshal(map[string]any{"seq": seq, "kind": "payment.updated", "at": time.Now().UTC(),
				"payment": map[string]any{"id": fmt.Sprint("pay_", i), "amount": 1250, "state": "succeeded", "wallet": "wechat"}})
		})
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return seq
}

// BenchmarkCommitToPubAck: from a journal commit (fsynced) to the stream's
// acknowledgement of its event, one at a time, on loopback.
func BenchmarkCommitToPubAck(b *testing.B) {
	ns := startNATSB(b)
	nc := dialB(b, ns.url())
	st, err := store.Open(b.TempDir()+"/posagent.db", store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	acks := make(chan uint64, 1)
	o := testOptions(lane1)
	o.Poll = time.Second // woken by Kick, as the daemon does
	o.SaveEvery = 250 * time.Millisecond
	o.OnAck = func(seq uint64) { acks <- seq }
	f, _ := New(StoreJournal{st}, nc, o)
	stop := runFeedB(b, f)
	defer stop()
	lat := make([]time.Duration, 0, b.N)
	commit := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		seq := appendOne(b, st, i)
		commit = append(commit, time.Since(t0))
		f.Kick()
		for got := <-acks; got < seq; got = <-acks {
		}
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	slices.Sort(commit)
	b.ReportMetric(float64(commit[len(commit)/2].Microseconds()), "commit-p50-µs")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkFeedKeepsUp: 64 writers commit events as fast as the journal
// takes them (group commit) while the feed publishes; the lag is sampled
// every millisecond. A feed that keeps up has a bounded lag (max-lag) and
// publishes as many events a second as the journal commits.
func BenchmarkFeedKeepsUp(b *testing.B) {
	ns := startNATSB(b)
	nc := dialB(b, ns.url())
	st, err := store.Open(b.TempDir()+"/posagent.db", store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	o := testOptions(lane1)
	o.Window = 64
	o.AckTimeout = 5 * time.Second
	var acked atomic.Uint64
	o.OnAck = func(seq uint64) { acked.Store(seq) }
	f, _ := New(StoreJournal{st}, nc, o)
	stop := runFeedB(b, f)
	defer stop()
	var committed atomic.Uint64
	var maxLag uint64
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
				if c, a := committed.Load(), acked.Load(); c > a && c-a > maxLag {
					maxLag = c - a
				}
				f.Kick()
			}
		}
	}()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
				seq := appendOne(b, st, int(i))
				for c := committed.Load(); seq > c && !committed.CompareAndSwap(c, seq); c = committed.Load() {
				}
			}
		}()
	}
	wg.Wait()
	commitSecs := time.Since(start).Seconds()
	for acked.Load() < committed.Load() {
		f.Kick()
		time.Sleep(time.Millisecond)
	}
	allSecs := time.Since(start).Seconds()
	close(done)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/commitSecs, "commits/s")
	b.ReportMetric(float64(b.N)/allSecs, "published/s")
	b.ReportMetric(float64(maxLag), "max-lag-events")
	b.ReportMetric((allSecs-commitSecs)*1000, "drain-ms")
}
