package displaytest

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// readFrames reads n SSE frames (blank-line separated, comments skipped).
func readFrames(t *testing.T, r *bufio.Reader, n int) []string {
	t.Helper()
	var frames []string
	var cur strings.Builder
	for len(frames) < n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read: %v (frames so far %q)", err, frames)
		}
		if line == "\n" {
			if cur.Len() > 0 {
				frames = append(frames, cur.String())
				cur.Reset()
			}
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		cur.WriteString(line)
	}
	return frames
}

func TestHubFormatAndReplay(t *testing.T) {
	at := time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC)
	h := NewHub(40)
	h.Now = func() time.Time { return at }
	var applied []string
	h.OnEvent = func(kind string, data json.RawMessage) error {
		applied = append(applied, kind+" "+string(data))
		return nil
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	if _, err := h.Publish("payment.updated", map[string]any{"id": "p", "state": "processing"}); err != nil {
		t.Fatal(err)
	}
	h.Publish("cart.updated", map[string]any{"amount": 5})

	for _, c := range []struct{ query, header string }{{"?after=41", ""}, {"", "41"}} {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+c.query, nil)
		if c.header != "" {
			req.Header.Set("Last-Event-ID", c.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("content type %q", ct)
		}
		r := bufio.NewReader(resp.Body)
		got := readFrames(t, r, 1)
		want := "id: 42\nevent: cart.updated\ndata: {\"seq\":42,\"kind\":\"cart.updated\",\"at\":\"2026-11-25T18:30:00Z\",\"cart\":{\"amount\":5}}\n"
		if got[0] != want {
			t.Errorf("replay %q\nwant   %q", got[0], want)
		}
		// A live event reaches the open stream.
		h.Publish("payment.updated", map[string]any{"id": "p", "state": "succeeded"})
		live := readFrames(t, r, 1)[0]
		if !strings.HasPrefix(live, "id: 4") || !strings.Contains(live, `"payment":{"id":"p","state":"succeeded"}`) {
			t.Errorf("live frame %q", live)
		}
		cancel()
		resp.Body.Close()
	}
	if len(applied) != 4 || !strings.HasPrefix(applied[0], `payment.updated {"seq":41,"kind":"payment.updated","at"`) {
		t.Errorf("OnEvent saw %q", applied)
	}
	resp, err := http.Get(srv.URL + "?after=x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("bad after: %d", resp.StatusCode)
	}
}

func TestHubPing(t *testing.T) {
	h := NewHub(0)
	h.Ping = 10 * time.Millisecond
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || line != ": ping\n" {
		t.Errorf("first line %q, %v", line, err)
	}
}
