package agent

import (
	"fmt"
	"testing"

	"github.com/posagent/posagent/store"
)

// BenchmarkDuplicateOf: the possible-duplicate lookup that runs inside the
// commit of every new payment, with N failed payments of other amounts in
// the window (a busy lane at 2 % declines makes some 3,000 in 10 minutes).
// It should cost the payments of the same amount, not the window's.
func BenchmarkDuplicateOf(b *testing.B) {
	for _, n := range []int{0, 1000, 10000} {
		b.Run(fmt.Sprintf("failed=%d", n), func(b *testing.B) {
			sim := startSim(b, "")
			gw, hc := newGatewayClient(b, sim.url)
			defer hc.CloseIdleConnections()
			a := startAgent(b, "", gw, Options{})
			defer a.stop()
			for i := 0; i < n; i += 500 {
				err := a.st.Update(func(tx *store.Tx) error {
					for j := i; j < min(i+500, n); j++ {
						p := a.e.newPayment(tx, "scan", "", int64(10000+j), "CAD", "", "")
						p.State = Failed
						if err := a.e.putPayment(tx, p, ""); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for range b.N {
				err := a.st.View(func(tx *store.Tx) error {
					id, err := a.e.duplicateOf(tx, 5)
					if id != "" {
						b.Fatalf("found %s", id)
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
