package stacktest

import (
	"sync/atomic"
	"testing"

	"github.com/posagent/posagent/agent"
)

// BenchmarkJournalSize: the journal's size against the data it holds
// after 10,000 scan payments through the real HTTP API (8 at once, against
// the loopback simulator): file, live records (keys and values), free
// pages, and file / live.
func BenchmarkJournalSize(b *testing.B) {
	const n = 10000
	for range b.N {
		sim := startSim(b, "")
		gw, hc := newGatewayClient(b, sim.url)
		a := startAgent(b, "", gw, agent.Options{})
		var codes atomic.Int64
		payLoad(b, a, n, 8, &codes)
		u, err := a.st.Usage()
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("live bytes by bucket: %v", u.Buckets)
		b.ReportMetric(float64(u.FileBytes)/1e6, "file-MB")
		b.ReportMetric(float64(u.LiveBytes)/1e6, "live-MB")
		b.ReportMetric(float64(u.FreeBytes)/1e6, "free-MB")
		b.ReportMetric(float64(u.FileBytes)/float64(u.LiveBytes), "file/live")
		a.stop()
		hc.CloseIdleConnections()
	}
}
