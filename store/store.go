package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/posagent/posagent/store/check"
	"github.com/posagent/posagent/store/hwm"
	"github.com/posagent/posagent/store/record"
	"github.com/posagent/posagent/store/seal"
	bolt "go.etcd.io/bbolt"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrLocked: another process holds the journal file.
	ErrLocked = check.ErrLocked
	// ErrCorrupt: the file is not a readable journal; it was left untouched.
	ErrCorrupt = check.ErrCorrupt
	// ErrNotFound: no such record.
	ErrNotFound = errors.New("store: not found")
	// ErrDuplicate: an order id is already used by another payment.
	ErrDuplicate = errors.New("store: duplicate order id")
	// ErrRolledBack: the journal is behind its high-water mark (it went
	// back in time or was replaced); it was left untouched.
	ErrRolledBack = check.ErrRolledBack
)

// The buckets (record/layout.go).
var (
	bPayments = record.BucketPayments
	bOrders   = record.BucketOrders
	bIdem     = record.BucketIdem
	bOutbox   = record.BucketOutbox
	bEvents   = record.BucketEvents
	bMeta     = record.BucketMeta
	allBkts   = record.CoreBuckets
)

// Store is an open journal. It is safe for concurrent use.
type Store struct {
	// cur is the bbolt handle in use (dbref.go); online compaction
	// replaces it.
	cur      atomic.Pointer[dbRef]
	retiring sync.WaitGroup // replaced handles not closed yet
	path     string
	onCommit func([]Event)
	log      *slog.Logger
	keys     *seal.Ring
	mark     *hwm.File
	id       string // the journal's id (meta journal_id)
	clock    func() time.Time
	keyEvery time.Duration
	// wmu is held by the committer (commit): one transaction at a time,
	// so OnCommit sees events in commit order.
	wmu sync.Mutex
	// qmu guards queue: changes waiting for a committer.
	qmu   sync.Mutex
	queue []*change
	// bmu guards backup.
	bmu    sync.Mutex
	backup BackupStatus
	// integ: how far the journal was checked (bgcheck.go).
	integ integrity
	// lastCommit: the clock's unix nanoseconds at the last commit (the
	// online compaction waits for a quiet journal).
	lastCommit atomic.Int64
	// failed is set (wmu held) when a commit failed after it may have
	// reached the disk: from then on no change is committed (ErrFailed)
	// until the journal is opened again and read as it is.
	failed error
	fmu    sync.Mutex // guards failed for Failed (a commit holds wmu)
	noSync bool
	// guardRetention: Compact removes only what a Z report, a verified
	// backup and the feed hold (retention.go).
	guardRetention bool
	// hook, when set (tests), is called at each step of the online
	// compaction (online.go); an error stops it there.
	hook func(step string) error
	// closeOnce runs Close once; closeErr is what it returned.
	closeOnce sync.Once
	closeErr  error
}

// Close closes the file (stopping a check RunCheck is making). It may be
// called more than once: the calls after the first return its result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

// close is Close's one run: a second Close (a deferred one after an
// explicit one, say) returns the first's result instead of closing the
// mark file's channel again.
func (s *Store) close() error {
	s.stopCheck()
	// The writer's lock: a commit or an online compaction under way (it
	// holds the lock from the copy to the swap) ends before the file closes.
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.retiring.Wait()
	if err := s.cur.Load().db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", s.path, err)
	}
	// The last mark is written after the last commit.
	return s.mark.Close()
}

// SetOnCommit replaces Options.OnCommit (the engine installs its event
// hook on a store the caller opened).
func (s *Store) SetOnCommit(fn func(events []Event)) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.onCommit = fn
}

// Path is the journal's file path.
func (s *Store) Path() string { return s.path }

// Logger is the logger the journal writes to (Options.Logger), for the
// work done on it from outside (the daemon's maintenance schedule).
func (s *Store) Logger() *slog.Logger { return s.log }

// Size is the journal's size in bytes as bbolt sees it.
func (s *Store) Size() int64 {
	var n int64
	_ = s.withDB(func(db *bolt.DB) error { return db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil }) })
	return n
}

// Usage is how the journal file's bytes are used (check.Usage).
type Usage = check.Usage

// Usage measures the journal: one read transaction over every record
// (check.Measure).
func (s *Store) Usage() (Usage, error) {
	r := s.acquire()
	defer r.release()
	return check.Measure(r.db)
}

// Check verifies the consistency of the file (bbolt's tx.Check).
func (s *Store) Check() error {
	r := s.acquire()
	defer r.release()
	return r.db.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		if len(errs) > 0 {
			return fmt.Errorf("store: check %s: %w", s.path, errors.Join(errs...))
		}
		return nil
	})
}

// Update runs fn in a read-write transaction committed with fsync, and
// returns once that commit is on disk. The events fn appended are passed
// to Options.OnCommit after the commit, before Update returns.
//
// Group commit: changes from concurrent callers share one transaction and
// one fsync. They run one after another, in the order they arrived, so
// each sees every earlier change (Tx.Uncommitted lists the events of those
// not yet committed), and OnCommit gets their events in sequence order. A
// change that fails without writing is left out; one that fails after
// writing undoes the whole transaction, and the others run again in a new
// one: fn may run more than once, so it must not act outside tx except to
// keep what it read (the caller sees the results of its last run).
func (s *Store) Update(fn func(tx *Tx) error) error { return s.commit(fn, false) }

// updateSolo is Update in a transaction of its own (maintenance that is
// large or counts what it does).
func (s *Store) updateSolo(fn func(tx *Tx) error) error { return s.commit(fn, true) }

// maxBatch bounds the changes in one transaction.
const maxBatch = 256

// change is one caller's fn waiting for a commit.
type change struct {
	fn   func(*Tx) error
	solo bool
	// Set by the committer while it holds wmu.
	done bool
	err  error
}

// errRedo: a change failed after writing; the transaction is undone.
var errRedo = errors.New("store: redo the batch")

// ErrFailed: a commit failed while writing or syncing the file (a disk
// error, a full disk). Whether that commit reached the disk is not known:
// bbolt may have written its meta page before the error, and after a
// failed fsync the kernel may have dropped the dirty pages, so a later
// commit could overwrite it or succeed on a lie. The store takes no more
// changes; the agent must be restarted, and the journal is then read as
// it is on disk (a change the caller retries with the same idempotency
// key is then either found or made, never made twice).
var ErrFailed = errors.New("store: the journal takes no change after a failed commit whose outcome on disk is unknown; restart the agent")

// Failed returns the commit error that stopped the journal taking
// changes (ErrFailed), or nil.
func (s *Store) Failed() error {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.failed
}

// commit queues fn and waits until it is committed. Whoever holds wmu
// commits everything queued so far (leader); the others find their change
// done when they get wmu in turn.
func (s *Store) commit(fn func(*Tx) error, solo bool) error {
	c := &change{fn: fn, solo: solo}
	s.qmu.Lock()
	s.queue = append(s.queue, c)
	s.qmu.Unlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	for !c.done {
		s.qmu.Lock()
		n := min(len(s.queue), maxBatch)
		batch := s.queue[:n:n]
		s.queue = s.queue[n:]
		s.qmu.Unlock()
		for len(batch) > 0 {
			// A run of shared changes, or one solo change.
			k := 1
			for !batch[0].solo && k < len(batch) && !batch[k].solo {
				k++
			}
			s.commitGroup(batch[:k])
			batch = batch[k:]
		}
	}
	return c.err
}

// commitGroup commits changes in one transaction (wmu held).
func (s *Store) commitGroup(group []*change) {
	defer func() {
		if r := recover(); r != nil {
			for _, c := range group {
				if !c.done {
					c.done, c.err = true, fmt.Errorf("store: commit abandoned: another change in its transaction panicked: %v", r)
				}
			}
			panic(r)
		}
	}()
	for len(group) > 0 {
		if s.failed != nil {
			for _, c := range group {
				c.done, c.err = true, s.failed
			}
			return
		}
		var (
			m      Mark
			events []Event
			ok     []*change
			redo   *change
		)
		r := s.acquire() // wmu held: not replaced meanwhile
		err := r.db.Update(func(btx *bolt.Tx) error {
			shared := &batchState{}
			for _, c := range group {
				t := &Tx{tx: btx, keys: s.keys, batch: shared}
				c.err = c.fn(t)
				if c.err != nil {
					if t.wrote {
						redo = c
						return errRedo
					}
					continue
				}
				ok = append(ok, c)
				shared.events = append(shared.events, t.events...)
			}
			events = shared.events
			m = Mark{JournalID: s.id, Seq: btx.Bucket(bEvents).Sequence(), TxID: uint64(btx.ID()), At: s.now()}
			return nil
		})
		r.release()
		if redo != nil {
			// Answer the change that failed; run the others again.
			redo.done = true
			rest := make([]*change, 0, len(group)-1)
			for _, c := range group {
				if c != redo {
					c.err = nil
					rest = append(rest, c)
				}
			}
			group = rest
			continue
		}
		for _, c := range ok {
			c.err = err // nil, or the commit failed
		}
		for _, c := range group {
			c.done = true
		}
		if err != nil {
			// The commit itself failed (the changes' own errors were
			// answered above): its outcome on disk is unknown.
			s.fmu.Lock()
			s.failed = fmt.Errorf("%w (%w)", ErrFailed, err)
			s.fmu.Unlock()
			for _, c := range ok {
				c.err = s.failed
			}
			s.log.Error("store: a commit failed; the journal takes no more changes until the agent restarts", "err", err)
			return
		}
		s.mark.Post(m)
		s.lastCommit.Store(m.At.UnixNano())
		if s.onCommit != nil && len(events) > 0 {
			s.onCommit(events)
		}
		return
	}
}

// batchState is shared by the changes of one transaction.
type batchState struct {
	events []Event // appended by the changes that succeeded so far
}

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(tx *Tx) error) error {
	r := s.acquire()
	defer r.release()
	return r.db.View(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx, keys: s.keys}) })
}

// Tx is a journal transaction. It is valid only inside the closure.
type Tx struct {
	tx     *bolt.Tx
	keys   *seal.Ring
	events []Event
	batch  *batchState // nil outside Update
	wrote  bool        // a write was attempted (the change cannot be left out alone)
}

// w notes a write and returns the bbolt transaction.
func (t *Tx) w() *bolt.Tx {
	t.wrote = true
	return t.tx
}

// Uncommitted lists the events appended in this write transaction and not
// yet committed: those of earlier changes sharing it (Update's group
// commit), then this change's own, in sequence order. OnCommit has not
// seen them.
func (t *Tx) Uncommitted() []Event {
	if t.batch == nil {
		return t.events
	}
	return append(t.batch.events[:len(t.batch.events):len(t.batch.events)], t.events...)
}

func u64(n uint64) []byte { return record.U64(n) }

// Payment reads one payment.
func (t *Tx) Payment(id string) (*Payment, error) {
	v := t.tx.Bucket(bPayments).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("store: payment %s: %w", id, ErrNotFound)
	}
	return t.decodePayment(id, v)
}

// decodePayment decodes a stored payment and opens its sealed code. A code
// whose key was destroyed reads as "" (the payment is open only when its
// key was lost with the key file, or after a restore).
func (t *Tx) decodePayment(id string, v []byte) (*Payment, error) {
	r, err := decodePayment(v)
	if err != nil {
		return nil, fmt.Errorf("store: payment %s: decode: %w", id, err)
	}
	p := r.Payment
	switch {
	case r.Sealed != "" && t.keys != nil:
		if code, err := t.keys.Open(r.Sealed, p.ID); err == nil {
			p.AuthCode = code
		}
	case r.AuthCode != "":
		p.AuthCode = r.AuthCode // a journal from before codes were sealed
	}
	return p, nil
}

// PaymentIDByOrder returns the payment that owns orderID (a payment's or a
// refund's order id).
func (t *Tx) PaymentIDByOrder(orderID string) (string, error) {
	v := t.tx.Bucket(bOrders).Get([]byte(orderID))
	if v == nil {
		return "", fmt.Errorf("store: order %s: %w", orderID, ErrNotFound)
	}
	return string(v), nil
}

// OrderUsed reports whether an order id is already taken.
func (t *Tx) OrderUsed(orderID string) bool {
	return t.tx.Bucket(bOrders).Get([]byte(orderID)) != nil
}

// PutPayment writes p and indexes its order ids (and its refunds'). When p
// is final its payment code is erased in this same transaction.
func (t *Tx) PutPayment(p *Payment) error {
	t.wrote = true
	if p.State.Final() {
		p.AuthCode = ""
	}
	orders := t.tx.Bucket(bOrders)
	index := func(oid string) error {
		if oid == "" {
			return nil
		}
		if v := orders.Get([]byte(oid)); v != nil {
			if string(v) != p.ID {
				return fmt.Errorf("store: order %s: %w", oid, ErrDuplicate)
			}
			return nil
		}
		return orders.Put([]byte(oid), []byte(p.ID))
	}
	if err := index(p.OrderID); err != nil {
		return err
	}
	for _, r := range p.Refunds {
		if err := index(r.OrderID); err != nil {
			return err
		}
	}
	rec := paymentRecord{Payment: p}
	if p.AuthCode != "" {
		if t.keys == nil {
			return fmt.Errorf("store: payment %s: no data key to seal its code", p.ID)
		}
		sealed, err := t.keys.Seal(p.AuthCode, p.ID)
		if err != nil {
			return fmt.Errorf("store: payment %s: %w", p.ID, err)
		}
		rec.Sealed = sealed
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("store: payment %s: encode: %w", p.ID, err)
	}
	var old State
	if ps := t.tx.Bucket(bPayState); ps != nil {
		old = State(ps.Get([]byte(p.ID)))
	}
	if err := t.indexPayment(p.ID, old, p.State); err != nil {
		return err
	}
	if rec.Sealed == "" {
		// Packed (record/codec.go); a record that seals a code stays plain
		// JSON, so a sealed code is in the file only as itself: what the
		// key destruction shreds is there to be seen.
		b = record.PackPayment(b)
	}
	pb := t.tx.Bucket(bPayments)
	pb.FillPercent = appendFill
	return pb.Put([]byte(p.ID), b)
}

// appendFill is how full bbolt packs a page it splits in the buckets
// whose keys only grow (events by sequence, payments by their
// time-ordered ids): bbolt's default, half, suits random inserts and left
// these buckets half empty. Payments are rewritten while they are new, so
// theirs leaves a little room.
const (
	appendFill = 0.9
	appendFull = 1.0
)

// ForEachPayment calls fn for each payment, oldest first (reverse: newest
// first), starting after the id `after` when it is not empty. fn returns
// false to stop.
func (t *Tx) ForEachPayment(reverse bool, after string, fn func(p *Payment) (bool, error)) error {
	c := t.tx.Bucket(bPayments).Cursor()
	var k, v []byte
	switch {
	case after == "" && !reverse:
		k, v = c.First()
	case after == "" && reverse:
		k, v = c.Last()
	case !reverse:
		k, v = c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
	default:
		k, _ = c.Seek([]byte(after))
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev() // the key before "after" (Seek lands on >= after)
		}
	}
	for k != nil {
		p, err := t.decodePayment(string(k), v)
		if err != nil {
			return err
		}
		more, err := fn(p)
		if err != nil || !more {
			return err
		}
		if reverse {
			k, v = c.Prev()
		} else {
			k, v = c.Next()
		}
	}
	return nil
}

// Idem reads an idempotency key (ErrNotFound when unknown, ErrIdemExpired
// when it expired: ExpireIdem).
func (t *Tx) Idem(key string) (*Idem, error) {
	v := t.tx.Bucket(bIdem).Get([]byte(key))
	if v == nil {
		if t.idemGone(key) {
			return nil, fmt.Errorf("store: idempotency key: %w", ErrIdemExpired)
		}
		return nil, fmt.Errorf("store: idempotency key: %w", ErrNotFound)
	}
	var r Idem
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("store: idempotency key: decode: %w", err)
	}
	return &r, nil
}

// PutIdem stores an idempotency key.
func (t *Tx) PutIdem(key string, r *Idem) error {
	t.wrote = true
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if err := t.noteIdemAt(r.CreatedAt); err != nil {
		return err
	}
	return t.tx.Bucket(bIdem).Put([]byte(key), b)
}

// AddJob queues a job; it sets j.Seq.
func (t *Tx) AddJob(j *Job) error {
	t.wrote = true
	b := t.tx.Bucket(bOutbox)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	j.Seq = seq
	return t.PutJob(j)
}

// PutJob rewrites a job (after an attempt), keeping the due index.
func (t *Tx) PutJob(j *Job) error {
	t.wrote = true
	v, err := json.Marshal(j)
	if err != nil {
		return err
	}
	old, err := t.Job(j.Seq)
	if errors.Is(err, ErrNotFound) {
		old, err = nil, nil
	}
	if err != nil {
		return err
	}
	if err := t.indexDue(old, j); err != nil {
		return err
	}
	if err := t.indexStats(old, j); err != nil {
		return err
	}
	return t.tx.Bucket(bOutbox).Put(u64(j.Seq), v)
}

// DeleteJob removes a done job; a job already gone is no error.
func (t *Tx) DeleteJob(seq uint64) error {
	t.wrote = true
	old, err := t.Job(seq)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := t.indexDue(old, nil); err != nil {
		return err
	}
	if err := t.indexStats(old, nil); err != nil {
		return err
	}
	return t.tx.Bucket(bOutbox).Delete(u64(seq))
}

// Job reads one job.
func (t *Tx) Job(seq uint64) (*Job, error) {
	v := t.tx.Bucket(bOutbox).Get(u64(seq))
	if v == nil {
		return nil, fmt.Errorf("store: job %d: %w", seq, ErrNotFound)
	}
	var j Job
	if err := json.Unmarshal(v, &j); err != nil {
		return nil, fmt.Errorf("store: job %d: decode: %w", seq, err)
	}
	return &j, nil
}

// JobCount is the number of jobs in the outbox, counted without decoding
// them.
func (t *Tx) JobCount() int { return t.tx.Bucket(bOutbox).Stats().KeyN }

// Jobs lists the outbox in creation order.
func (t *Tx) Jobs() ([]*Job, error) {
	var out []*Job
	err := t.tx.Bucket(bOutbox).ForEach(func(k, v []byte) error {
		var j Job
		if err := json.Unmarshal(v, &j); err != nil {
			return fmt.Errorf("store: job %x: decode: %w", k, err)
		}
		out = append(out, &j)
		return nil
	})
	return out, err
}

// AppendEvent appends one event; build receives its sequence number and
// returns its JSON. The event is announced (OnCommit) after the commit.
func (t *Tx) AppendEvent(build func(seq uint64) ([]byte, error)) (uint64, error) {
	return t.AppendEventWith(nil, build)
}

// AppendEventWith is AppendEvent, handing v (not stored) to OnCommit with
// the event (Event.Value): what the event is about, as the caller had it
// in hand, so that OnCommit need not decode the event.
func (t *Tx) AppendEventWith(v any, build func(seq uint64) ([]byte, error)) (uint64, error) {
	return t.AppendEventAbout("", v, build)
}

// AppendEventAbout is AppendEventWith for an event about thing (a payment
// id): the journal stores it as a delta of the last event about the same
// thing when that is smaller (eventdelta.go). Every read gives back the
// bytes build returned.
func (t *Tx) AppendEventAbout(thing string, v any, build func(seq uint64) ([]byte, error)) (uint64, error) {
	b := t.w().Bucket(bEvents)
	b.FillPercent = appendFull
	seq, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	data, err := build(seq)
	if err != nil {
		return 0, err
	}
	stored := data
	if thing != "" {
		if stored, err = t.deltaOf(thing, seq, data); err != nil {
			return 0, err
		}
	}
	if err := b.Put(u64(seq), record.PackEvent(stored)); err != nil {
		return 0, err
	}
	t.events = append(t.events, Event{Seq: seq, Data: data, Value: v})
	return seq, nil
}

// LastEventSeq is the highest event sequence ever assigned.
func (t *Tx) LastEventSeq() uint64 { return t.tx.Bucket(bEvents).Sequence() }

// Events returns up to limit events with seq in (after, upto] (upto 0: no
// upper bound; limit <= 0: no limit).
func (t *Tx) Events(after, upto uint64, limit int) ([]Event, error) {
	var out []Event
	c := t.tx.Bucket(bEvents).Cursor()
	r := t.eventReader()
	for k, v := c.Seek(u64(after + 1)); k != nil; k, v = c.Next() {
		seq := binary.BigEndian.Uint64(k)
		if upto != 0 && seq > upto {
			break
		}
		full, err := r.Full(seq, v)
		if err != nil {
			continue // its base was lost with a damaged page (salvage drops it)
		}
		out = append(out, Event{Seq: seq, Data: bytes.Clone(full)})
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	return out, nil
}

// CompactResult says what Compact removed.
type CompactResult struct {
	Payments, Events, IdemKeys int
}

// Compact removes final payments whose last change is before olderThan and
// that have no outbox job left (refunds, receipts and queries all done or
// given up), with their order-index entries and idempotency keys; and events
// older than olderThan. It returns what it removed.
func (s *Store) Compact(olderThan time.Time) (CompactResult, error) {
	var res CompactResult
	err := s.updateSolo(func(t *Tx) error {
		res = CompactResult{}
		t.wrote = true
		var g *retentionGuard
		if s.guardRetention {
			g = t.retentionGuard()
		}
		gone, err := t.compactPayments(olderThan, g, &res)
		if err != nil {
			return err
		}
		if g == nil || len(gone) > 0 || t.paymentsBefore(olderThan) {
			// (Guarded, nothing removed and no payment that old: no key
			// that old either; the keys are not read, a start stays cheap.)
			if err := t.compactIdem(olderThan, gone, &res); err != nil {
				return err
			}
		}
		return t.compactEvents(olderThan, g, &res)
	})
	if err != nil {
		return res, fmt.Errorf("store: compact: %w", err)
	}
	return res, nil
}

// paymentsBefore reports whether a payment created before at is in the
// journal.
func (t *Tx) paymentsBefore(at time.Time) bool {
	k, _ := t.tx.Bucket(bPayments).Cursor().First()
	return k != nil && string(k) < IDAt(at)
}

// compactPayments removes the final payments Compact removes, with their
// order-index entries, and returns their ids. With a guard (guarded
// retention, retention.go) it reads only the payments created before
// olderThan, and removes those the guard allows.
func (t *Tx) compactPayments(olderThan time.Time, g *retentionGuard, res *CompactResult) (map[string]bool, error) {
	busy := map[string]bool{}
	jobs, err := t.Jobs()
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		busy[j.PaymentID] = true
	}
	var victims []*Payment
	end := IDAt(olderThan)
	err = t.ForEachPayment(false, "", func(p *Payment) (bool, error) {
		if g != nil && p.ID >= end {
			return false, nil // ids follow creation: none later was updated before olderThan
		}
		if !p.State.Final() || busy[p.ID] || !p.UpdatedAt.Before(olderThan) {
			return true, nil
		}
		for _, r := range p.Refunds {
			if !r.State.Final() {
				return true, nil
			}
		}
		if g != nil && !g.allows(p) {
			return true, nil
		}
		victims = append(victims, p)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	gone := map[string]bool{}
	pb, ob := t.tx.Bucket(bPayments), t.tx.Bucket(bOrders)
	for _, p := range victims {
		gone[p.ID] = true
		if err := pb.Delete([]byte(p.ID)); err != nil {
			return nil, err
		}
		if err := t.indexPayment(p.ID, p.State, ""); err != nil {
			return nil, err
		}
		ob.Delete([]byte(p.OrderID))
		for _, r := range p.Refunds {
			ob.Delete([]byte(r.OrderID))
		}
		if el := t.tx.Bucket(bEvLast); el != nil {
			el.Delete([]byte(p.ID))
		}
		res.Payments++
	}
	return gone, nil
}

// compactIdem removes the idempotency keys of removed payments, and old
// keys of any payment.
func (t *Tx) compactIdem(olderThan time.Time, gone map[string]bool, res *CompactResult) error {
	n, err := deleteWhere(t.tx.Bucket(bIdem), func(_, v []byte) bool {
		var r Idem
		return json.Unmarshal(v, &r) != nil || gone[r.PaymentID] || r.CreatedAt.Before(olderThan)
	})
	res.IdemKeys += n
	if err != nil {
		return err
	}
	return t.compactIdemGone(olderThan)
}

// deleteWhere deletes the records of b for which drop holds (collected
// first: bbolt's cursor must not delete under ForEach) and counts them.
func deleteWhere(b *bolt.Bucket, drop func(k, v []byte) bool) (int, error) {
	var del [][]byte
	err := b.ForEach(func(k, v []byte) error {
		if drop(k, v) {
			del = append(del, bytes.Clone(k))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for i, k := range del {
		if err := b.Delete(k); err != nil {
			return i, err
		}
	}
	return len(del), nil
}

// compactEvents removes the events older than olderThan (with a guard:
// and within its bound); a kept event
// that is a delta of one removed (through its chain) is stored in full
// first.
func (t *Tx) compactEvents(olderThan time.Time, g *retentionGuard, res *CompactResult) error {
	eb := t.tx.Bucket(bEvents)
	var evDel [][]byte
	c := eb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if g != nil && binary.BigEndian.Uint64(k) > g.bound {
			break // not in a verified backup, or not acknowledged by the feed
		}
		var e struct {
			At time.Time `json:"at"`
		}
		if v, err := record.UnpackEvent(v); err == nil && json.Unmarshal(v, &e) == nil && !e.At.IsZero() && !e.At.Before(olderThan) {
			break // events are in time order
		}
		evDel = append(evDel, bytes.Clone(k))
	}
	if len(evDel) > 0 {
		cut := binary.BigEndian.Uint64(evDel[len(evDel)-1])
		if err := t.fullFrom(cut); err != nil {
			return err
		}
		if err := t.compactAudit(cut); err != nil {
			return err
		}
	}
	for _, k := range evDel {
		eb.Delete(k)
		res.Events++
	}
	return nil
}
