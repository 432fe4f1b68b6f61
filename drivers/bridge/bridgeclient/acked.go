package bridgeclient

import (
	"container/list"
	"sync"
)

// AckedStore remembers the ids of print jobs the helper has printed, so a
// job sent again (its ack was lost with the connection) is acknowledged
// without printing it twice. On Android it must survive a restart of the
// helper (a small file or SharedPreferences); NewLRU is the in-memory form.
// Methods are called from one goroutine at a time, but may be shared.
type AckedStore interface {
	Has(jobID string) bool
	Add(jobID string) error
}

// LRU is a bounded, in-memory AckedStore: it remembers the most recent n ids.
// It is safe for concurrent use.
type LRU struct {
	n int

	// mu guards order and index.
	mu    sync.Mutex
	order *list.List // front: most recent
	index map[string]*list.Element
}

// NewLRU returns an LRU remembering up to n job ids (n < 1 means 1024). The
// bound must cover the jobs the agent may still retry: its outbox retries a
// receipt for hours at most, a busy lane prints a few hundred receipts a day.
func NewLRU(n int) *LRU {
	if n < 1 {
		n = 1024
	}
	return &LRU{n: n, order: list.New(), index: map[string]*list.Element{}}
}

// Has reports whether id was added and not yet evicted; it refreshes id.
func (l *LRU) Has(id string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.index[id]
	if ok {
		l.order.MoveToFront(e)
	}
	return ok
}

// Add remembers id, evicting the least recently used beyond the bound.
func (l *LRU) Add(id string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.index[id]; ok {
		l.order.MoveToFront(e)
		return nil
	}
	l.index[id] = l.order.PushFront(id)
	for l.order.Len() > l.n {
		last := l.order.Back()
		l.order.Remove(last)
		delete(l.index, last.Value.(string))
	}
	return nil
}

// Len returns how many ids are remembered.
func (l *LRU) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}

// oldestFirst returns the remembered ids, least recently used first.
func (l *LRU) oldestFirst() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, l.order.Len())
	for e := l.order.Back(); e != nil; e = e.Prev() {
		out = append(out, e.Value.(string))
	}
	return out
}
