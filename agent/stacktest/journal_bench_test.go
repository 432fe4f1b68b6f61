package stacktest

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/store"
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
		b.ReportMetric(float64(u.FileBytes)/n, "file-B/pay")
		// A day later: the idempotency keys expired and the code uses were
		// forgotten (the daily compaction), then the file rewritten
		// without its free pages (journal compact).
		later := time.Now().Add(25 * time.Hour)
		if _, err := a.st.ExpireIdem(later); err != nil {
			b.Fatal(err)
		}
		if _, err := a.st.ForgetCodes(later); err != nil {
			b.Fatal(err)
		}
		if u, err = a.st.Usage(); err != nil {
			b.Fatal(err)
		}
		b.Logf("a day later, live bytes by bucket: %v", u.Buckets)
		b.ReportMetric(float64(u.LiveBytes)/n, "live-B/pay-day-later")
		a.stop()
		hc.CloseIdleConnections()
		res, err := store.CompactFile(a.path, store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.After)/n, "compacted-B/pay")
	}
}
