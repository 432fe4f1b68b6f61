package stacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/internal/agenttest"
	"github.com/posagent/posagent/store"
)

// stampGateway records when the engine hands PASSIVEPAY to the gateway
// client (after the journal commit), then calls the real client.
type stampGateway struct {
	agent.Gateway
	sent chan time.Time
}

func (g *stampGateway) PassivePay(ctx context.Context, r gateway.PayRequest) (*gateway.Result, error) {
	g.sent <- time.Now()
	return g.Gateway.PassivePay(ctx, r)
}

func report(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// BenchmarkScanToSend: from a code arriving (HandleScan) to the PASSIVEPAY
// request handed to the gateway client, journal commit (fsync) included.
func BenchmarkScanToSend(b *testing.B) {
	sim := startSim(b, "")
	gw, hc := newGatewayClient(b, sim.url)
	defer hc.CloseIdleConnections()
	sg := &stampGateway{Gateway: gw, sent: make(chan time.Time, 1)}
	a := startAgent(b, "", sg, agent.Options{})
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, _, err := a.e.CreatePayment(ctx, agent.CreateRequest{Amount: 1000, Mode: "scan"}, agent.IdemKey{}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		go a.e.Intake().HandleScan(ctx, agent.Scan{Code: wechatCode(i), Device: "bench"})
		lat = append(lat, (<-sg.sent).Sub(t0))
	}
	b.StopTimer()
	report(b, lat)
}

// BenchmarkScanPaymentHTTP: a whole scan payment through the local API on
// the loopback simulator (POST with auth_code -> succeeded in the answer).
func BenchmarkScanPaymentHTTP(b *testing.B) {
	sim := startSim(b, "")
	gw, hc := newGatewayClient(b, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(b, "", gw, agent.Options{})
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		status, p, err := a.pos.pay(client.PaymentRequest{Amount: 1000, Mode: "scan", AuthCode: alipayCode(i)})
		lat = append(lat, time.Since(t0))
		if status != 201 || err != nil || p.State != client.Succeeded {
			b.Fatalf("%d %v %+v", status, err, p)
		}
	}
	b.StopTimer()
	report(b, lat)
}

// BenchmarkIdleMemory: heap held by a running, idle engine (store open,
// outbox worker and compaction waiting), after GC.
func BenchmarkIdleMemory(b *testing.B) {
	sim := startSim(b, "")
	gw, hc := newGatewayClient(b, sim.url)
	defer hc.CloseIdleConnections()
	var before, after runtime.MemStats
	var heap, goroutines float64
	for i := 0; i < b.N; i++ {
		runtime.GC()
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		a := startAgent(b, "", gw, agent.Options{})
		time.Sleep(20 * time.Millisecond)
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = float64(after.HeapAlloc) - float64(before.HeapAlloc)
		goroutines = float64(runtime.NumGoroutine() - g0)
		a.stop()
	}
	b.ReportMetric(heap/1024, "idle-heap-KiB")
	b.ReportMetric(goroutines, "goroutines")
}

// ---- issue 14: throughput, start, queries and the drain at scale ----

// payLoad takes n scan payments through the real HTTP API on c
// connections at once, as POSes through the typed client, and returns
// payments per second.
func payLoad(b *testing.B, a *agentEnv, n, c int, codes *atomic.Int64) float64 {
	tr := &http.Transport{MaxIdleConns: c, MaxIdleConnsPerHost: c}
	defer tr.CloseIdleConnections()
	pos := agenttest.POS(b, client.Options{URL: a.srv.URL, Transport: tr})
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	t0 := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for left.Add(-1) >= 0 {
				i := codes.Add(1)
				ctx, status := agenttest.Status(context.Background())
				got, err := pos.CreatePayment(ctx, client.PaymentRequest{Amount: 1000, Mode: "scan", AuthCode: alipayCode(int(i))},
					client.Key(fmt.Sprintf("bench-%d", i)))
				if err != nil || status() != 201 || got.State != client.Succeeded {
					b.Errorf("%d %v %+v", status(), err, got)
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(t0).Seconds()
}

// BenchmarkThroughputHTTP: scan payments per second through the local
// API against the loopback simulator, c requests at once.
func BenchmarkThroughputHTTP(b *testing.B) {
	for _, c := range []int{1, 8, 64, 256} {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			sim := startSim(b, "")
			gw, hc := newGatewayClient(b, sim.url)
			defer hc.CloseIdleConnections()
			a := startAgent(b, "", gw, agent.Options{})
			var codes atomic.Int64
			b.ResetTimer()
			rate := payLoad(b, a, max(b.N, 300, 4*c), c, &codes)
			b.StopTimer()
			b.ReportMetric(rate, "pay/s")
			a.stop()
		})
	}
}

// benchFixture writes a journal of n final payments (each with its order
// index entry, idempotency key and payment.updated events, as the agent
// writes them) into dir and returns its path. POSAGENT_BENCH_DIR keeps
// the fixtures (scripts/bench-rss starts the daemon on one).
func benchFixture(b *testing.B, dir string, n int) string {
	b.Helper()
	path := filepath.Join(dir, fmt.Sprintf("journal-%d.db", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	st, err := store.Open(path, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now().Add(-time.Duration(n) * time.Second)
	const per = 2000
	for from := 0; from < n; from += per {
		err := st.Update(func(tx *store.Tx) error {
			for i := from; i < min(from+per, n); i++ {
				at := t0.Add(time.Duration(i) * time.Second).UTC()
				p := &store.Payment{ID: newID("pay_", at), OrderID: fmt.Sprintf("P%s%07d", at.Format("060102150405"), i),
					Mode: "scan", Wallet: "alipay", Amount: int64(1000 + i%100), Currency: "CAD", State: agent.Processing,
					AuthCodeMasked: "2800**********0000", CodeAt: at, CreatedAt: at, UpdatedAt: at,
					History: []store.HistoryEntry{{State: "processing", At: at}}, Refunds: []store.Refund{}}
				if err := tx.PutIdem(fmt.Sprintf("fixture-%d", i), &store.Idem{Hash: "h", PaymentID: p.ID, Status: 201, CreatedAt: at}); err != nil {
					return err
				}
				for _, s := range []agent.State{agent.Processing, agent.Succeeded} {
					if s == agent.Succeeded {
						p.State = agent.Succeeded
						if i%10 == 9 {
							p.State = agent.Failed
							p.Error = &store.Error{Code: "declined", Message: "declined by the wallet"}
						}
						p.History = append(p.History, store.HistoryEntry{State: string(p.State), At: at})
					}
					if err := putBenchPayment(tx, p, at); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

func benchDir(b *testing.B) string {
	if d := os.Getenv("POSAGENT_BENCH_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			b.Fatal(err)
		}
		return d
	}
	return b.TempDir()
}

// BenchmarkStart: from opening the journal (its check included) to the
// engine ready for payments, on journals of 0, 10k and 100k payments; with
// what the start allocated (the decoding it did).
func BenchmarkStart(b *testing.B) {
	dir := benchDir(b)
	sim := startSim(b, "")
	for _, n := range []int{0, 10000, 100000} {
		b.Run(fmt.Sprintf("payments=%d", n), func(b *testing.B) {
			path := benchFixture(b, dir, n)
			var open, ready time.Duration
			var alloc uint64
			for range b.N {
				gw, hc := newGatewayClient(b, sim.url)
				runtime.GC()
				var m0 runtime.MemStats
				runtime.ReadMemStats(&m0)
				t0 := time.Now()
				st, err := store.Open(path, store.Options{})
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				e, err := agent.New(agent.Options{Gateway: gw, Store: st, Logger: testLogger(b)})
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- e.Run(ctx) }()
				<-e.Ready()
				t2 := time.Now()
				open += t1.Sub(t0)
				ready += t2.Sub(t0)
				var m1 runtime.MemStats
				runtime.ReadMemStats(&m1)
				alloc += m1.TotalAlloc - m0.TotalAlloc
				cancel()
				<-done
				st.Close()
				hc.CloseIdleConnections()
			}
			b.ReportMetric(float64(ready.Microseconds())/float64(b.N)/1000, "ready-ms")
			b.ReportMetric(float64(open.Microseconds())/float64(b.N)/1000, "open-ms")
			b.ReportMetric(float64(alloc)/float64(b.N)/(1<<20), "alloc-MiB")
		})
	}
}

// BenchmarkQuery: list, export and metrics on journals of 0 and 100k
// payments: each should cost what it returns, not the history.
func BenchmarkQuery(b *testing.B) {
	dir := benchDir(b)
	sim := startSim(b, "")
	future := time.Now().Add(24 * time.Hour)
	for _, n := range []int{0, 100000} {
		b.Run(fmt.Sprintf("payments=%d", n), func(b *testing.B) {
			src := benchFixture(b, dir, n)
			path := filepath.Join(b.TempDir(), "posagent.db")
			copyFile(b, src, path)
			gw, hc := newGatewayClient(b, sim.url)
			defer hc.CloseIdleConnections()
			a := startAgent(b, path, gw, agent.Options{})
			ctx := context.Background()
			list := func(q client.ListQuery) func() (int64, error) {
				return func() (int64, error) { _, err := a.pos.Payments(ctx, q); return 0, err }
			}
			export := func(since time.Time) func() (int64, error) {
				return func() (int64, error) {
					rc, err := a.pos.Export(ctx, since, client.FormatJSON)
					if err != nil {
						return 0, err
					}
					defer rc.Close()
					return io.Copy(io.Discard, rc)
				}
			}
			for _, q := range []struct {
				name string
				get  func() (int64, error) // the bytes read, when counted
			}{
				{"list-failed", list(client.ListQuery{State: client.Failed, Limit: 50})},
				{"list-newest", list(client.ListQuery{Limit: 50})},
				{"export-future", func() (int64, error) { _, err := export(future)(); return 0, err }},
				{"metrics", func() (int64, error) { // raw HTTP: the Prometheus scrape is no call of the POS API
					if st, raw := a.raw("GET", "/metrics", nil); st != 200 {
						return 0, fmt.Errorf("%d %s", st, raw)
					}
					return 0, nil
				}},
				{"export-all-json", export(time.Time{})},
			} {
				b.Run(q.name, func(b *testing.B) {
					for range b.N {
						n, err := q.get()
						if err != nil {
							b.Fatal(err)
						}
						if n > 0 {
							b.SetBytes(n)
						}
					}
				})
			}
			a.stop()
		})
	}
}

func copyFile(b *testing.B, from, to string) {
	raw, err := os.ReadFile(from)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(to, raw, 0o600); err != nil {
		b.Fatal(err)
	}
	for _, ext := range []string{".hwm", ".keys"} {
		if raw, err := os.ReadFile(from + ext); err == nil {
			os.WriteFile(to+ext, raw, 0o600)
		}
	}
}

// BenchmarkDrain10k: 10,000 refunds queued while the gateway was away,
// drained once it answers; with the sockets left in TIME_WAIT.
func BenchmarkDrain10k(b *testing.B) {
	const n = 10000
	dir := b.TempDir()
	src := filepath.Join(dir, "drain.db")
	st, err := store.Open(src, store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now().Add(-time.Hour)
	for from := 0; from < n; from += 2000 {
		err := st.Update(func(tx *store.Tx) error {
			for i := from; i < min(from+2000, n); i++ {
				at := t0.Add(time.Duration(i) * time.Millisecond).UTC()
				p := &store.Payment{ID: newID("pay_", at), OrderID: fmt.Sprintf("P%012d", i), Mode: "scan", Wallet: "alipay",
					Amount: 1000, Currency: "CAD", State: agent.Succeeded, CreatedAt: at, UpdatedAt: at,
					History: []store.HistoryEntry{{State: "succeeded", At: at}},
					Refunds: []store.Refund{{ID: newID("ref_", at), OrderID: fmt.Sprintf("R%012d", i), Amount: 1000,
						State: store.RefundPending, CreatedAt: at, UpdatedAt: at}}}
				if err := putBenchPayment(tx, p, at); err != nil {
					return err
				}
				if err := tx.AddJob(&store.Job{Kind: store.JobRefund, PaymentID: p.ID, RefundID: p.Refunds[0].ID, NextAt: at, CreatedAt: at}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	st.Close()
	sim := startSim(b, "")
	for i := range b.N {
		path := filepath.Join(dir, fmt.Sprintf("run%d.db", i))
		copyFile(b, src, path)
		gw, hc := newGatewayClient(b, sim.url)
		tw0 := timeWait()
		start := time.Now()
		a := startAgent(b, path, gw, agent.Options{})
		for jobs := n; jobs > 0; { // counted, not decoded: the poll must not compete with the drain
			time.Sleep(10 * time.Millisecond)
			a.st.View(func(tx *store.Tx) error { jobs = tx.JobCount(); return nil })
		}
		el := time.Since(start)
		b.ReportMetric(el.Seconds(), "drain-s")
		b.ReportMetric(float64(n)/el.Seconds(), "jobs/s")
		b.ReportMetric(float64(timeWait()-tw0), "time-wait")
		a.stop()
		hc.CloseIdleConnections()
	}
}

// putBenchPayment writes p and its payment.updated event as putPayment does.
func putBenchPayment(tx *store.Tx, p *store.Payment, at time.Time) error {
	if err := tx.PutPayment(p); err != nil {
		return err
	}
	pub := fixturePayment(p)
	_, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
		return json.Marshal(agent.Event{Seq: seq, Kind: agent.KindPaymentUpdated, At: at, Payment: pub})
	})
	return err
}

// timeWait counts this machine's TCP sockets in TIME_WAIT.
func timeWait() int {
	n := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(raw), "\n")[1:] {
			if fs := strings.Fields(line); len(fs) > 3 && fs[3] == "06" {
				n++
			}
		}
	}
	return n
}

// fixturePayment is the payment's JSON in a fixture's payment.updated
// event: what the engine journals for it (its public JSON).
func fixturePayment(p *store.Payment) *agent.Payment {
	out := &agent.Payment{ID: p.ID, OrderID: p.OrderID, Reference: p.Reference, Mode: p.Mode, Wallet: p.Wallet,
		Amount: p.Amount, Tip: p.Tip, Total: p.Amount + p.Tip, Currency: p.Currency, State: p.State, Error: p.Error,
		AuthCodeMasked: p.AuthCodeMasked, CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(),
		History: []agent.HistoryEntry{}, Refunds: []agent.Refund{}, Refunded: p.Refunded()}
	for _, h := range p.History {
		out.History = append(out.History, agent.HistoryEntry{State: h.State, At: h.At.UTC(), Retries: h.Retries})
	}
	for _, r := range p.Refunds {
		out.Refunds = append(out.Refunds, agent.Refund{ID: r.ID, OrderID: r.OrderID, Amount: r.Amount, State: r.State,
			Automatic: r.Auto, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()})
	}
	return out
}
