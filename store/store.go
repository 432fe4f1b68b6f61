package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SchemaVersion is the journal layout version written in the meta bucket.
const SchemaVersion = 1

// Sentinel errors; test with errors.Is.
var (
	// ErrLocked: another process holds the journal file.
	ErrLocked = errors.New("store: journal in use")
	// ErrCorrupt: the file is not a readable journal; it was left untouched.
	ErrCorrupt = errors.New("store: journal unreadable")
	// ErrNotFound: no such record.
	ErrNotFound = errors.New("store: not found")
	// ErrDuplicate: an order id is already used by another payment.
	ErrDuplicate = errors.New("store: duplicate order id")
	// ErrRolledBack: the journal is behind its high-water mark (it went
	// back in time or was replaced); it was left untouched.
	ErrRolledBack = errors.New("store: journal rolled back")
)

var (
	bPayments = []byte("payments")
	bOrders   = []byte("orders")
	bIdem     = []byte("idem")
	bOutbox   = []byte("outbox")
	bEvents   = []byte("events")
	bMeta     = []byte("meta")
	allBkts   = [][]byte{bPayments, bOrders, bIdem, bOutbox, bEvents, bMeta}
)

// Store is an open journal. It is safe for concurrent use.
type Store struct {
	db       *bolt.DB
	path     string
	onCommit func([]Event)
	log      *slog.Logger
	keys     *keyring
	mark     *markFile
	id       string // the journal's id (meta journal_id)
	clock    func() time.Time
	keyEvery time.Duration
	// wmu serialises Update so that OnCommit sees events in commit order.
	wmu sync.Mutex
	// bmu guards backup.
	bmu    sync.Mutex
	backup BackupStatus
}

// Close closes the file.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", s.path, err)
	}
	// The last mark is written after the last commit.
	return s.mark.close()
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

// Size is the journal's size in bytes as bbolt sees it.
func (s *Store) Size() int64 {
	var n int64
	_ = s.db.View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return n
}

// Check verifies the consistency of the file (bbolt's tx.Check).
func (s *Store) Check() error {
	return s.db.View(func(tx *bolt.Tx) error {
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

// Update runs fn in one read-write transaction, committed with fsync. The
// events fn appended are passed to Options.OnCommit after the commit.
func (s *Store) Update(fn func(tx *Tx) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var t *Tx
	var m Mark
	err := s.db.Update(func(btx *bolt.Tx) error {
		t = &Tx{tx: btx, keys: s.keys}
		if err := fn(t); err != nil {
			return err
		}
		m = Mark{JournalID: s.id, Seq: btx.Bucket(bEvents).Sequence(), TxID: uint64(btx.ID()), At: s.now()}
		return nil
	})
	if err != nil {
		return err
	}
	s.mark.post(m)
	if s.onCommit != nil && len(t.events) > 0 {
		s.onCommit(t.events)
	}
	return nil
}

// View runs fn in a read-only transaction.
func (s *Store) View(fn func(tx *Tx) error) error {
	return s.db.View(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx, keys: s.keys}) })
}

// Tx is a journal transaction. It is valid only inside the closure.
type Tx struct {
	tx     *bolt.Tx
	keys   *keyring
	events []Event
}

func u64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

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
		if code, err := t.keys.open(r.Sealed, p.ID); err == nil {
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
		sealed, err := t.keys.seal(p.AuthCode, p.ID)
		if err != nil {
			return fmt.Errorf("store: payment %s: %w", p.ID, err)
		}
		rec.Sealed = sealed
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("store: payment %s: encode: %w", p.ID, err)
	}
	return t.tx.Bucket(bPayments).Put([]byte(p.ID), b)
}

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
		k, v = c.Seek([]byte(after))
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

// Idem reads an idempotency key (ErrNotFound when unknown).
func (t *Tx) Idem(key string) (*Idem, error) {
	v := t.tx.Bucket(bIdem).Get([]byte(key))
	if v == nil {
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
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return t.tx.Bucket(bIdem).Put([]byte(key), b)
}

// AddJob queues a job; it sets j.Seq.
func (t *Tx) AddJob(j *Job) error {
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
	return t.tx.Bucket(bOutbox).Put(u64(j.Seq), v)
}

// DeleteJob removes a done job.
func (t *Tx) DeleteJob(seq uint64) error {
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
	b := t.tx.Bucket(bEvents)
	seq, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	data, err := build(seq)
	if err != nil {
		return 0, err
	}
	if err := b.Put(u64(seq), data); err != nil {
		return 0, err
	}
	t.events = append(t.events, Event{Seq: seq, Data: data})
	return seq, nil
}

// LastEventSeq is the highest event sequence ever assigned.
func (t *Tx) LastEventSeq() uint64 { return t.tx.Bucket(bEvents).Sequence() }

// Events returns up to limit events with seq in (after, upto] (upto 0: no
// upper bound; limit <= 0: no limit).
func (t *Tx) Events(after, upto uint64, limit int) ([]Event, error) {
	var out []Event
	c := t.tx.Bucket(bEvents).Cursor()
	for k, v := c.Seek(u64(after + 1)); k != nil; k, v = c.Next() {
		seq := binary.BigEndian.Uint64(k)
		if upto != 0 && seq > upto {
			break
		}
		out = append(out, Event{Seq: seq, Data: bytes.Clone(v)})
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
	err := s.Update(func(t *Tx) error {
		busy := map[string]bool{}
		jobs, err := t.Jobs()
		if err != nil {
			return err
		}
		for _, j := range jobs {
			busy[j.PaymentID] = true
		}
		gone := map[string]bool{}
		var victims []*Payment
		err = t.ForEachPayment(false, "", func(p *Payment) (bool, error) {
			if !p.State.Final() || busy[p.ID] || !p.UpdatedAt.Before(olderThan) {
				return true, nil
			}
			for _, r := range p.Refunds {
				if !r.State.Final() {
					return true, nil
				}
			}
			victims = append(victims, p)
			return true, nil
		})
		if err != nil {
			return err
		}
		pb, ob := t.tx.Bucket(bPayments), t.tx.Bucket(bOrders)
		for _, p := range victims {
			gone[p.ID] = true
			if err := pb.Delete([]byte(p.ID)); err != nil {
				return err
			}
			ob.Delete([]byte(p.OrderID))
			for _, r := range p.Refunds {
				ob.Delete([]byte(r.OrderID))
			}
			res.Payments++
		}
		// Idempotency keys of removed payments, and old keys of any payment.
		ib := t.tx.Bucket(bIdem)
		var idemDel [][]byte
		ib.ForEach(func(k, v []byte) error {
			var r Idem
			if json.Unmarshal(v, &r) != nil || gone[r.PaymentID] || r.CreatedAt.Before(olderThan) {
				idemDel = append(idemDel, bytes.Clone(k))
			}
			return nil
		})
		for _, k := range idemDel {
			ib.Delete(k)
			res.IdemKeys++
		}
		eb := t.tx.Bucket(bEvents)
		var evDel [][]byte
		c := eb.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var e struct {
				At time.Time `json:"at"`
			}
			if json.Unmarshal(v, &e) == nil && !e.At.IsZero() && !e.At.Before(olderThan) {
				break // events are in time order
			}
			evDel = append(evDel, bytes.Clone(k))
		}
		for _, k := range evDel {
			eb.Delete(k)
			res.Events++
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("store: compact: %w", err)
	}
	return res, nil
}
