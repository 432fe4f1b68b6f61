package check

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/posagent/posagent/store/hwm"
	"github.com/posagent/posagent/store/internal/fsutil"
	"github.com/posagent/posagent/store/record"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Report is what CheckFile and Inspect found in a journal file.
type Report struct {
	Path      string    `json:"path"`
	Size      int64     `json:"size_bytes"`
	PageSize  int       `json:"page_size,omitempty"`
	Pages     uint64    `json:"pages,omitempty"`
	TxID      uint64    `json:"txid,omitempty"` // the last committed bbolt transaction
	JournalID string    `json:"journal_id,omitempty"`
	Schema    uint64    `json:"schema,omitempty"`
	Empty     bool      `json:"empty,omitempty"`   // a zero-length file
	Missing   bool      `json:"missing,omitempty"` // no file (Inspect only)
	Payments  int       `json:"payments"`
	Open      int       `json:"open_payments"`
	Orders    int       `json:"orders"`
	Jobs      int       `json:"jobs"`
	IdemKeys  int       `json:"idempotency_keys"`
	Events    int       `json:"events"`
	LastSeq   uint64    `json:"last_event_seq"` // the events bucket's sequence
	Findings  []Finding `json:"findings"`
	// Mark is the high-water mark beside the journal (Inspect only).
	Mark *hwm.Mark `json:"mark,omitempty"`
	// Rollback is set (Inspect only) when the journal is behind its
	// high-water mark: it went back in time, or was replaced.
	Rollback *hwm.Rollback `json:"rollback,omitempty"`
	// Quick: only what the start reads was checked (quickcheck.go); the
	// payment counts are the journal's counters, and Orders, IdemKeys and
	// Events are not counted.
	Quick bool `json:"quick,omitempty"`
	// ArchiveBefore is set when the file is an archive (store/archive): it
	// holds the history before that time. The agent does not run on one.
	ArchiveBefore *time.Time `json:"archive_before,omitempty"`
	// Root is the root bucket's page of the state checked (with TxID, what
	// hwm.Verified names).
	Root uint64 `json:"-"`
}

// Damaged reports whether any finding is damage.
func (r *Report) Damaged() bool {
	for _, f := range r.Findings {
		if f.Damage {
			return true
		}
	}
	return false
}

// Warnings lists the findings that are not damage.
func (r *Report) Warnings() []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if !f.Damage {
			out = append(out, f)
		}
	}
	return out
}

// DamageError is returned by Open for a damaged journal; errors.Is(err,
// ErrCorrupt) holds. The file was not modified.
type DamageError struct {
	Report *Report
}

func (e *DamageError) Error() string {
	var dmg []string
	for _, f := range e.Report.Findings {
		if f.Damage {
			dmg = append(dmg, f.String())
		}
	}
	more := ""
	if len(dmg) > 3 {
		more = fmt.Sprintf(" (and %d more)", len(dmg)-3)
		dmg = dmg[:3]
	}
	return fmt.Sprintf("store: open %s: the journal is damaged: %s%s. The file was not modified and the agent will not use it. "+
		"What to do: keep the file; run \"posagent journal check\" to see every finding, then either restore the newest backup "+
		"(\"posagent journal restore FILE\") or copy what is readable into a new journal (\"posagent journal salvage NEW.db\", then \"posagent journal restore NEW.db\")",
		e.Report.Path, strings.Join(dmg, "; "), more)
}

func (e *DamageError) Is(target error) bool { return target == ErrCorrupt }

// Options configure CheckFile and Inspect.
type Options struct {
	// LockTimeout: how long to wait for a running agent to release the
	// file (default 1 s); then the error is ErrLocked.
	LockTimeout time.Duration
}

// CheckFile checks the journal file at path without modifying it: every
// page is read with bound checks and accounted for (in use, free, meta,
// freelist), every record is decoded, and the journal's own invariants are
// checked (each payment's order ids are indexed and the index points back;
// outbox jobs name existing payments; the event sequence has no gap it did
// not record). When that finds no damage, bbolt's own consistency check
// runs too. Damage is reported as findings; the error is for a file that
// could not be examined at all (missing, locked, unreadable directory).
// No panic escapes, whatever the file holds.
func CheckFile(path string, opt Options) (*Report, error) {
	rep, _, err := checkFile(path, opt, false)
	return rep, err
}

// checkFileWith opens path read-only under a shared lock and runs raw on
// it; then, with boltToo and when raw found no damage, bbolt's check.
func checkFileWith(path string, opt Options, boltToo bool, raw func(f *os.File, rep *Report)) (rep *Report, err error) {
	if opt.LockTimeout <= 0 {
		opt.LockTimeout = time.Second
	}
	rep = &Report{Path: path}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("store: check %s: %w", path, err)
	}
	if fi.IsDir() {
		rep.Findings = append(rep.Findings, Finding{Problem: "is a directory, not a journal file", Damage: true})
		return rep, nil
	}
	if !fi.Mode().IsRegular() {
		rep.Findings = append(rep.Findings, Finding{Problem: "is not a regular file", Damage: true})
		return rep, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("store: check %s: %w", path, err)
	}
	defer f.Close()
	if err := fsutil.Lock(f, false, opt.LockTimeout); err != nil {
		if errors.Is(err, ErrLocked) {
			return nil, fmt.Errorf("%w: %s is in use by a running posagent", ErrLocked, path)
		}
		return nil, fmt.Errorf("store: check %s: %w", path, err)
	}
	defer fsutil.Unlock(f)
	if fi, err = f.Stat(); err != nil {
		return nil, fmt.Errorf("store: check %s: %w", path, err)
	}
	rep.Size = fi.Size()
	if rep.Size == 0 {
		rep.Empty = true
		rep.Findings = append(rep.Findings, Finding{Problem: "the file is empty (0 bytes): it holds no journal"})
		return rep, nil
	}
	defer func() {
		if r := recover(); r != nil {
			rep.Findings = append(rep.Findings, Finding{Problem: fmt.Sprintf("reading the file failed: %v", r), Damage: true})
			err = nil
		}
	}()
	raw(f, rep)
	if rep.Damaged() || !boltToo {
		return rep, nil
	}
	boltCheck(path, opt.LockTimeout, rep)
	return rep, nil
}

// checkRawKeep walks the file with the checked reader and fills rep; with
// keep, the inventory holds every readable record.
func checkRawKeep(f *os.File, rep *Report, keep bool) *inventory {
	pf, fs := openPageFile(f, rep.Size)
	rep.Findings = append(rep.Findings, fs...)
	if pf == nil {
		return nil
	}
	m := pf.m()
	rep.PageSize, rep.Pages, rep.TxID, rep.Root = pf.ps, m.pgid, m.txid, m.root
	if int64(m.pgid)*int64(pf.ps) > rep.Size {
		return nil
	}
	inv := newInventory()
	inv.keep = keep
	w := &walker{pf: pf, v: inv}
	w.walk()
	rep.Findings = append(rep.Findings, w.finds...)
	inv.finish(rep)
	return inv
}

// boltCheck runs bbolt's own consistency check (tx.Check, every page) on a
// file the checked reader found sound, read-only.
func boltCheck(path string, lock time.Duration, rep *Report) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			rep.Findings = append(rep.Findings, Finding{Problem: fmt.Sprintf("bbolt could not read the file: %v", r), Damage: true})
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lock})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			rep.Findings = append(rep.Findings, Finding{Problem: "locked by a running posagent during the check"})
			return
		}
		rep.Findings = append(rep.Findings, Finding{Problem: "bbolt refuses the file: " + err.Error(), Damage: true})
		return
	}
	defer db.Close()
	_ = db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			rep.Findings = append(rep.Findings, Finding{Problem: "bbolt check: " + err.Error(), Damage: true})
		}
		return nil
	})
}

// inventory gathers what a walk read, record by record, to check the
// journal's invariants (and, for salvage, to keep the records).
type inventory struct {
	keep     bool // keep every record's bytes (salvage)
	buckets  map[string]bool
	seqs     map[string]uint64
	records  map[string][][2][]byte // keep: bucket -> key/value pairs
	payments map[string]*payIndex
	orders   map[string]string
	jobs     []jobRef
	idem     map[string]string
	events   []uint64
	meta     map[string][]byte
	stats    map[string]string // outbox_stats: key -> value
	audits   map[string]bool   // the audit_at keys the audit events call for
	auditIdx map[string]bool   // the audit_at keys present
	payState map[string]string // pay_state: id -> state
	byState  map[string]string // by_state: id -> state (a second entry is a finding)
	finds    []Finding
	lostIn   map[string][]uint64
}

type payIndex struct {
	orders  []string        // the payment's and its refunds' order ids
	refunds map[string]bool // nil when it has none (most payments)
	final   bool
	state   record.State
	keyID   uint32 // the data key its sealed code needs (0: none)
	clear   bool   // a payment code stored in clear (a journal from before sealing)
}

type jobRef struct {
	seq       uint64
	key       []byte
	paymentID string
	refundID  string
	kind      string
	created   time.Time
	lastErr   string
}

func newInventory() *inventory {
	return &inventory{buckets: map[string]bool{}, seqs: map[string]uint64{}, records: map[string][][2][]byte{},
		payments: map[string]*payIndex{}, orders: map[string]string{}, idem: map[string]string{}, meta: map[string][]byte{},
		stats: map[string]string{}, audits: map[string]bool{}, auditIdx: map[string]bool{}, payState: map[string]string{}, byState: map[string]string{}, lostIn: map[string][]uint64{}}
}

func (inv *inventory) bucketSeq(b string, seq uint64) { inv.buckets[b] = true; inv.seqs[b] = seq }
func (inv *inventory) lost(b string, page uint64)     { inv.lostIn[b] = append(inv.lostIn[b], page) }

func (inv *inventory) bad(b string, k []byte, why string) {
	inv.finds = append(inv.finds, Finding{Bucket: b, Key: printable(k), Problem: why, Damage: true})
}

// record decodes one record; a record that does not decode is a finding
// (and is not kept).
func (inv *inventory) record(b string, k, v []byte) {
	if inv.accept(b, k, v) && inv.keep {
		inv.records[b] = append(inv.records[b], [2][]byte{bytes.Clone(k), bytes.Clone(v)})
	}
}

func (inv *inventory) accept(b string, k, v []byte) bool {
	switch b {
	case string(record.BucketPayments):
		return inv.acceptPayment(b, k, v)
	case string(record.BucketOrders):
		inv.orders[string(k)] = string(v)
	case string(record.BucketOutbox):
		var j record.Job
		if len(k) != 8 {
			inv.bad(b, k, "key is not a sequence number")
			return false
		}
		if err := json.Unmarshal(v, &j); err != nil {
			inv.bad(b, k, "job unreadable: "+err.Error())
			return false
		}
		inv.jobs = append(inv.jobs, jobRef{seq: binary.BigEndian.Uint64(k), key: bytes.Clone(k), paymentID: j.PaymentID, refundID: j.RefundID,
			kind: j.Kind, created: j.CreatedAt, lastErr: j.LastError})
	case string(record.BucketOutboxStats):
		inv.stats[string(k)] = string(v)
	case string(record.BucketAuditAt):
		if len(k) != 16 {
			inv.bad(b, k, "not a stamp and an event sequence number")
			return false
		}
		inv.auditIdx[string(k)] = true
	case string(record.BucketIdem):
		var r record.Idem
		if err := json.Unmarshal(v, &r); err != nil {
			inv.bad(b, k, "idempotency key unreadable: "+err.Error())
			return false
		}
		inv.idem[string(k)] = r.PaymentID
	case string(record.BucketIdemGone):
		if len(k) != 8 || len(v) != 4 {
			inv.bad(b, k, "not an expired idempotency key's tombstone (8-byte hash, 4-byte day)")
			return false
		}
	case string(record.BucketEvents):
		if len(k) != 8 {
			inv.bad(b, k, "key is not a sequence number")
			return false
		}
		v, err := record.UnpackEvent(v)
		if err != nil {
			inv.bad(b, k, "event unreadable: "+err.Error())
			return false
		}
		if !json.Valid(v) {
			inv.bad(b, k, "event unreadable (not JSON)")
			return false
		}
		inv.events = append(inv.events, binary.BigEndian.Uint64(k))
		var h record.EventHead
		if json.Unmarshal(v, &h) == nil && h.Kind == record.KindAudit {
			inv.audits[string(record.AuditKey(h.At, binary.BigEndian.Uint64(k)))] = true
		}
	case string(record.BucketMeta):
		inv.meta[string(k)] = bytes.Clone(v)
	case string(record.BucketPayState):
		inv.payState[string(k)] = string(v)
	case string(record.BucketShifts), string(record.BucketZReports), string(record.BucketRecons):
		return inv.acceptShift(b, k, v)
	case string(record.BucketByState):
		st, id, ok := strings.Cut(string(k), "\x00")
		if !ok {
			inv.bad(b, k, "not a state and a payment id")
			return false
		}
		if prev, dup := inv.byState[id]; dup {
			inv.bad(b, k, fmt.Sprintf("payment %s is indexed as %s and as %s", id, prev, st))
			return false
		}
		inv.byState[id] = st
	}
	return true
}

// acceptPayment decodes a payment record and notes its order ids,
// refunds, state and sealed code's key.
func (inv *inventory) acceptPayment(b string, k, v []byte) bool {
	p, err := record.DecodePayment(v)
	if err != nil {
		inv.bad(b, k, "record unreadable: "+err.Error())
		return false
	}
	if p.ID != string(k) || p.OrderID == "" {
		inv.bad(b, k, fmt.Sprintf("record names payment %q, order %q", p.ID, p.OrderID))
		return false
	}
	pi := &payIndex{orders: []string{p.OrderID}, final: p.State.Final(), state: p.State, clear: p.AuthCode != ""}
	for _, r := range p.Refunds {
		pi.orders = append(pi.orders, r.OrderID)
		if pi.refunds == nil {
			pi.refunds = map[string]bool{}
		}
		pi.refunds[r.ID] = true
	}
	if p.Sealed != "" {
		id, _, err := record.ParseSealed(p.Sealed)
		if err != nil {
			inv.bad(b, k, "sealed payment code unreadable: "+err.Error())
			return false
		}
		pi.keyID = id
	}
	inv.payments[p.ID] = pi
	return true
}

// checkIndexes checks the payment indexes (store/index.go) against the payments,
// when the journal has them.
func (inv *inventory) checkIndexes(rep *Report, ids []string) {
	if !record.Indexed(inv.meta) || len(inv.lostIn) > 0 {
		return
	}
	counts := map[string]uint64{}
	for _, id := range ids {
		st := string(inv.payments[id].state)
		counts[st]++
		if got := inv.payState[id]; got != st {
			rep.Findings = append(rep.Findings, Finding{Bucket: string(record.BucketPayState), Key: id, Problem: fmt.Sprintf("says %q, the payment is %s", got, st), Damage: true})
		}
		if got := inv.byState[id]; got != st {
			rep.Findings = append(rep.Findings, Finding{Bucket: string(record.BucketByState), Key: id, Problem: fmt.Sprintf("indexed as %q, the payment is %s", got, st), Damage: true})
		}
	}
	for id := range inv.byState {
		if _, ok := inv.payments[id]; !ok {
			rep.Findings = append(rep.Findings, Finding{Bucket: string(record.BucketByState), Key: id, Problem: "indexes a payment that is not in the journal", Damage: true})
		}
	}
	for id := range inv.payState {
		if _, ok := inv.payments[id]; !ok {
			rep.Findings = append(rep.Findings, Finding{Bucket: string(record.BucketPayState), Key: id, Problem: "names a payment that is not in the journal", Damage: true})
		}
	}
	for _, s := range record.States {
		var n uint64
		if v := inv.meta[record.CountPrefix+string(s)]; len(v) == 8 {
			n = binary.BigEndian.Uint64(v)
		}
		if n != counts[string(s)] {
			rep.Findings = append(rep.Findings, Finding{Bucket: "meta", Key: record.CountPrefix + string(s), Problem: fmt.Sprintf("counts %d payments, the journal has %d", n, counts[string(s)]), Damage: true})
		}
	}
}

// gaps are the event-sequence ranges a technician accepted as lost
// (accept-rollback, restore): meta "gap/" + from (big-endian) -> to.
func (inv *inventory) gaps() map[uint64]uint64 {
	g := map[uint64]uint64{}
	for k, v := range inv.meta {
		if strings.HasPrefix(k, record.GapPrefix) && len(k) == len(record.GapPrefix)+8 && len(v) == 8 {
			g[binary.BigEndian.Uint64([]byte(k[len(record.GapPrefix):]))] = binary.BigEndian.Uint64(v)
		}
	}
	return g
}

// finishCore reports what the walk found, the buckets, the journal format
// and id, and the pages whose records were lost; false for a new journal
// with no records yet (nothing more to check).
func (inv *inventory) finishCore(rep *Report) bool {
	rep.Findings = append(rep.Findings, inv.finds...)
	if len(inv.buckets) == 0 && len(inv.lostIn) == 0 {
		// A bbolt file whose first posagent transaction never committed.
		rep.Findings = append(rep.Findings, Finding{Problem: "a new journal with no records yet"})
		return false
	}
	for _, b := range record.CoreBuckets {
		if !inv.buckets[string(b)] {
			rep.Findings = append(rep.Findings, Finding{Bucket: string(b), Problem: "bucket missing", Damage: true})
		}
	}
	if v, ok := inv.meta[string(record.KeySchema)]; ok && len(v) == 8 {
		rep.Schema = binary.BigEndian.Uint64(v)
		if rep.Schema > record.SchemaVersion {
			rep.Findings = append(rep.Findings, Finding{Bucket: "meta", Key: "schema", Damage: true,
				Problem: fmt.Sprintf("written by a newer posagent (journal format %d; this posagent reads up to %d): install that version again", rep.Schema, record.SchemaVersion)})
		}
	} else if inv.buckets[string(record.BucketMeta)] {
		rep.Findings = append(rep.Findings, Finding{Bucket: "meta", Key: "schema", Problem: "journal format version missing or unreadable", Damage: true})
	}
	rep.JournalID = string(inv.meta[string(record.KeyJournalID)])
	rep.ArchiveBefore = record.ArchivedBefore(inv.meta[string(record.KeyArchiveBefore)])
	if len(inv.lostIn) > 0 {
		// Cross-bucket checks would only repeat the loss.
		for b, pages := range inv.lostIn {
			rep.Findings = append(rep.Findings, Finding{Page: pg(pages[0]), Bucket: b, Damage: true,
				Problem: fmt.Sprintf("records on %d page(s) cannot be read (%s)", len(pages), pageList(pages))})
		}
	}
	return true
}

// finish checks the invariants across buckets and fills rep.
func (inv *inventory) finish(rep *Report) {
	if !inv.finishCore(rep) {
		return
	}
	// Every payment's order ids point at it, and every index entry at a
	// payment that owns it.
	ids := make([]string, 0, len(inv.payments))
	for id := range inv.payments {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	lost := len(inv.lostIn) > 0
	for _, id := range ids {
		p := inv.payments[id]
		rep.Payments++
		if !p.final {
			rep.Open++
		}
		for _, oid := range p.orders {
			if got, ok := inv.orders[oid]; !ok && !lost {
				rep.Findings = append(rep.Findings, Finding{Bucket: "orders", Key: oid, Problem: "order id of payment " + id + " is not indexed", Damage: true})
			} else if ok && got != id {
				rep.Findings = append(rep.Findings, Finding{Bucket: "orders", Key: oid, Problem: fmt.Sprintf("indexed to %s, but payment %s owns it", got, id), Damage: true})
			}
		}
	}
	inv.checkIndexes(rep, ids)
	oids := make([]string, 0, len(inv.orders))
	for oid := range inv.orders {
		oids = append(oids, oid)
	}
	sort.Strings(oids)
	for _, oid := range oids {
		rep.Orders++
		pid := inv.orders[oid]
		if _, ok := inv.payments[pid]; !ok && !lost {
			rep.Findings = append(rep.Findings, Finding{Bucket: "orders", Key: oid, Problem: "points at payment " + pid + ", which is not in the journal", Damage: true})
		}
	}
	inv.checkJobs(rep, lost)
	for k, pid := range inv.idem {
		rep.IdemKeys++
		if _, ok := inv.payments[pid]; !ok && pid != "" && !lost {
			rep.Findings = append(rep.Findings, Finding{Bucket: "idem", Key: printable([]byte(k)), Problem: "names payment " + pid + ", which is not in the journal (harmless: the key answers 404)"})
		}
	}
	inv.checkEvents(rep, lost)
}

// checkJobs: every job names a payment (and refund) in the journal, and
// the outbox counters match the jobs.
func (inv *inventory) checkJobs(rep *Report, lost bool) {
	var maxJob uint64
	for _, j := range inv.jobs {
		rep.Jobs++
		maxJob = max(maxJob, j.seq)
		p, ok := inv.payments[j.paymentID]
		switch {
		case !ok && !lost:
			rep.Findings = append(rep.Findings, Finding{Bucket: "outbox", Key: printable(j.key), Problem: "job for payment " + j.paymentID + ", which is not in the journal", Damage: true})
		case ok && j.refundID != "" && !p.refunds[j.refundID]:
			rep.Findings = append(rep.Findings, Finding{Bucket: "outbox", Key: printable(j.key), Problem: "job for refund " + j.refundID + ", which payment " + j.paymentID + " does not have", Damage: true})
		}
	}
	if maxJob > inv.seqs[string(record.BucketOutbox)] {
		rep.Findings = append(rep.Findings, Finding{Bucket: "outbox", Problem: fmt.Sprintf("job #%d is past the outbox sequence %d", maxJob, inv.seqs[string(record.BucketOutbox)]), Damage: true})
	}
	if !lost {
		inv.checkOutboxStats(rep)
		inv.checkAuditIndex(rep)
	}
}

// checkEvents: the events follow each other from the oldest kept to the
// sequence, but for recorded gaps.
func (inv *inventory) checkEvents(rep *Report, lost bool) {
	// Compact removes only the oldest.
	rep.Events, rep.LastSeq = len(inv.events), inv.seqs[string(record.BucketEvents)]
	checkLatest(rep, inv.meta, rep.LastSeq)
	gaps := inv.gaps()
	for i := 1; i < len(inv.events); i++ {
		a, b := inv.events[i-1], inv.events[i]
		if b == a+1 {
			continue
		}
		if to, ok := gaps[a+1]; ok && to >= b-1 {
			continue
		}
		rep.Findings = append(rep.Findings, Finding{Bucket: "events", Key: fmt.Sprintf("#%d", a+1), Problem: fmt.Sprintf("events #%d to #%d are missing", a+1, b-1), Damage: true})
	}
	if n := len(inv.events); n > 0 {
		last := inv.events[n-1]
		if last > rep.LastSeq {
			rep.Findings = append(rep.Findings, Finding{Bucket: "events", Key: fmt.Sprintf("#%d", last), Problem: fmt.Sprintf("past the event sequence %d", rep.LastSeq), Damage: true})
		} else if last < rep.LastSeq && !lost {
			rep.Findings = append(rep.Findings, Finding{Bucket: "events", Key: fmt.Sprintf("#%d", last+1), Problem: fmt.Sprintf("events #%d to #%d are missing (the newest)", last+1, rep.LastSeq), Damage: true})
		}
	}
}

// checkAuditIndex checks the audit trail's index (audit_at), when the
// journal has it, against the audit events: one entry per event, none for
// an event that is not there.
func (inv *inventory) checkAuditIndex(rep *Report) {
	if !inv.buckets[string(record.BucketAuditAt)] {
		return
	}
	var finds []Finding
	for k := range inv.audits {
		if !inv.auditIdx[k] {
			finds = append(finds, Finding{Bucket: string(record.BucketAuditAt), Key: printable([]byte(k)), Problem: "missing: an audit event is not in the audit index", Damage: true})
		}
	}
	for k := range inv.auditIdx {
		if !inv.audits[k] {
			finds = append(finds, Finding{Bucket: string(record.BucketAuditAt), Key: printable([]byte(k)), Problem: "the audit index names no audit event with this stamp", Damage: true})
		}
	}
	sort.Slice(finds, func(i, j int) bool { return finds[i].Key < finds[j].Key })
	rep.Findings = append(rep.Findings, finds...)
}

// checkOutboxStats checks the outbox counters (outbox_stats), when the
// journal has them, against the jobs.
func (inv *inventory) checkOutboxStats(rep *Report) {
	if !inv.buckets[string(record.BucketOutboxStats)] {
		return
	}
	want := map[string]string{}
	kinds := map[string]uint64{}
	for _, j := range inv.jobs {
		kinds[j.kind]++
		at, _ := j.created.MarshalBinary()
		want[string(record.StatKey(record.StatAge, record.DueKey(j.created, j.seq)))] = string(at)
		if j.lastErr != "" {
			want[string(record.StatKey(record.StatErr, record.U64(j.seq)))] = j.lastErr
		}
	}
	for kind, n := range kinds {
		want[string(record.StatKey(record.StatKind, []byte(kind)))] = string(record.U64(n))
	}
	keys := make([]string, 0, len(want)+len(inv.stats))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range inv.stats {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		got, ok := inv.stats[k]
		switch {
		case !ok:
			rep.Findings = append(rep.Findings, Finding{Bucket: string(record.BucketOutboxStats), Key: printable([]byte(k)), Problem: "missing: the outbox counters do not match the jobs", Damage: true})
		case got != want[k]:
			rep.Findings = append(rep.Findings, Finding{Bucket: string(record.BucketOutboxStats), Key: printable([]byte(k)), Problem: "the outbox counters do not match the jobs", Damage: true})
		}
	}
}
