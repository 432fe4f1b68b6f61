package agent

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/scanner"
)

// stampGateway records when the engine hands PASSIVEPAY to the gateway
// client (after the journal commit), then calls the real client.
type stampGateway struct {
	Gateway
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
	a := startAgent(b, "", sg, Options{})
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, _, err := a.e.CreatePayment(ctx, CreateRequest{Amount: 1000, Mode: "scan"}, IdemKey{}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		go a.e.HandleScan(ctx, scanner.Scan{Code: wechatCode(i), Device: "bench"})
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
	a := startAgent(b, "", gw, Options{})
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		status, m := a.call("POST", "/v1/payments", map[string]any{"amount": 1000, "mode": "scan", "auth_code": alipayCode(i)})
		lat = append(lat, time.Since(t0))
		if status != 201 || m["state"] != "succeeded" {
			b.Fatalf("%d %v", status, m)
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
		a := startAgent(b, "", gw, Options{})
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
