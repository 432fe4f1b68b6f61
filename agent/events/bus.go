package events

import (
	"sync"

	"github.com/posagent/posagent/store"
)

// Bus hands committed events to subscribers. A subscriber first gets the
// journal's events after its cursor up to the last event published when it
// subscribed, then every later event as it is published: the boundary is
// taken under the same lock as publishing, so there is no gap and no
// duplicate between replay and live.
type Bus struct {
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

// MaxQueue is how far behind a subscriber may fall before it is dropped
// (it may reconnect with its cursor).
const MaxQueue = 10000

// New returns a bus over the journal st whose last published event is
// last (the journal's last sequence number when the engine starts).
func New(st *store.Store, last uint64) *Bus {
	return &Bus{st: st, last: last, subs: map[*sub]struct{}{}}
}

// Publish hands committed events, in commit order, to every subscriber.
// It never blocks on a subscriber.
func (b *Bus) Publish(evs []store.Event) {
	if len(evs) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		s.mu.Lock()
		if len(s.queue)+len(evs) > MaxQueue {
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

// Last is the sequence number of the last event published.
func (b *Bus) Last() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// Subscribe returns a channel of the events with seq > after, decoded by
// decode (an event it refuses is skipped), and a cancel function that
// stops the stream and waits for its goroutine. The channel is closed when
// cancelled or when the subscriber fell more than MaxQueue events behind.
func Subscribe[T any](b *Bus, after uint64, decode func(store.Event) (T, bool)) (<-chan T, func()) {
	s := &sub{wake: make(chan struct{}, 1)}
	b.mu.Lock()
	upto := b.last
	b.subs[s] = struct{}{}
	b.mu.Unlock()

	out := make(chan T)
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
			ev, ok := decode(e)
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
