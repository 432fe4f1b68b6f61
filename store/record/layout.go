package record

import (
	"encoding/binary"
	"strings"
	"time"
)

// SchemaVersion is the journal layout version written in the meta bucket.
const SchemaVersion = 1

// The buckets every journal has had since format 1.
var (
	BucketPayments = []byte("payments") // payment id -> Payment JSON (StoredPayment)
	BucketOrders   = []byte("orders")   // order id (of a payment or of a refund) -> payment id
	BucketIdem     = []byte("idem")     // idempotency key -> Idem JSON
	BucketOutbox   = []byte("outbox")   // U64(job sequence) -> Job JSON
	BucketEvents   = []byte("events")   // U64(event sequence) -> event JSON, or a delta (delta.go)
	BucketMeta     = []byte("meta")     // the keys below
	// CoreBuckets lists them.
	CoreBuckets = [][]byte{BucketPayments, BucketOrders, BucketIdem, BucketOutbox, BucketEvents, BucketMeta}
)

// The buckets derived from the core ones (salvage leaves them out; the
// journal rebuilds them), and the shift buckets.
var (
	// BucketPayState: payment id -> its state; BucketByState:
	// StateKey(state, id) -> nothing (the open states' entries are the
	// open-payment index); meta CountPrefix + state -> the number of
	// payments in that state. Built once KeyIndex is in meta.
	BucketPayState = []byte("pay_state")
	BucketByState  = []byte("by_state")
	// BucketDue orders the outbox jobs by next_at: DueKey(next_at, seq).
	BucketDue = []byte("outbox_due")
	// BucketOutboxStats: the outbox's counters, StatKey(StatKind, kind) ->
	// U64(n), StatKey(StatAge, DueKey(created, seq)) -> created
	// (MarshalBinary), StatKey(StatErr, U64(seq)) -> the last error.
	BucketOutboxStats = []byte("outbox_stats")
	// BucketAuditAt: AuditKey(at, seq) -> nothing, one per audit event.
	BucketAuditAt = []byte("audit_at")
	// BucketIdemGone: the tombstones of expired idempotency keys, the
	// first 8 bytes of SHA-256 of the key -> the unix day it expired
	// (4 bytes, big-endian); store/idemexpiry.go.
	BucketIdemGone = []byte("idem_gone")
	// BucketEvLast: the thing an event is about -> the sequence of its
	// last event (the base of the next delta).
	BucketEvLast = []byte("ev_last")
	// The shifts: U64(no) -> Shift; U64(Z number) -> ZRecord; U64(Z
	// number) -> the latest reconciliation of that Z (JSON).
	BucketShifts     = []byte("shifts")
	BucketZReports   = []byte("zreports")
	BucketRecons     = []byte("reconciliations")
	BucketCodeUses   = []byte("codes")          // payment code hash -> code use JSON
	KeySchema        = []byte("schema")         // meta: U64(SchemaVersion)
	KeyJournalID     = []byte("journal_id")     // meta: the journal's id (hex)
	KeyIndex         = []byte("index")          // meta: the format of the payment indexes, when built
	KeyArchiveOf     = []byte("archive/of")     // meta of an archive: the journal's id
	KeyArchiveBefore = []byte("archive/before") // meta of an archive: the time it holds the history before
	KeyArchiveAt     = []byte("archive/at")     // meta of an archive: when it was written
)

// Prefixes of meta keys.
const (
	// GapPrefix + U64(from) -> U64(to): event sequences lost with a
	// technician's consent (accept-rollback, restore, salvage).
	GapPrefix = "gap/"
	// CountPrefix + state -> U64(payments in that state).
	CountPrefix = "count/"
	// LatestPrefix + name -> U64(sequence of the newest event of name).
	LatestPrefix = "latest/"
)

// Prefixes of the outbox counters' keys (BucketOutboxStats).
const (
	StatKind = "k/"
	StatAge  = "a/"
	StatErr  = "e/"
)

// KindAudit is the kind of an audit-trail event ("kind" in its JSON).
const KindAudit = "api.audit"

// States lists every payment state, open ones first.
var States = []State{AwaitingCode, Processing, Queued, InDoubt, Succeeded, Failed, Cancelled, Expired, Reversed}

// U64 is n big-endian: the key of sequence-numbered records.
func U64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

// StateKey is the by_state key of payment id in state s.
func StateKey(s State, id string) []byte {
	k := make([]byte, 0, len(s)+1+len(id))
	k = append(k, s...)
	k = append(k, 0)
	return append(k, id...)
}

// stampKey is at (UnixNano, big-endian, sign bit flipped so that times
// before 1970 sort first) followed by seq.
func stampKey(at time.Time, seq uint64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, uint64(at.UnixNano())^(1<<63))
	binary.BigEndian.PutUint64(k[8:], seq)
	return k
}

// AuditKey is the audit_at key of audit event seq stamped at.
func AuditKey(at time.Time, seq uint64) []byte { return stampKey(at, seq) }

// DueKey is the outbox_due key of job seq due at.
func DueKey(at time.Time, seq uint64) []byte { return stampKey(at, seq) }

// StatKey is the outbox_stats key of prefix (StatKind, StatAge, StatErr).
func StatKey(prefix string, rest []byte) []byte {
	return append([]byte(prefix), rest...)
}

// EventHead is what the journal reads of an event's JSON.
type EventHead struct {
	Kind string    `json:"kind"`
	At   time.Time `json:"at"`
}

// Indexed reports whether the payment indexes are built (meta "index").
func Indexed(meta map[string][]byte) bool {
	v, ok := meta[string(KeyIndex)]
	return ok && len(v) == 8
}

// IsIndexMeta: a meta key the payment indexes own (salvage leaves them out).
func IsIndexMeta(k string) bool {
	return k == string(KeyIndex) || strings.HasPrefix(k, CountPrefix)
}

// ArchivedBefore decodes meta archive/before (nil: none).
func ArchivedBefore(v []byte) *time.Time {
	var at time.Time
	if v == nil || at.UnmarshalText(v) != nil {
		return nil
	}
	return &at
}

// Gaps decodes the accepted gaps among meta's entries: from -> to.
func Gaps(meta map[string][]byte) map[uint64]uint64 {
	g := map[uint64]uint64{}
	for k, v := range meta {
		if strings.HasPrefix(k, GapPrefix) && len(k) == len(GapPrefix)+8 && len(v) == 8 {
			g[binary.BigEndian.Uint64([]byte(k[len(GapPrefix):]))] = binary.BigEndian.Uint64(v)
		}
	}
	return g
}

// LatestSeqs lists the sequences the meta bucket's latest/ entries name.
func LatestSeqs(meta map[string][]byte) []uint64 {
	var out []uint64
	for k, v := range meta {
		if strings.HasPrefix(k, LatestPrefix) && len(v) == 8 {
			out = append(out, binary.BigEndian.Uint64(v))
		}
	}
	return out
}
