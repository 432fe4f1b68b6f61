package hq

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/posagent/posagent/feed"
)

// Buckets of the books file:
//
//	events    lane \x00 feed id \x00 seq (8 bytes) -> digest
//	lanes     lane -> LaneState JSON
//	payments  lane \x00 payment id -> Payment JSON (the latest state)
//	zreports  lane \x00 z (8 bytes) -> ZReport JSON
//	aside     received (8 bytes, a counter) -> AsideMsg JSON
var (
	bEvents   = []byte("events")
	bLanes    = []byte("lanes")
	bPayments = []byte("payments")
	bZ        = []byte("zreports")
	bAside    = []byte("aside")
)

// Books is the chain's books. Safe for concurrent use.
type Books struct {
	db  *bolt.DB
	now func() time.Time
}

// Open opens (or makes) the books file at path.
func Open(path string, now func() time.Time) (*Books, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("hq: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bEvents, bLanes, bPayments, bZ, bAside} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("hq: open %s: %w", path, err)
	}
	if now == nil {
		now = time.Now
	}
	return &Books{db: db, now: now}, nil
}

// Close closes the file.
func (b *Books) Close() error { return b.db.Close() }

// LaneState is what the books know of one lane.
type LaneState struct {
	feed.Identity
	Agent    string    `json:"agent"`
	LastSeq  uint64    `json:"last_seq"`
	LastKind string    `json:"last_kind"`
	LastAt   time.Time `json:"last_at"`
	// ReceivedAt is when the last event arrived; Lag the delay between
	// the event and its arrival.
	ReceivedAt time.Time `json:"received_at"`
	LagSeconds float64   `json:"lag_seconds"`
	Events     uint64    `json:"events"`
	Duplicates uint64    `json:"duplicates"`
	// Conflicts counts events received twice under the same (feed id,
	// sequence) with different content (kept aside).
	Conflicts uint64 `json:"conflicts"`
	// OpenShift is the lane's open shift (0 none).
	OpenShift uint64 `json:"open_shift"`
	// Journals are the lane's feed ids (a journal and its epochs).
	Journals map[string]*JournalState `json:"journals"`
}

// JournalState is one feed id of a lane: its highest sequence and the
// sequences below it not received (gaps).
type JournalState struct {
	High    uint64      `json:"high"`
	Missing [][2]uint64 `json:"missing,omitempty"` // inclusive ranges
}

// Gaps counts the missing sequences of every journal of the lane.
func (l *LaneState) Gaps() uint64 {
	var n uint64
	for _, j := range l.Journals {
		for _, r := range j.Missing {
			n += r[1] - r[0] + 1
		}
	}
	return n
}

// note records seq in j (gaps opened or filled).
func (j *JournalState) note(seq uint64, first bool) {
	switch {
	case seq > j.High:
		if !first && seq > j.High+1 {
			j.Missing = append(j.Missing, [2]uint64{j.High + 1, seq - 1})
		}
		j.High = seq
	default:
		var out [][2]uint64
		for _, r := range j.Missing {
			switch {
			case seq < r[0] || seq > r[1]:
				out = append(out, r)
			default:
				if seq > r[0] {
					out = append(out, [2]uint64{r[0], seq - 1})
				}
				if seq < r[1] {
					out = append(out, [2]uint64{seq + 1, r[1]})
				}
			}
		}
		j.Missing = out
	}
}

// Result counts what Apply did with a batch.
type Result struct {
	Added, Duplicates, Aside int
}

// AsideMsg is a message kept aside: not an envelope, or a conflicting one.
type AsideMsg struct {
	ReceivedAt time.Time `json:"received_at"`
	Subject    string    `json:"subject"`
	Reason     string    `json:"reason"`
	Data       string    `json:"data"`
}

// Msg is one message to apply.
type Msg struct {
	Subject string
	Data    []byte
}

// Apply adds a batch of messages in one transaction.
func (b *Books) Apply(msgs []Msg) (Result, error) {
	var res Result
	now := b.now().UTC()
	err := b.db.Update(func(tx *bolt.Tx) error {
		res = Result{}
		lanes := map[string]*LaneState{}
		for _, m := range msgs {
			if err := b.apply(tx, lanes, m, now, &res); err != nil {
				return err
			}
		}
		for k, l := range lanes {
			v, err := json.Marshal(l)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bLanes).Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}

func (b *Books) apply(tx *bolt.Tx, lanes map[string]*LaneState, m Msg, now time.Time, res *Result) error {
	env, err := feed.Decode(m.Data)
	if err == nil && m.Subject != "" && m.Subject != env.Identity.Subject(env.Kind) {
		err = fmt.Errorf("subject %s is not the envelope's lane and kind (%s)", m.Subject, env.Identity.Subject(env.Kind))
	}
	if err != nil {
		res.Aside++
		return putAside(tx, m, err.Error(), now)
	}
	lk := laneKey(env.Identity)
	l, err := loadLane(tx, lanes, lk, env.Identity)
	if err != nil {
		return err
	}
	ek := append([]byte(lk+"\x00"+env.Journal+"\x00"), u64(env.Seq)...)
	ev := tx.Bucket(bEvents)
	if d := ev.Get(ek); d != nil {
		res.Duplicates++
		l.Duplicates++
		if string(d) != env.Digest {
			l.Conflicts++
			return putAside(tx, m, fmt.Sprintf("event %d of %s received again with different content", env.Seq, env.Journal), now)
		}
		return nil
	}
	if err := ev.Put(ek, []byte(env.Digest)); err != nil {
		return err
	}
	res.Added++
	j := l.Journals[env.Journal]
	first := j == nil
	if first {
		j = &JournalState{}
		l.Journals[env.Journal] = j
		// A journal's first id starts at 1; an epoch (a restored journal)
		// where it was restored.
		if !bytes.Contains([]byte(env.Journal), []byte("~e")) && env.Seq > 1 {
			j.Missing = [][2]uint64{{1, env.Seq - 1}}
			first = false
			j.High = env.Seq - 1
		}
	}
	j.note(env.Seq, first)
	l.Events++
	if !env.At.Before(l.LastAt) {
		l.LastSeq, l.LastKind, l.LastAt, l.Agent = env.Seq, env.Kind, env.At, env.Agent
	}
	l.ReceivedAt = now
	l.LagSeconds = max(0, now.Sub(env.At).Seconds())
	return b.book(tx, l, lk, env)
}

// book keeps what the event says of money, shifts and Z reports.
func (b *Books) book(tx *bolt.Tx, l *LaneState, lk string, env feed.Envelope) error {
	var ev struct {
		Payment *Payment        `json:"payment"`
		Shift   json.RawMessage `json:"shift"`
		Z       uint64          `json:"z"`
	}
	if json.Unmarshal(env.Event, &ev) != nil {
		return nil
	}
	switch {
	case ev.Payment != nil && ev.Payment.ID != "":
		p := ev.Payment
		p.Lane, p.Store, p.Seq = env.Lane, env.Store, env.Seq
		pb := tx.Bucket(bPayments)
		k := []byte(lk + "\x00" + p.ID)
		if old := pb.Get(k); old != nil {
			var o Payment
			if json.Unmarshal(old, &o) == nil && (o.UpdatedAt.After(p.UpdatedAt) || o.UpdatedAt.Equal(p.UpdatedAt) && o.Seq >= p.Seq) {
				return nil // an older state
			}
		}
		v, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return pb.Put(k, v)
	case env.Kind == "shift.opened":
		var sh struct {
			No uint64 `json:"no"`
		}
		if json.Unmarshal(ev.Shift, &sh) == nil {
			l.OpenShift = sh.No
		}
	case env.Kind == "report.z":
		l.OpenShift = 0
		z := ZReport{Identity: env.Identity, At: env.At}
		if err := json.Unmarshal(env.Event, &z); err != nil {
			return nil
		}
		v, _ := json.Marshal(z)
		return tx.Bucket(bZ).Put(append([]byte(lk+"\x00"), u64(z.Z)...), v)
	}
	return nil
}

func putAside(tx *bolt.Tx, m Msg, reason string, now time.Time) error {
	b := tx.Bucket(bAside)
	n, _ := b.NextSequence()
	v, _ := json.Marshal(AsideMsg{ReceivedAt: now, Subject: m.Subject, Reason: reason, Data: string(m.Data)})
	return b.Put(u64(n), v)
}

func loadLane(tx *bolt.Tx, lanes map[string]*LaneState, lk string, id feed.Identity) (*LaneState, error) {
	if l, ok := lanes[lk]; ok {
		return l, nil
	}
	l := &LaneState{Identity: id, Journals: map[string]*JournalState{}}
	if v := tx.Bucket(bLanes).Get([]byte(lk)); v != nil {
		if err := json.Unmarshal(v, l); err != nil {
			return nil, fmt.Errorf("hq: lane %s unreadable: %w", lk, err)
		}
	}
	lanes[lk] = l
	return l, nil
}

func laneKey(id feed.Identity) string { return id.Merchant + "/" + id.Store + "/" + id.Lane }

func u64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

// Lanes lists every lane, by store then lane.
func (b *Books) Lanes() ([]*LaneState, error) {
	var out []*LaneState
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bLanes).ForEach(func(_, v []byte) error {
			l := &LaneState{}
			if err := json.Unmarshal(v, l); err != nil {
				return err
			}
			out = append(out, l)
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return laneKey(out[i].Identity) < laneKey(out[j].Identity) })
	return out, err
}

// Aside lists the messages kept aside.
func (b *Books) Aside() ([]AsideMsg, error) {
	out := []AsideMsg{}
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bAside).ForEach(func(_, v []byte) error {
			var a AsideMsg
			json.Unmarshal(v, &a)
			out = append(out, a)
			return nil
		})
	})
	return out, err
}
