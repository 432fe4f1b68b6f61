package check

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/posagent/posagent/store/internal/fsutil"
	"github.com/posagent/posagent/store/record"
	bolt "go.etcd.io/bbolt"
)

// SalvageReport says what Salvage copied and what it could not.
type SalvageReport struct {
	From, To string
	// Copied counts the records written to the new journal, by bucket.
	Copied map[string]int
	// Rescued counts records found on pages whose parent page was lost
	// (recognised by their shape), included in Copied.
	Rescued int
	// Lost lists what could not be read: damaged pages, undecodable
	// records, and the problems the check of the damaged file found.
	Lost []Finding
	// Dropped lists records left out because what they point at was lost
	// (an outbox job of a payment that could not be read, ...).
	Dropped []string
	// Check is the check of the new journal.
	Check *Report
}

// Salvage copies every readable record of the journal file in (typically a
// damaged one) into a new journal file out, which must not exist. in is
// only read. Records are read with the checked page reader: a damaged
// page loses the records on it, never the others; pages whose parent was
// lost are searched for records too. The order index is rebuilt from the
// payments; outbox jobs, idempotency keys and code uses of lost payments
// are dropped; lost event sequences are recorded as a gap. The new journal
// is checked before Salvage returns.
func Salvage(in, out string, opt Options) (*SalvageReport, error) {
	if _, err := os.Lstat(out); err == nil {
		return nil, fmt.Errorf("store: salvage to %s: the file exists; choose a new name", out)
	}
	rep, inv, rescued, err := readDamaged(in, opt)
	if err != nil {
		return nil, fmt.Errorf("store: salvage %s: %w", in, err)
	}
	sr := &SalvageReport{From: in, To: out, Copied: map[string]int{}}
	for _, f := range rep.Findings {
		if f.Damage {
			sr.Lost = append(sr.Lost, f)
		}
	}
	if inv == nil {
		return sr, fmt.Errorf("store: salvage %s: nothing readable (%s)", in, rep.Findings[0])
	}
	sr.Rescued = rescued

	// What survives: payments first, then what points at them.
	sv := &salvager{sr: sr, inv: inv, pays: map[string]*record.Payment{}}
	for _, kv := range inv.records[string(record.BucketPayments)] {
		r, err := record.DecodePayment(kv[1])
		if err == nil {
			sv.pays[string(kv[0])] = r.Payment
		}
	}
	db, err := bolt.Open(out, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return sr, fmt.Errorf("store: salvage to %s: %w", out, err)
	}
	err = db.Update(sv.write)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out)
		return sr, fmt.Errorf("store: salvage to %s: %w", out, err)
	}
	return sr, finishSalvage(in, out, sr)
}

// readDamaged reads every readable record of the file in (kept in the
// inventory), also from pages whose parent was lost (rescued).
func readDamaged(in string, opt Options) (rep *Report, inv *inventory, rescued int, err error) {
	rep, err = checkFileWith(in, opt, true, func(f *os.File, rep *Report) {
		pf, fs := openPageFile(f, rep.Size)
		rep.Findings = append(rep.Findings, fs...)
		if pf == nil {
			return
		}
		m := pf.m()
		rep.PageSize, rep.Pages, rep.TxID = pf.ps, m.pgid, m.txid
		inv = newInventory()
		inv.keep = true
		w := &walker{pf: pf, v: inv}
		w.walk()
		rep.Findings = append(rep.Findings, w.finds...)
		inv.finish(rep)
		rescued = rescueOrphans(pf, w, inv)
	})
	return rep, inv, rescued, err
}

// finishSalvage copies the data keys beside the new journal (its open
// payments keep their codes) and checks it.
func finishSalvage(in, out string, sr *SalvageReport) error {
	if b, err := os.ReadFile(record.KeysPath(in)); err == nil {
		if err := fsutil.WriteFileSync(record.KeysPath(out), b, 0o600); err != nil {
			return fmt.Errorf("store: salvage: copy the data keys: %w", err)
		}
	}
	var err error
	sr.Check, err = CheckFile(out, Options{})
	if err != nil {
		return fmt.Errorf("store: salvage: check %s: %w", out, err)
	}
	if sr.Check.Damaged() {
		return fmt.Errorf("store: salvage: the new journal %s does not check clean: %v", out, &DamageError{Report: sr.Check})
	}
	return nil
}

// salvager writes what Salvage read into the new journal, in one
// transaction.
type salvager struct {
	sr   *SalvageReport
	inv  *inventory
	pays map[string]*record.Payment // the payments read
	tx   *bolt.Tx
	bk   map[string]*bolt.Bucket
	evr  *record.EventReader
	// maxEvent, maxJob: the highest sequences read; events: the events
	// written.
	maxEvent, maxJob uint64
	events           []uint64
}

// write is the transaction: the records, the order index, the sequences,
// the gaps.
func (sv *salvager) write(tx *bolt.Tx) error {
	sv.tx, sv.bk = tx, map[string]*bolt.Bucket{}
	for _, b := range record.CoreBuckets {
		if _, err := sv.bucket(string(b)); err != nil {
			return err
		}
	}
	// Events stored as deltas are written in full, from the readable
	// events; one whose base was lost is lost with it.
	readable := map[uint64][]byte{}
	for _, kv := range sv.inv.records[string(record.BucketEvents)] {
		if len(kv[0]) == 8 {
			readable[binary.BigEndian.Uint64(kv[0])] = kv[1]
		}
	}
	sv.evr = record.NewEventReader(func(seq uint64) []byte { return readable[seq] })
	names := make([]string, 0, len(sv.inv.records))
	for b := range sv.inv.records {
		names = append(names, b)
	}
	sort.Strings(names)
	for _, b := range names {
		for _, kv := range sv.inv.records[b] {
			v, ok := sv.keep(b, kv[0], kv[1])
			if !ok {
				continue
			}
			if err := sv.put(b, kv[0], v); err != nil {
				return err
			}
		}
	}
	if err := sv.orderIndex(); err != nil {
		return err
	}
	if err := restoreShiftSeqs(tx, sv.inv); err != nil {
		return err
	}
	if err := sv.bk[string(record.BucketOutbox)].SetSequence(max(sv.maxJob, sv.inv.seqs[string(record.BucketOutbox)])); err != nil {
		return err
	}
	seq := max(sv.maxEvent, sv.inv.seqs[string(record.BucketEvents)])
	if err := sv.bk[string(record.BucketEvents)].SetSequence(seq); err != nil {
		return err
	}
	if err := sv.gaps(seq); err != nil {
		return err
	}
	if meta := sv.bk[string(record.BucketMeta)]; meta.Get(record.KeySchema) == nil {
		return meta.Put(record.KeySchema, record.U64(record.SchemaVersion))
	}
	return nil
}

func (sv *salvager) bucket(name string) (*bolt.Bucket, error) {
	if b, ok := sv.bk[name]; ok {
		return b, nil
	}
	b, err := sv.tx.CreateBucketIfNotExists([]byte(name))
	sv.bk[name] = b
	return b, err
}

func (sv *salvager) put(b string, k, v []byte) error {
	bb, err := sv.bucket(b)
	if err != nil {
		return err
	}
	sv.sr.Copied[b]++
	return bb.Put(k, v)
}

// keep says whether record k of bucket b is copied, and as what: derived
// records are rebuilt, records of lost payments dropped, events written in
// full.
func (sv *salvager) keep(b string, k, v []byte) ([]byte, bool) {
	switch b {
	case string(record.BucketOrders):
		return nil, false // rebuilt below
	case string(record.BucketDue), string(record.BucketOutboxStats):
		return nil, false // derived from the outbox; rebuilt on first use
	case string(record.BucketAuditAt):
		return nil, false // derived from the events; rebuilt by the next audit event
	case string(record.BucketPayState), string(record.BucketByState):
		return nil, false // derived from the payments; rebuilt by Open
	case string(record.BucketEvLast):
		return nil, false // events are written in full below
	case string(record.BucketMeta):
		return v, !record.IsIndexMeta(string(k))
	case string(record.BucketOutbox):
		var j record.Job
		json.Unmarshal(v, &j)
		p, ok := sv.pays[j.PaymentID]
		if !ok || (j.RefundID != "" && p.Refund(j.RefundID) == nil) {
			sv.sr.Dropped = append(sv.sr.Dropped, fmt.Sprintf("outbox %s (%s job of payment %s, which was lost)", printable(k), j.Kind, j.PaymentID))
			return nil, false
		}
		sv.maxJob = max(sv.maxJob, binary.BigEndian.Uint64(k))
	case string(record.BucketIdem):
		var r record.Idem
		json.Unmarshal(v, &r)
		if _, ok := sv.pays[r.PaymentID]; !ok {
			sv.sr.Dropped = append(sv.sr.Dropped, fmt.Sprintf("idempotency key %s (payment %s was lost)", printable(k), r.PaymentID))
			return nil, false
		}
	case "codes":
		var u struct {
			PaymentID string `json:"payment_id"`
		}
		json.Unmarshal(v, &u)
		if _, ok := sv.pays[u.PaymentID]; !ok {
			sv.sr.Dropped = append(sv.sr.Dropped, "code use of payment "+u.PaymentID+" (lost)")
			return nil, false
		}
	case string(record.BucketEvents):
		seq := binary.BigEndian.Uint64(k)
		sv.maxEvent = max(sv.maxEvent, seq)
		full, err := sv.evr.Full(seq, v)
		if err != nil {
			return nil, false // a recorded gap, below
		}
		sv.events = append(sv.events, seq)
		return full, true
	}
	return v, true
}

// orderIndex rebuilds the order index from the payments.
func (sv *salvager) orderIndex() error {
	for id, p := range sv.pays {
		oids := []string{p.OrderID}
		for _, r := range p.Refunds {
			oids = append(oids, r.OrderID)
		}
		for _, oid := range oids {
			if oid != "" {
				if err := sv.put(string(record.BucketOrders), []byte(oid), []byte(id)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// gaps records the gaps the damaged journal had accepted, and the event
// sequences lost with their pages (up to seq) as new ones.
func (sv *salvager) gaps(seq uint64) error {
	events := sv.events
	sort.Slice(events, func(i, j int) bool { return events[i] < events[j] })
	meta := sv.bk[string(record.BucketMeta)]
	gap := func(from, to uint64) error {
		if to < from {
			return nil
		}
		sv.sr.Lost = append(sv.sr.Lost, Finding{Bucket: "events", Key: fmt.Sprintf("#%d", from), Problem: fmt.Sprintf("events #%d to #%d were lost", from, to)})
		return meta.Put([]byte(record.GapPrefix+string(record.U64(from))), record.U64(to))
	}
	known := sv.inv.gaps()
	for k, v := range known {
		if err := meta.Put([]byte(record.GapPrefix+string(record.U64(k))), record.U64(v)); err != nil {
			return err
		}
	}
	for i := 1; i < len(events); i++ {
		if a, b := events[i-1], events[i]; b > a+1 {
			if to, ok := known[a+1]; ok && to >= b-1 {
				continue
			}
			if err := gap(a+1, b-1); err != nil {
				return err
			}
		}
	}
	if n := len(events); n > 0 && events[n-1] < seq {
		return gap(events[n-1]+1, seq)
	}
	return nil
}

// rescueOrphans reads the leaf pages that are neither in use nor free
// (their parent page was lost) and keeps the records whose shape says
// where they belong: payments, outbox jobs, events, idempotency keys.
func rescueOrphans(pf *pageFile, w *walker, inv *inventory) int {
	have := map[string]map[string]bool{}
	for b, kvs := range inv.records {
		have[b] = map[string]bool{}
		for _, kv := range kvs {
			have[b][string(kv[0])] = true
		}
	}
	n := 0
	for _, id := range w.unreached {
		p, err := pf.page(id)
		if err != nil {
			continue
		}
		fl, els, err := elements(p)
		if err != nil || fl != flagLeaf {
			continue
		}
		for _, e := range els {
			if e.bucket {
				continue
			}
			b := shapeOf(e.key, e.value)
			if b == "" || have[b][string(e.key)] {
				continue
			}
			if have[b] == nil {
				have[b] = map[string]bool{}
			}
			have[b][string(e.key)] = true
			inv.records[b] = append(inv.records[b], [2][]byte{bytes.Clone(e.key), bytes.Clone(e.value)})
			n++
		}
	}
	return n
}

// shapeOf recognises a record by its key and value.
func shapeOf(k, v []byte) string {
	if bytes.HasPrefix(k, []byte("pay_")) {
		if r, err := record.DecodePayment(v); err == nil && r.ID == string(k) && r.OrderID != "" {
			return string(record.BucketPayments)
		}
		return ""
	}
	if len(k) == 8 && len(v) > 0 && v[0] == record.PackFlate2 {
		js, err := record.UnpackEvent(v) // a packed event (record/codec.go)
		if err != nil {
			return ""
		}
		v = js
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil {
		return ""
	}
	if len(k) == 8 {
		var seq uint64
		if json.Unmarshal(m["seq"], &seq) == nil && seq == binary.BigEndian.Uint64(k) {
			if _, ok := m["kind"]; ok {
				if _, ok := m["payment_id"]; ok {
					return string(record.BucketOutbox)
				}
				return string(record.BucketEvents)
			}
		}
	}
	if _, ok := m["hash"]; ok {
		if _, ok := m["payment_id"]; ok {
			return string(record.BucketIdem)
		}
	}
	return ""
}
