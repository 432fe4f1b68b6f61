package check

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/posagent/posagent/store/hwm"
	"github.com/posagent/posagent/store/record"
)

// The quick check before start. The full check reads every page and
// decodes every record, which costs the whole history at each start. Once
// a full check has found the journal sound, the high-water mark records
// the state it checked (Mark.Verified); a later start of a journal past
// that state checks, with the same bounds-checked reads, only what the
// start reads:
//
//   - both meta pages, the file's length and the freelist (what bbolt
//     itself reads to open the file);
//   - the root and every bucket header (the sequences the mark compares);
//   - in full: the meta bucket, the outbox with its due index and its
//     counters, the shifts;
//   - the open-payment index (the open states of by_state) and every
//     payment it names or an outbox job names, with their pay_state entry
//     and their order ids both ways;
//   - the newest quickEventTail events, the events the meta bucket's
//     latest/ entries name, and every event their deltas are built on.
//
// The rest is checked in full after the start, while the agent runs
// (Store.RunCheck); the mark moves on to the state that check read.

// quickEventTail is how many of the newest events the quick check reads:
// more than the start reads (the newest event, for the newest stamp; what
// it needs further back, the last exchange rate, it finds through the
// latest/ entries of the meta bucket, store/latest.go, and the quick check reads
// those events too). A constant, so the start costs the same whatever the
// history.
const quickEventTail = 256

// DefaultFullCheckBelow: a journal whose pages in use take less than this
// is checked in full before every start (it costs a few tens of
// milliseconds at most).
const DefaultFullCheckBelow = 4 << 20

// quickVisitor is the inventory of a quick check, also keeping the events
// it read (to rebuild their deltas).
type quickVisitor struct {
	*inventory
	evs   map[uint64][]byte // seq -> the stored event
	asked map[string]bool   // bucket + 0x00 + key: looked up already
}

func (q quickVisitor) record(b string, k, v []byte) {
	q.inventory.record(b, k, v)
	if b == string(record.BucketEvents) && len(k) == 8 {
		q.evs[binary.BigEndian.Uint64(k)] = bytes.Clone(v)
	}
}

// keySet is a sorted set of keys a scoped walk looks up.
type keySet [][]byte

func newKeySet(keys [][]byte) keySet {
	sort.Slice(keys, func(i, j int) bool { return bytes.Compare(keys[i], keys[j]) < 0 })
	return keySet(keys)
}

// in reports whether a key of the set is in [lo, hi) (nil: unbounded).
func (ks keySet) in(lo, hi []byte) bool {
	i := sort.Search(len(ks), func(i int) bool { return lo == nil || bytes.Compare(ks[i], lo) >= 0 })
	return i < len(ks) && (hi == nil || bytes.Compare(ks[i], hi) < 0)
}

// overlaps reports whether [lo, hi) meets [a, b) (nil bounds: unbounded).
func overlaps(lo, hi, a, b []byte) bool {
	return (hi == nil || a == nil || bytes.Compare(hi, a) > 0) && (lo == nil || b == nil || bytes.Compare(lo, b) < 0)
}

// quickCheck checks what the start reads of the journal at path, when a
// full check verified an earlier state of it (v) and its pages in use
// take fullBelow bytes or more. full says the journal must be checked in
// full instead (small, not indexed, not past v).
func quickCheck(path string, opt Options, v *hwm.Verified, fullBelow int64) (rep *Report, inv *inventory, full bool, err error) {
	rep, err = checkFileWith(path, opt, false, func(f *os.File, rep *Report) {
		inv, full = quickRaw(f, rep, v, fullBelow)
	})
	if err != nil || full {
		return nil, nil, full, err
	}
	return rep, inv, false, nil
}

func quickRaw(f *os.File, rep *Report, v *hwm.Verified, fullBelow int64) (*inventory, bool) {
	pf, fs := openPageFile(f, rep.Size)
	rep.Findings = append(rep.Findings, fs...)
	if pf == nil || rep.Damaged() {
		return nil, false
	}
	m := pf.m()
	if int64(m.pgid)*int64(pf.ps) < fullBelow || m.txid < v.TxID || (m.txid == v.TxID && m.root != v.Root) {
		return nil, true
	}
	rep.PageSize, rep.Pages, rep.TxID, rep.Root, rep.Quick = pf.ps, m.pgid, m.txid, m.root, true
	q := quickVisitor{inventory: newInventory(), evs: map[uint64][]byte{}, asked: map[string]bool{}}
	w := &walker{pf: pf, v: q, scope: q.firstScope()}
	w.walk()
	rep.Findings = append(rep.Findings, w.finds...)
	for round := 0; round <= record.MaxDeltaDepth+2; round++ {
		want := q.missing()
		if len(want) == 0 {
			break
		}
		w := &walker{pf: pf, v: q, reach: map[uint64]bool{}, leafOf: map[uint64]string{}, branchOf: map[uint64]string{},
			scope: func(b string, lo, hi []byte) bool { return want[b].in(lo, hi) }}
		w.node("", m.root, nil, nil, nil, 0, true)
		rep.Findings = append(rep.Findings, w.finds...)
	}
	if !q.finishCore(rep) || len(q.lostIn) > 0 {
		return q.inventory, false // cross-checks would only repeat a loss
	}
	if !record.Indexed(q.meta) {
		return nil, true // Open builds the indexes from every payment
	}
	q.quickFinish(rep)
	return q.inventory, false
}

// firstScope: the buckets read in full, the open states of by_state and
// the newest events.
func (q quickVisitor) firstScope() func(b string, lo, hi []byte) bool {
	return func(b string, lo, hi []byte) bool {
		switch b {
		case string(record.BucketMeta), string(record.BucketOutbox), string(record.BucketDue), string(record.BucketOutboxStats), string(record.BucketShifts):
			return true
		case string(record.BucketByState):
			for _, s := range record.States {
				if !s.Final() {
					p := record.StateKey(s, "")
					end := append(p[:len(p)-1:len(p)-1], 1)
					if overlaps(lo, hi, p, end) {
						return true
					}
				}
			}
		case string(record.BucketEvents):
			seq := q.seqs[string(record.BucketEvents)]
			from := uint64(1)
			if seq > quickEventTail {
				from = seq - quickEventTail + 1
			}
			return overlaps(lo, hi, record.U64(from), nil)
		}
		return false
	}
}

// missing lists, by bucket, the keys the records read so far lead to and
// that were not read yet: the payments of the open-payment index and of
// the jobs, their pay_state entries and order ids, and the bases of the
// event deltas.
func (q quickVisitor) missing() map[string]keySet {
	want := map[string][][]byte{}
	add := func(b string, k []byte) { want[b] = append(want[b], k) }
	pays := map[string]bool{}
	for id, st := range q.byState {
		if !record.State(st).Final() {
			pays[id] = true
		}
	}
	for _, j := range q.jobs {
		pays[j.paymentID] = true
	}
	for id := range pays {
		p, ok := q.payments[id]
		if !ok && !q.asked[string(record.BucketPayments)+"\x00"+id] {
			add(string(record.BucketPayments), []byte(id))
			add(string(record.BucketPayState), []byte(id))
			continue
		}
		if ok {
			for _, oid := range p.orders {
				if _, ok := q.orders[oid]; !ok && !q.asked[string(record.BucketOrders)+"\x00"+oid] {
					add(string(record.BucketOrders), []byte(oid))
				}
			}
		}
	}
	for _, seq := range record.LatestSeqs(q.meta) {
		if _, ok := q.evs[seq]; !ok && !q.asked[string(record.BucketEvents)+"\x00"+string(record.U64(seq))] {
			add(string(record.BucketEvents), record.U64(seq))
		}
	}
	for seq, v := range q.evs {
		v, err := record.UnpackEvent(v)
		if err != nil || !record.IsDelta(v) {
			continue // (unreadable: quickFinish reports it)
		}
		var d record.Delta
		if json.Unmarshal(v, &d) != nil {
			continue // quickFinish reports it
		}
		if base := d.Delta[0]; base < seq {
			if _, ok := q.evs[base]; !ok && !q.asked[string(record.BucketEvents)+"\x00"+string(record.U64(base))] {
				add(string(record.BucketEvents), record.U64(base))
			}
		}
	}
	out := map[string]keySet{}
	for b, keys := range want {
		for _, k := range keys {
			q.asked[b+"\x00"+string(k)] = true
		}
		out[b] = newKeySet(keys)
	}
	return out
}

// quickFinish checks the invariants among the records a quick check read.
func (q quickVisitor) quickFinish(rep *Report) {
	dmg := func(b, k, why string) {
		rep.Findings = append(rep.Findings, Finding{Bucket: b, Key: k, Problem: why, Damage: true})
	}
	counts := map[string]int64{}
	for _, s := range record.States {
		var n uint64
		if v := q.meta[record.CountPrefix+string(s)]; len(v) == 8 {
			n = binary.BigEndian.Uint64(v)
		}
		rep.Payments += int(n)
		if !s.Final() {
			rep.Open += int(n)
			counts[string(s)] = int64(n)
		}
	}
	ids := make([]string, 0, len(q.byState))
	for id, st := range q.byState {
		if !record.State(st).Final() {
			ids = append(ids, id)
			counts[st]--
		}
	}
	sort.Strings(ids)
	for st, n := range counts {
		if n != 0 {
			dmg("meta", record.CountPrefix+st, fmt.Sprintf("counts %d payments more than the open-payment index holds", n))
		}
	}
	for _, id := range ids {
		st := q.byState[id]
		p, ok := q.payments[id]
		switch {
		case !ok:
			dmg(string(record.BucketByState), id, "indexes a payment that is not in the journal")
			continue
		case string(p.state) != st:
			dmg(string(record.BucketByState), id, fmt.Sprintf("indexed as %q, the payment is %s", st, p.state))
		case q.payState[id] != st:
			dmg(string(record.BucketPayState), id, fmt.Sprintf("says %q, the payment is %s", q.payState[id], p.state))
		}
		q.checkOrders(rep, id, p)
	}
	q.quickJobs(rep)
	q.checkOutboxStats(rep)
	q.quickEvents(rep)
}

// checkOrders: each order id of payment id points back at it.
func (q quickVisitor) checkOrders(rep *Report, id string, p *payIndex) {
	for _, oid := range p.orders {
		if got, ok := q.orders[oid]; !ok {
			rep.Findings = append(rep.Findings, Finding{Bucket: "orders", Key: oid, Problem: "order id of payment " + id + " is not indexed", Damage: true})
		} else if got != id {
			rep.Findings = append(rep.Findings, Finding{Bucket: "orders", Key: oid, Problem: fmt.Sprintf("indexed to %s, but payment %s owns it", got, id), Damage: true})
		}
	}
}

// quickJobs: every job names a payment (and refund) that exists.
func (q quickVisitor) quickJobs(rep *Report) {
	var maxJob uint64
	for _, j := range q.jobs {
		rep.Jobs++
		maxJob = max(maxJob, j.seq)
		p, ok := q.payments[j.paymentID]
		switch {
		case !ok:
			rep.Findings = append(rep.Findings, Finding{Bucket: "outbox", Key: printable(j.key), Problem: "job for payment " + j.paymentID + ", which is not in the journal", Damage: true})
		case j.refundID != "" && !p.refunds[j.refundID]:
			rep.Findings = append(rep.Findings, Finding{Bucket: "outbox", Key: printable(j.key), Problem: "job for refund " + j.refundID + ", which payment " + j.paymentID + " does not have", Damage: true})
		default:
			q.checkOrders(rep, j.paymentID, p)
		}
	}
	if maxJob > q.seqs[string(record.BucketOutbox)] {
		rep.Findings = append(rep.Findings, Finding{Bucket: "outbox", Problem: fmt.Sprintf("job #%d is past the outbox sequence %d", maxJob, q.seqs[string(record.BucketOutbox)]), Damage: true})
	}
}

// quickEvents: the newest events follow each other up to the sequence
// (but for recorded gaps), and each reads back whole.
func (q quickVisitor) quickEvents(rep *Report) {
	rep.LastSeq = q.seqs[string(record.BucketEvents)]
	from := uint64(1)
	if rep.LastSeq > quickEventTail {
		from = rep.LastSeq - quickEventTail + 1
	}
	var tail []uint64
	for _, seq := range q.evSeqs() {
		if seq >= from {
			tail = append(tail, seq)
		}
	}
	gaps := q.gaps()
	for i := 1; i < len(tail); i++ {
		a, b := tail[i-1], tail[i]
		if to, ok := gaps[a+1]; b != a+1 && !(ok && to >= b-1) {
			rep.Findings = append(rep.Findings, Finding{Bucket: "events", Key: fmt.Sprintf("#%d", a+1), Problem: fmt.Sprintf("events #%d to #%d are missing", a+1, b-1), Damage: true})
		}
	}
	if n := len(tail); n > 0 && tail[n-1] != rep.LastSeq {
		last := tail[n-1]
		problem := fmt.Sprintf("events #%d to #%d are missing (the newest)", last+1, rep.LastSeq)
		if last > rep.LastSeq {
			problem = fmt.Sprintf("past the event sequence %d", rep.LastSeq)
		}
		rep.Findings = append(rep.Findings, Finding{Bucket: "events", Key: fmt.Sprintf("#%d", last), Problem: problem, Damage: true})
	}
	checkLatest(rep, q.meta, rep.LastSeq)
	for _, seq := range record.LatestSeqs(q.meta) {
		if _, ok := q.evs[seq]; ok && seq < from {
			tail = append(tail, seq) // read back below; the sequence check above is the tail's
		}
	}
	r := record.NewEventReader(func(seq uint64) []byte { return q.evs[seq] })
	for _, seq := range tail {
		if _, err := r.Full(seq, q.evs[seq]); err != nil {
			rep.Findings = append(rep.Findings, Finding{Bucket: "events", Key: fmt.Sprintf("#%d", seq), Problem: "does not read back: " + err.Error(), Damage: true})
		}
	}
}

// evSeqs lists the sequences of the events read, in order.
func (q quickVisitor) evSeqs() []uint64 {
	out := make([]uint64, 0, len(q.evs))
	for seq := range q.evs {
		out = append(out, seq)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
