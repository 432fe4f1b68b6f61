package check

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"strings"

	"github.com/posagent/posagent/store/record"
)

// The streamed check of the whole journal (the check while the agent
// runs). The record-level check (inventory) keeps every payment id, order
// id, idempotency key and index entry in maps to cross-check them at the
// end: some 1 KB of memory per payment, 200 MB at 100,000 payments. The
// streamed check keeps, for each pair of records that must mirror each
// other (a payment's order ids and the order index; a payment's state and
// its pay_state and by_state entries; the audit events and the audit
// index), a count and a sum of a keyed 64-bit hash of each entry (maphash,
// a seed drawn for each check): both sides hold the same entries exactly
// when the counts and the sums agree, but for a chance of 2^-64 per check
// that nobody can steer (the seed is secret and new each time). What it
// must look up, whether a payment exists (jobs, idempotency keys), is a
// set of the ids' hashes, 8 bytes each. Its memory follows the outbox and
// a few small buckets, plus 8 bytes per payment.
//
// It only says "sound" or "not sound": when anything disagrees it returns
// false and the caller runs the record-level check, whose findings (with
// keys and payments named) are the ones reported. Damage is rare; the
// memory of the exact check is then spent once.

// mirror is one side of a mirrored pair: how many entries, and the sum of
// their hashes.
type mirror struct{ n, sum uint64 }

func (m *mirror) add(h uint64) { m.n++; m.sum += h }

// sumInventory is the streamed inventory. The small buckets (meta,
// outbox and its indexes, shifts) go to the embedded record-level
// inventory as before; the large ones are summed.
type sumInventory struct {
	*inventory
	seed maphash.Seed

	pays     map[uint64]struct{}     // hash of every payment id
	refunds  map[uint64]struct{}     // hash of payment id and refund id
	idemPays []uint64                // hash of the payment each idempotency key names
	counts   map[record.State]uint64 // payments by state
	open     int

	orderP, orderO      mirror // (order id, payment id): from the payments, from the order index
	stateP, payState    mirror // (payment id, state): from the payments, from pay_state
	byState             mirror // (payment id, state) from by_state
	auditEv, auditIndex mirror // audit_at keys: from the audit events, in the index

	events, lastEv uint64
	holes          [][2]uint64 // sequence jumps: (previous, next)
	notSound       bool        // a record that did not decode, or disagreed
}

func newSumInventory() *sumInventory {
	return &sumInventory{inventory: newInventory(), seed: maphash.MakeSeed(),
		pays: map[uint64]struct{}{}, refunds: map[uint64]struct{}{}, counts: map[record.State]uint64{}}
}

// h hashes parts, each followed by a 0 byte (ids hold none).
func (s *sumInventory) h(parts ...string) uint64 {
	var mh maphash.Hash
	mh.SetSeed(s.seed)
	for _, p := range parts {
		mh.WriteString(p)
		mh.WriteByte(0)
	}
	return mh.Sum64()
}

func (s *sumInventory) record(b string, k, v []byte) {
	switch b {
	case string(record.BucketPayments):
		s.payment(k, v)
	case string(record.BucketOrders):
		s.orderO.add(s.h(string(k), string(v)))
	case string(record.BucketIdem):
		var r record.Idem
		if err := json.Unmarshal(v, &r); err != nil {
			s.notSound = true
			return
		}
		if r.PaymentID != "" {
			s.idemPays = append(s.idemPays, s.h(r.PaymentID))
		}
	case string(record.BucketEvents):
		s.event(k, v)
	case string(record.BucketAuditAt):
		if len(k) != 16 {
			s.notSound = true
			return
		}
		s.auditIndex.add(s.h(string(k)))
	case string(record.BucketPayState):
		s.payState.add(s.h(string(k), string(v)))
	case string(record.BucketByState):
		st, id, ok := strings.Cut(string(k), "\x00")
		if !ok {
			s.notSound = true
			return
		}
		s.byState.add(s.h(id, st))
	default:
		s.inventory.record(b, k, v)
	}
}

func (s *sumInventory) payment(k, v []byte) {
	p, err := record.DecodePayment(v)
	if err != nil || p.ID != string(k) || p.OrderID == "" {
		s.notSound = true
		return
	}
	if p.Sealed != "" {
		if _, _, err := record.ParseSealed(p.Sealed); err != nil {
			s.notSound = true
			return
		}
	}
	s.pays[s.h(p.ID)] = struct{}{}
	s.counts[p.State]++
	if !p.State.Final() {
		s.open++
	}
	s.stateP.add(s.h(p.ID, string(p.State)))
	s.orderP.add(s.h(p.OrderID, p.ID))
	for _, r := range p.Refunds {
		s.orderP.add(s.h(r.OrderID, p.ID))
		s.refunds[s.h(p.ID, r.ID)] = struct{}{}
	}
}

func (s *sumInventory) event(k, v []byte) {
	v, err := record.UnpackEvent(v)
	if err != nil || len(k) != 8 || !json.Valid(v) {
		s.notSound = true
		return
	}
	seq := binary.BigEndian.Uint64(k)
	if s.events > 0 && seq != s.lastEv+1 {
		s.holes = append(s.holes, [2]uint64{s.lastEv, seq})
	}
	s.events++
	s.lastEv = seq
	var h record.EventHead
	if json.Unmarshal(v, &h) == nil && h.Kind == record.KindAudit {
		s.auditEv.add(s.h(string(record.AuditKey(h.At, seq))))
	}
}

// finishSum fills rep and reports whether the journal is sound as far as
// the sums can tell; false means: run the record-level check.
func (s *sumInventory) finishSum(rep *Report) bool {
	if !s.finishCore(rep) {
		return !rep.Damaged()
	}
	if s.notSound || len(s.lostIn) > 0 || rep.Damaged() {
		return false
	}
	rep.Payments, rep.Open = len(s.pays), s.open
	rep.Orders, rep.IdemKeys = int(s.orderO.n), len(s.idemPays)
	if s.orderP != s.orderO || uint64(len(s.pays)) != s.stateP.n {
		return false // an order id missing, foreign or claimed twice; a payment id twice
	}
	if record.Indexed(s.meta) {
		if s.stateP != s.payState || s.stateP != s.byState {
			return false
		}
		for _, st := range record.States {
			var n uint64
			if v := s.meta[record.CountPrefix+string(st)]; len(v) == 8 {
				n = binary.BigEndian.Uint64(v)
			}
			if n != s.counts[st] {
				return false
			}
		}
	}
	for _, pid := range s.idemPays {
		if _, ok := s.pays[pid]; !ok {
			return false // a warning the record-level check names
		}
	}
	if !s.sumJobs(rep) {
		return false
	}
	return s.sumEvents(rep)
}

// sumJobs: every job names a payment (and refund) that exists; the outbox
// counters and the audit index agree.
func (s *sumInventory) sumJobs(rep *Report) bool {
	var maxJob uint64
	for _, j := range s.jobs {
		rep.Jobs++
		maxJob = max(maxJob, j.seq)
		if _, ok := s.pays[s.h(j.paymentID)]; !ok {
			return false
		}
		if _, ok := s.refunds[s.h(j.paymentID, j.refundID)]; j.refundID != "" && !ok {
			return false
		}
	}
	if maxJob > s.seqs[string(record.BucketOutbox)] {
		return false
	}
	n := len(rep.Findings)
	s.checkOutboxStats(rep)
	if s.buckets[string(record.BucketAuditAt)] && s.auditEv != s.auditIndex {
		return false
	}
	return len(rep.Findings) == n
}

// sumEvents: the events follow each other but for recorded gaps, up to
// the sequence; the latest/ entries name assigned sequences.
func (s *sumInventory) sumEvents(rep *Report) bool {
	rep.Events, rep.LastSeq = int(s.events), s.seqs[string(record.BucketEvents)]
	gaps := s.gaps()
	for _, h := range s.holes {
		if to, ok := gaps[h[0]+1]; !ok || to < h[1]-1 {
			return false
		}
	}
	if s.events > 0 && s.lastEv != rep.LastSeq {
		return false
	}
	n := len(rep.Findings)
	checkLatest(rep, s.meta, rep.LastSeq)
	return len(rep.Findings) == n
}

// String is for test failures.
func (m mirror) String() string { return fmt.Sprintf("%d entries, sum %x", m.n, m.sum) }
