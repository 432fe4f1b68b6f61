package stacktest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/store"
)

// The journal stores events about a payment as deltas of the previous
// one; a subscriber replaying from the journal gets the very bytes a live
// subscriber got, for payments with refunds and long histories.
func TestReplayedEventsAreTheLiveOnes(t *testing.T) {
	sim := startSim(t, "")
	gw, hc := newGatewayClient(t, sim.url)
	defer hc.CloseIdleConnections()
	a := startAgent(t, "", gw, testOptions())
	live, stop := a.e.Subscribe(a.e.LastSeq())
	defer stop()
	got := map[uint64][]byte{}
	for i := range 3 {
		id := a.pos.create(context.Background(), client.PaymentRequest{Amount: 1000, Mode: "scan", AuthCode: wechatCode(900 + i)}).ID
		a.waitFinal(id)
		for r := range 3 {
			a.pos.mustRefund(id, 100, client.Key(fmt.Sprintf("rr-%d-%d", i, r)))
		}
		a.waitUntil(id, "its refunds final", refundsFinal)
	}
	last := a.e.LastSeq()
	deadline := time.After(10 * time.Second)
	for len(got) == 0 || maxSeq(got) < last {
		select {
		case ev := <-live:
			got[ev.Seq] = bytes.Clone(ev.Data)
		case <-deadline:
			t.Fatalf("live events up to %d of %d", maxSeq(got), last)
		}
	}
	replay, stop2 := a.e.Subscribe(0)
	defer stop2()
	n := 0
	for ev := range replay {
		if want, ok := got[ev.Seq]; ok {
			n++
			if !bytes.Equal(ev.Data, want) {
				t.Fatalf("event %d replayed as\n%s\nlive\n%s", ev.Seq, ev.Data, want)
			}
		}
		if ev.Seq >= last {
			break
		}
	}
	if n != len(got) {
		t.Fatalf("%d of %d live events replayed", n, len(got))
	}
	var deltas int
	a.st.View(func(tx *store.Tx) error { deltas = tx.DeltaEvents(); return nil })
	if deltas == 0 {
		t.Error("no event stored as a delta")
	}
	t.Logf("%d events compared, %d stored as deltas", n, deltas)
}

func maxSeq(m map[uint64][]byte) uint64 {
	var s uint64
	for k := range m {
		s = max(s, k)
	}
	return s
}
