package displaytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Hub is a small real event stream in the agent's SSE format
// (docs/architecture.md, "events and the payment JSON"), for tests of the
// display without the agent:
//
//	id: 42
//	event: payment.updated
//	data: {"seq":42,"kind":"payment.updated","at":"...","payment":{...}}
//
// GET ?after=SEQ (or the Last-Event-ID header) replays what came after SEQ,
// then streams new events; a ": ping" comment goes out every Ping.
type Hub struct {
	Ping time.Duration // default 15 s
	// OnEvent, when set, is called with each published event (kind and the
	// data object), e.g. display.Controller.Apply.
	OnEvent func(kind string, data json.RawMessage) error
	Now     func() time.Time

	mu     sync.Mutex // mu guards the fields below
	events []hubEvent
	seq    uint64
	wake   chan struct{} // closed and replaced on every publish
	stall  chan struct{} // closed by StallOpen: the streams open then go silent
}

type hubEvent struct {
	seq  uint64
	kind string
	data []byte
}

// NewHub returns an empty hub whose first event will be seq start+1.
func NewHub(start uint64) *Hub {
	return &Hub{seq: start, wake: make(chan struct{}), stall: make(chan struct{})}
}

// StallOpen makes every stream open now go silent without closing (a
// connection that died without a TCP reset); new streams work normally.
func (h *Hub) StallOpen() {
	h.mu.Lock()
	defer h.mu.Unlock()
	close(h.stall)
	h.stall = make(chan struct{})
}

// payloadField is the data field holding the payload of a kind.
func payloadField(kind string) string {
	switch {
	case strings.HasPrefix(kind, "payment."):
		return "payment"
	case strings.HasPrefix(kind, "cart."):
		return "cart"
	case strings.HasPrefix(kind, "scan."):
		return "scan"
	case strings.HasPrefix(kind, "device."):
		return "device"
	case strings.HasPrefix(kind, "rate."):
		return "rate"
	}
	return "data"
}

// Publish appends an event with payload (any JSON value) and returns its seq.
func (h *Hub) Publish(kind string, payload any) (uint64, error) {
	raw, err := json.Marshal(payload)
	if err != nil {
		return 0, fmt.Errorf("displaytest: publish %s: %w", kind, err)
	}
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	h.mu.Lock()
	h.seq++
	seq := h.seq
	kindJSON, _ := json.Marshal(kind)
	fieldJSON, _ := json.Marshal(payloadField(kind))
	// The agent's field order: seq, kind, at, then the payload.
	data := []byte(fmt.Sprintf(`{"seq":%d,"kind":%s,"at":"%s",%s:%s}`,
		seq, kindJSON, now().UTC().Format(time.RFC3339Nano), fieldJSON, raw))
	h.events = append(h.events, hubEvent{seq, kind, data})
	close(h.wake)
	h.wake = make(chan struct{})
	h.mu.Unlock()
	if h.OnEvent != nil {
		if err := h.OnEvent(kind, data); err != nil {
			return seq, err
		}
	}
	return seq, nil
}

// since returns the events after seq and a channel closed on the next publish.
func (h *Hub) since(after uint64) ([]hubEvent, <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []hubEvent
	for _, e := range h.events {
		if e.seq > after {
			out = append(out, e)
		}
	}
	return out, h.wake
}

// ServeHTTP serves the stream until the client goes away.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	after := r.URL.Query().Get("after")
	if after == "" {
		after = r.Header.Get("Last-Event-ID")
	}
	var last uint64
	if after != "" {
		n, err := strconv.ParseUint(after, 10, 64)
		if err != nil {
			http.Error(w, `{"error":{"code":"bad_after","message":"after must be a sequence number"}}`, http.StatusBadRequest)
			return
		}
		last = n
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	ping := h.Ping
	if ping <= 0 {
		ping = 15 * time.Second
	}
	t := time.NewTicker(ping)
	defer t.Stop()
	h.mu.Lock()
	stalled := h.stall
	h.mu.Unlock()
	for {
		evs, wake := h.since(last)
		for _, e := range evs {
			if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.seq, e.kind, e.data); err != nil {
				return
			}
			last = e.seq
		}
		fl.Flush()
		select {
		case <-r.Context().Done():
			return
		case <-stalled:
			<-r.Context().Done()
			return
		case <-wake:
		case <-t.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
		}
	}
}
