package agent

import (
	"encoding/json"
	"sync"

	"github.com/posagent/posagent/store"
)

// bus hands committed events to subscribers. A subscriber first gets the
// journal's events after its cursor up to the last event published when it
// subscribed, then every later event as it is published: the boundary is
// taken under the same lock as publishing, so there is no gap and no
// duplicate between replay and live.
type bus struct {
	st *store.Store
	// mu guards last and subs.
	mu   sync.Mutex
	last uint64
	subs map[*sub]struct{}
}

type sub struct {
	// mu guards queue and overflow.
	mu       sync.Mutex
	queue    []store.Event
	overflow bool
	wake     chan struct{}
}

const maxQueue = 10000 // a subscriber this far behind is dropped (it may reconnect with its cursor)

func newBus(st *store.Store, last uint64) *bus {
	return &bus{st: st, last: last, subs: map[*sub]struct{}{}}
}

func (b *bus) publish(evs []store.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.mu.Lock()
		if len(s.queue)+len(evs) > maxQueue {
			s.overflow = true
		} else {
			s.queue = append(s.queue, evs...)
		}
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	b.last = evs[len(evs)-1].Seq
}

func (b *bus) lastSeq() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

func decodeEvent(e store.Event) (Event, bool) {
	var ev Event
	if err := json.Unmarshal(e.Data, &ev); err != nil {
		return ev, false
	}
	ev.Seq = e.Seq
	ev.Data = e.Data
	return ev, true
}

// subscribe returns a channel of events with seq > after, and a cancel
// function that stops the stream and waits for its goroutine. The channel
// is closed when cancelled or when the subscriber fell too far behind.
func (b *bus) subscribe(after uint64) (<-chan Event, func()) {
	s := &sub{wake: make(chan struct{}, 1)}
	b.mu.Lock()
	upto := b.last
	b.subs[s] = struct{}{}
	b.mu.Unlock()

	out := make(chan Event)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(out)
		send := func(e store.Event) bool {
			if e.Seq <= after {
				return true
			}
			ev, ok := decodeEvent(e)
			if !ok {
				return true
			}
			select {
			case out <- ev:
				after = e.Seq
				return true
			case <-done:
				return false
			}
		}
		// Replay from the journal in chunks.
		for after < upto {
			var evs []store.Event
			err := b.st.View(func(tx *store.Tx) error {
				var err error
				evs, err = tx.Events(after, upto, 256)
				return err
			})
			if err != nil || len(evs) == 0 {
				break
			}
			for _, e := range evs {
				if !send(e) {
					return
				}
			}
			if evs[len(evs)-1].Seq >= upto {
				break
			}
		}
		// Live.
		for {
			s.mu.Lock()
			q, over := s.queue, s.overflow
			s.queue = nil
			s.mu.Unlock()
			if over {
				return
			}
			for _, e := range q {
				if !send(e) {
					return
				}
			}
			select {
			case <-s.wake:
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return out, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, s)
			b.mu.Unlock()
			close(done)
			wg.Wait()
		})
	}
}

// Subscribe streams events with seq > after: first those already in the
// journal, then live ones, with no gap and no duplicate. Call the returned
// function to stop; the channel is also closed if the subscriber falls
// more than 10000 events behind (reconnect with the last seq seen).
func (e *Engine) Subscribe(after uint64) (<-chan Event, func()) {
	return e.bus.subscribe(after)
}
