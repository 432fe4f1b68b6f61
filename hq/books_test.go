package hq

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/feed"
)

var (
	l1 = feed.Identity{Merchant: "maple", Store: "s1", Lane: "L1"}
	l2 = feed.Identity{Merchant: "maple", Store: "s2", Lane: "L1"}
)

func openBooks(t testing.TB) *Books {
	t.Helper()
	b, err := Open(filepath.Join(t.TempDir(), "hq.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

var day0 = time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)

// payEvent is a payment.updated event as a lane journals it.
func payEvent(seq uint64, id, state, wallet string, amount, tip int64, refunds ...Refund) []byte {
	p := map[string]any{"id": id, "order_id": "o" + id, "mode": "scan", "wallet": wallet, "amount": amount, "tip": tip,
		"currency": "CAD", "state": state, "created_at": day0, "updated_at": day0.Add(time.Duration(seq) * time.Second), "refunds": refunds}
	b, _ := json.Marshal(map[string]any{"seq": seq, "kind": "payment.updated", "at": day0.Add(time.Duration(seq) * time.Second), "payment": p})
	return b
}

func msg(t testing.TB, id feed.Identity, journal string, seq uint64, ev []byte) Msg {
	t.Helper()
	b, env, err := feed.Encode(id, journal, "v1", seq, ev)
	if err != nil {
		t.Fatal(err)
	}
	return Msg{Subject: id.Subject(env.Kind), Data: b}
}

func TestBooksDuplicatesGapsAndAside(t *testing.T) {
	b := openBooks(t)
	m1 := msg(t, l1, "j1", 1, payEvent(1, "p1", "processing", "wechat", 1000, 0))
	m2 := msg(t, l1, "j1", 2, payEvent(2, "p1", "succeeded", "wechat", 1000, 150))
	m4 := msg(t, l1, "j1", 4, payEvent(4, "p2", "succeeded", "alipay", 500, 0))
	res, err := b.Apply([]Msg{m1, m2, m4, m2, {Subject: "posagent.maple.s1.L1.x", Data: []byte("garbage")}})
	if err != nil {
		t.Fatal(err)
	}
	if res != (Result{Added: 3, Duplicates: 1, Aside: 1}) {
		t.Fatalf("apply: %+v", res)
	}
	ls, _ := b.Lanes()
	if len(ls) != 1 || ls[0].Gaps() != 1 || ls[0].Journals["j1"].Missing[0] != [2]uint64{3, 3} || ls[0].Duplicates != 1 {
		t.Fatalf("lanes: %+v", ls[0])
	}
	// Event 3 arrives late: the gap is filled. A refund of p1 comes after.
	m3 := msg(t, l1, "j1", 3, []byte(`{"seq":3,"kind":"device.changed","at":"2026-12-07T15:00:03Z"}`))
	m5 := msg(t, l1, "j1", 5, payEvent(5, "p1", "succeeded", "wechat", 1000, 150, Refund{ID: "r1", Amount: 300, State: "succeeded", CreatedAt: day0}))
	if _, err := b.Apply([]Msg{m5, m3}); err != nil {
		t.Fatal(err)
	}
	ls, _ = b.Lanes()
	if ls[0].Gaps() != 0 || ls[0].Events != 5 || ls[0].LastSeq != 5 {
		t.Fatalf("after the late event: %+v gaps %d", ls[0], ls[0].Gaps())
	}
	// The same (journal, seq) with other content: kept aside, not booked.
	forged := msg(t, l1, "j1", 4, payEvent(4, "p2", "succeeded", "alipay", 99999, 0))
	if res, _ := b.Apply([]Msg{forged}); res.Duplicates != 1 {
		t.Fatalf("forged: %+v", res)
	}
	// Another store.
	if _, err := b.Apply([]Msg{msg(t, l2, "j9", 1, payEvent(1, "q1", "succeeded", "alipay", 700, 0))}); err != nil {
		t.Fatal(err)
	}
	// A message whose subject names another lane than its envelope.
	spoof := msg(t, l1, "j1", 6, payEvent(6, "p3", "succeeded", "wechat", 5000, 0))
	spoof.Subject = l2.Subject("payment.updated")
	if res, _ := b.Apply([]Msg{spoof}); res.Aside != 1 {
		t.Fatalf("spoofed subject: %+v", res)
	}
	aside, _ := b.Aside()
	if len(aside) != 3 || !strings.Contains(aside[1].Reason, "different content") {
		t.Fatalf("aside: %+v", aside)
	}

	d, err := b.Day("2026-12-07", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	c := d.Chain
	if c.Sales != 2200 || c.Count != 3 || c.Tips != 150 || c.Refunds != 300 || c.Net != 2200+150-300 {
		t.Fatalf("chain: %+v", c)
	}
	if s1 := d.Stores["s1"]; s1.Sales != 1500 || s1.ByWallet["wechat"].Net != 1000+150-300 || s1.ByMode["scan"].Count != 2 {
		t.Fatalf("s1: %+v", s1)
	}
	if d, _ := b.Day("2026-12-08", time.UTC); d.Chain.Sales != 0 {
		t.Fatalf("the next day: %+v", d.Chain)
	}
	if _, err := b.Day("7/12/2026", time.UTC); err == nil {
		t.Fatal("a bad day was accepted")
	}
	var csv bytes.Buffer
	if err := b.WriteCSV(&csv, "2026-12-07", time.UTC); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(csv.String()), "\n")
	if len(lines) != 5 || !strings.Contains(csv.String(), ",refund,r1,op1,wechat,scan,succeeded,CAD,-300,0,-300") {
		t.Fatalf("csv:\n%s", csv.String())
	}
}

// An out-of-order older state of a payment never replaces a newer one.
func TestBooksKeepTheLatestPaymentState(t *testing.T) {
	b := openBooks(t)
	late := msg(t, l1, "j1", 2, payEvent(2, "p1", "succeeded", "wechat", 1000, 0))
	early := msg(t, l1, "j1", 1, payEvent(1, "p1", "processing", "wechat", 1000, 0))
	b.Apply([]Msg{late})
	b.Apply([]Msg{early})
	d, _ := b.Day("", time.UTC)
	if d.Chain.Sales != 1000 || d.Chain.InDoubt != 0 {
		t.Fatalf("totals: %+v", d.Chain)
	}
}

func BenchmarkApply(b *testing.B) {
	books := openBooks(b)
	var msgs []Msg
	for i := range 256 {
		id := feed.Identity{Merchant: "m", Store: fmt.Sprintf("s%d", i%20), Lane: fmt.Sprintf("L%d", i%5)}
		msgs = append(msgs, msg(b, id, "j", uint64(i+1), payEvent(uint64(i+1), fmt.Sprint("p", i), "succeeded", "wechat", 100, 0)))
	}
	b.ResetTimer()
	for range b.N {
		books.Apply(msgs)
	}
	b.ReportMetric(float64(b.N*len(msgs))/b.Elapsed().Seconds(), "msgs/s")
}
