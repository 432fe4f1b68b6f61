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

	st := &stream[T]{b: b, s: s, out: make(chan T), done: make(chan struct{}), after: after, decode: decode}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(st.out)
		if st.replay(upto) {
			st.live()
		}
	})
	var once sync.Once
	return st.out, func() {
		once.Do(func() {
			b.mu.Lock()
			delete(b.subs, s)
			b.mu.Unlock()
			close(st.done)
			wg.Wait()
		})
	}
}

// stream is one subscriber's goroutine: replay, then live.
type stream[T any] struct {
	b      *Bus
	s      *sub
	out    chan T
	done   chan struct{} // closed by cancel
	after  uint64        // the last seq delivered (or skipped)
	decode func(store.Event) (T, bool)
}

// send delivers e unless it is at or before the cursor or undecodable;
// false when the subscriber cancelled.
func (st *stream[T]) send(e store.Event) bool {
	if e.Seq <= st.after {
		return true
	}
	ev, ok := st.decode(e)
	if !ok {
		st.after = e.Seq // skipped: never read again
		return true
	}
	select {
	case st.out <- ev:
		st.after = e.Seq
		return true
	case <-st.done:
		return false
	}
}

// replay sends the journal's events after the cursor up to upto, in
// chunks; false when the subscriber cancelled.
func (st *stream[T]) replay(upto uint64) bool {
	for st.after < upto {
		var evs []store.Event
		err := st.b.st.View(func(tx *store.Tx) error {
			var err error
			evs, err = tx.Events(st.after, upto, 256)
			return err
		})
		if err != nil || len(evs) == 0 {
			return true
		}
		for _, e := range evs {
			if !st.send(e) {
				return false
			}
		}
		if evs[len(evs)-1].Seq >= upto {
			return true
		}
	}
	return true
}

// live sends what is published, until cancel or an overflow.
func (st *stream[T]) live() {
	for {
		st.s.mu.Lock()
		q, over := st.s.queue, st.s.overflow
		st.s.queue = nil
		st.s.mu.Unlock()
		if over {
			return
		}
		for _, e := range q {
			if !st.send(e) {
				return
			}
		}
		select {
		case <-st.s.wake:
		case <-st.done:
			return
		}
	}
}
