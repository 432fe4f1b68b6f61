package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/posagent/posagent/feed"
	"github.com/posagent/posagent/internal/displaytest"
	"github.com/posagent/posagent/store"
)

const token = "hq-token-0123456789abcdef"

func TestParse(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{nil, nil, "a token of at least 16 characters"},
		{nil, map[string]string{"POSAGENT_HQ_TOKEN": "short"}, "a token of at least 16 characters"},
		{[]string{"--tz", "Mars/Olympus"}, map[string]string{"POSAGENT_HQ_TOKEN": token}, `--tz "Mars/Olympus"`},
		{[]string{"--token-file", "/nonexistent/token"}, nil, "--token-file"},
		{[]string{"--public-key", "ed25519:AAAA"}, map[string]string{"POSAGENT_HQ_TOKEN": token}, "--public-key: fleet: a public key is"},
		{nil, map[string]string{"POSAGENT_HQ_TOKEN": token, "POSAGENT_HQ_PUBLIC_KEY": "rsa:x"}, "--public-key: fleet: a public key is"},
		{[]string{"--stale-after", "0s"}, map[string]string{"POSAGENT_HQ_TOKEN": token}, "--stale-after 0s: a positive duration"},
	} {
		if _, err := parse(tc.args, env(tc.env)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parse(%v) = %v, want %q", tc.args, err, tc.want)
		}
	}
	o, err := parse([]string{"--nats", "nats://hq:4222"}, env(map[string]string{"POSAGENT_HQ_TOKEN": token}))
	if err != nil || o.natsURL != "nats://hq:4222" || o.token != token {
		t.Fatalf("parse: %+v %v", o, err)
	}
}

// startHQ runs posagent-hq as main runs it, with its embedded server.
func startHQ(t *testing.T, tweaks ...func(*options)) running {
	t.Helper()
	o := options{data: t.TempDir(), listen: "127.0.0.1:0", token: token, natsListen: "127.0.0.1:0", stream: "POSAGENT", replicas: 1, tz: "UTC", quiet: true}
	for _, tw := range tweaks {
		tw(&o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan running, 1)
	done := make(chan error, 1)
	go func() { done <- run(ctx, o, slog.New(slog.DiscardHandler), func(r running) { ready <- r }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	select {
	case r := <-ready:
		return r
	case err := <-done:
		t.Fatalf("posagent-hq did not start: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("posagent-hq did not start")
	}
	return running{}
}

// lane is a journal with its feed to the head office.
func lane(t *testing.T, natsURL string, id feed.Identity) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "posagent.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	nc, err := feed.Conn{URLs: []string{natsURL}}.Dial(true)
	if err != nil {
		t.Fatal(err)
	}
	f, err := feed.New(feed.StoreJournal{Store: st}, nc, feed.Options{Identity: id, Stream: "POSAGENT", Agent: "0.9.0-test", Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; nc.Close(); st.Close() })
	return st
}

var day = time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)

func pay(t *testing.T, st *store.Store, id, wallet string, amount, tip, refund int64) {
	t.Helper()
	p := map[string]any{"id": id, "order_id": "o-" + id, "mode": "scan", "wallet": wallet, "amount": amount, "tip": tip, "currency": "CAD",
		"state": "succeeded", "created_at": day, "updated_at": day, "refunds": []any{}}
	if refund > 0 {
		p["refunds"] = []any{map[string]any{"id": "r-" + id, "amount": refund, "state": "succeeded", "created_at": day}}
	}
	err := st.Update(func(tx *store.Tx) error {
		_, err := tx.AppendEvent(func(seq uint64) ([]byte, error) {
			return json.Marshal(map[string]any{"seq": seq, "kind": "payment.updated", "at": day, "payment": p})
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, url, tok string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode == 200 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s: %v\n%s", url, err, b)
		}
	}
	return resp.StatusCode
}

// TestHQBooksAndPage: lanes of two stores feed posagent-hq's embedded
// server; its API and its page (in Chromium) show the lanes and the
// totals; the token guards them.
func TestHQBooksAndPage(t *testing.T) {
	r := startHQ(t)
	base := "http://" + r.API
	a := lane(t, r.NATS, feed.Identity{Merchant: "maple", Store: "s1", Lane: "L1"})
	b := lane(t, r.NATS, feed.Identity{Merchant: "maple", Store: "s2", Lane: "L1"})
	pay(t, a, "p1", "wechat", 1250, 100, 0)
	pay(t, a, "p2", "alipay", 800, 0, 300)
	pay(t, b, "p3", "wechat", 4000, 0, 0)
	var lanes []struct {
		Store, Lane string
		LastSeq     uint64 `json:"last_seq"`
		Gaps        uint64
		Agent       string
	}
	deadline := time.Now().Add(15 * time.Second)
	for get(t, base+"/api/lanes", token, &lanes) != 200 || len(lanes) != 2 || lanes[0].LastSeq != 2 || lanes[1].LastSeq != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("lanes: %+v", lanes)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if lanes[0].Agent != "0.9.0-test" || lanes[0].Gaps != 0 {
		t.Fatalf("lanes: %+v", lanes)
	}
	var tot struct {
		Chain struct{ Sales, Tips, Refunds, Net int64 }
	}
	if get(t, base+"/api/totals?day=2026-12-07", token, &tot) != 200 || tot.Chain.Sales != 6050 || tot.Chain.Tips != 100 || tot.Chain.Refunds != 300 || tot.Chain.Net != 5850 {
		t.Fatalf("totals: %+v", tot)
	}
	if c := get(t, base+"/api/totals?day=7-12-2026", token, nil); c != 400 {
		t.Fatalf("a bad day: HTTP %d", c)
	}
	// A hostile message on the stream: kept aside, and the books go on.
	nc, err := nats.Connect(r.NATS)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := js.Publish(t.Context(), "posagent.maple.s1.L1.payment.updated", []byte("\x00not an envelope")); err != nil {
		t.Fatal(err)
	}
	pay(t, b, "p4", "alipay", 200, 0, 0)
	var aside []struct{ Subject, Reason string }
	deadline = time.Now().Add(15 * time.Second)
	for get(t, base+"/api/aside", token, &aside) != 200 || len(aside) != 1 || get(t, base+"/api/lanes", token, &lanes) != 200 || lanes[1].LastSeq != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("aside %+v, lanes %+v", aside, lanes)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(aside[0].Reason, "not a feed envelope") {
		t.Fatalf("aside: %+v", aside)
	}

	// The token guards every route; the API is read-only.
	for _, p := range []string{"/", "/api/lanes", "/api/totals", "/api/export.csv"} {
		if c := get(t, base+p, "", nil); c != 401 {
			t.Errorf("%s without a token: HTTP %d", p, c)
		}
		if c := get(t, base+p, "wrong-token-0123456789", nil); c != 401 {
			t.Errorf("%s with a wrong token: HTTP %d", p, c)
		}
	}
	if resp, err := http.Post(base+"/api/lanes?token="+token, "application/json", nil); err != nil || resp.StatusCode != 405 {
		t.Errorf("POST: %v %v", resp.StatusCode, err)
	}

	// The page, in Chromium.
	ctx := displaytest.StartBrowser(t)
	if err := displaytest.Open(ctx, base+"/?token="+token); err != nil {
		t.Fatal(err)
	}
	if err := displaytest.WaitUntil(ctx, `document.body.dataset.state === "ready" && document.querySelectorAll("#lanes tbody tr").length === 2`); err != nil {
		st, _ := displaytest.Eval[string](ctx, `document.body.dataset.state + " " + document.getElementById("error").textContent`)
		t.Fatalf("%v: the page is %s", err, st)
	}
	chainNet, err := displaytest.Eval[string](ctx, `document.querySelector('#chain tr[data-store="chain"] td.net').textContent`)
	if err != nil || chainNet != "60.50" {
		t.Fatalf("the page's chain net: %q %v", chainNet, err)
	}
	s1Sales, _ := displaytest.Eval[string](ctx, `document.querySelector('#chain tr[data-store="s1"] td.sales').textContent`)
	if s1Sales != "20.50" {
		t.Fatalf("the page's s1 sales: %q", s1Sales)
	}
	if out := os.Getenv("POSAGENT_HQ_SCREENSHOT"); out != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(out, png, 0o644)
	}
}
