package books

import (
	"cmp"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/posagent/posagent/store"
)

// Late settlements. A Z report counts what was settled when it was made;
// what was not (a payment in doubt, processing or awaiting its code, a
// refund pending or in doubt, a payment resolved by hand whose follow-up
// query still runs) is listed in its Unsettled items, with what the report
// counted of each. The next report (X or Z) looks at those items again:
// each one that settled since, or whose money changed, is a late
// settlement of its shift's Z report, counted in the new report's Late
// section and in its Net; the ones still open are carried into its own
// Unsettled list. A closed Z report is never rewritten, and the sum of the
// Z reports' nets over a run of closed shifts is the gateway's net for
// their payments (once nothing of theirs is unsettled).

// UnsettledItem is a payment or refund that could still settle, or change
// its money, when a report was made.
type UnsettledItem struct {
	Z         uint64 `json:"z,omitempty"` // its shift's Z report (0: the open shift, in an X report)
	Shift     uint64 `json:"shift"`
	Kind      string `json:"kind"` // payment | refund
	PaymentID string `json:"payment_id"`
	RefundID  string `json:"refund_id,omitempty"`
	OrderID   string `json:"order_id"`
	State     string `json:"state"`  // when the report was made
	Amount    int64  `json:"amount"` // the payment's (without tip) or the refund's
	// Counted is what the reports have counted of it so far: the sale's
	// amount and tip (a payment), or the amount refunded (a refund).
	Counted    int64 `json:"counted"`
	CountedTip int64 `json:"counted_tip,omitempty"`
}

// LateItem is one late settlement: an unsettled item of an earlier Z
// report that settled, or whose money changed, since the last report.
type LateItem struct {
	Z         uint64 `json:"z"`
	Shift     uint64 `json:"shift"`
	Kind      string `json:"kind"` // payment | refund
	PaymentID string `json:"payment_id"`
	RefundID  string `json:"refund_id,omitempty"`
	OrderID   string `json:"order_id"`
	From      string `json:"from"`  // its state in the last report
	State     string `json:"state"` // its state now
	// Sales, Tips and Refunded are what is counted now that was not
	// before (negative: counted before and no longer true).
	Sales    int64 `json:"sales"`
	Tips     int64 `json:"tips"`
	Refunded int64 `json:"refunded"`
	Net      int64 `json:"net"`
}

// LateZ sums the late settlements of one earlier Z report.
type LateZ struct {
	Z       uint64 `json:"z"`
	Shift   uint64 `json:"shift"`
	Count   int    `json:"count"`   // items settled or changed
	Sales   Totals `json:"sales"`   // payments found paid (count, amount)
	Tips    int64  `json:"tips"`    // their tips
	Refunds Totals `json:"refunds"` // refunds found made (count, amount)
	Net     int64  `json:"net"`     // sales + tips - refunds
}

// Late is a report's late settlements: what settled since the last Z
// report of payments and refunds of earlier shifts, by Z report.
type Late struct {
	// SinceZ is the Z report whose unsettled items were looked at again
	// (0: none made yet).
	SinceZ uint64 `json:"since_z"`
	// Seeded: that Z report lists no unsettled items (made before this
	// section existed, or unreadable); its in-doubt payments and the open
	// items of earlier shifts found in the journal were taken instead.
	Seeded  bool       `json:"seeded,omitempty"`
	Count   int        `json:"count"`
	Sales   Totals     `json:"sales"`
	Tips    int64      `json:"tips"`
	Refunds Totals     `json:"refunds"`
	Net     int64      `json:"net"`
	ByZ     []LateZ    `json:"by_z"`
	Items   []LateItem `json:"items"`
}

// lateBook computes one report's late settlements and unsettled items
// while buildReport reads the payments.
type lateBook struct {
	shift  uint64                     // the report's shift
	prev   map[itemRef]*UnsettledItem // the last Z report's unsettled items, by key
	seeded bool                       // prev is partial: take open items of earlier shifts from the journal
	jobs   map[itemRef]bool           // items with a follow-up job: itemKey of the payment, of the refund
	zOf    func(shift uint64) uint64  // a closed shift's Z report
	late   []LateItem
	open   []UnsettledItem
}

// itemRef is an item's key in lateBook's maps: a payment's id, or a
// refund's.
type itemRef struct {
	refund bool
	id     string
}

func itemKey(kind, id string) itemRef { return itemRef{refund: kind == "refund", id: id} }

// newLateBook reads the last Z report's unsettled items and the outbox.
func (b *Books) newLateBook(tx *store.Tx, sh *store.Shift, late *Late) (*lateBook, error) {
	lb := &lateBook{shift: sh.No, prev: map[itemRef]*UnsettledItem{}, jobs: map[itemRef]bool{}}
	zs := map[uint64]uint64{}
	lb.zOf = func(shift uint64) uint64 {
		if z, ok := zs[shift]; ok {
			return z
		}
		var z uint64
		if s, err := tx.Shift(shift); err == nil {
			z = s.Z
		}
		zs[shift] = z
		return z
	}
	jobs, err := tx.Jobs()
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if j.Kind == store.JobReceipt {
			continue // printing changes no money
		}
		// A follow-up (a query, a refund, a check after a resolution by
		// hand) may still change the payment's money, or its refund's.
		lb.jobs[itemKey("payment", j.PaymentID)] = true
		if j.RefundID != "" {
			lb.jobs[itemKey("refund", j.RefundID)] = true
		}
	}
	last := tx.LastZ()
	late.SinceZ = last
	if last == 0 {
		return lb, nil
	}
	var prev struct {
		Shift     store.Shift      `json:"shift"`
		Unsettled *[]UnsettledItem `json:"unsettled"`
		InDoubt   []InDoubtLine    `json:"in_doubt"`
	}
	z, err := tx.Z(last)
	if err == nil {
		err = json.Unmarshal(z.Report, &prev)
	}
	switch {
	case err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrChecksum):
		return nil, err
	case err != nil:
		b.log.Warn("agent: the last Z report is unreadable; late settlements are taken from the journal", "z", last, "err", err)
		lb.seeded = true
	case prev.Unsettled == nil: // a Z report made before this section existed
		lb.seeded = true
		for _, d := range prev.InDoubt {
			lb.prev[itemKey("payment", d.ID)] = &UnsettledItem{Z: last, Shift: prev.Shift.No, Kind: "payment", PaymentID: d.ID,
				OrderID: d.OrderID, State: string(d.State), Amount: d.Amount}
		}
	default:
		for i := range *prev.Unsettled {
			u := &(*prev.Unsettled)[i]
			lb.prev[itemKey(u.Kind, u.key())] = u
		}
	}
	late.Seeded = lb.seeded
	return lb, nil
}

// key is the item's id: its refund's, or its payment's.
func (u *UnsettledItem) key() string {
	if u.Kind == "refund" {
		return u.RefundID
	}
	return u.PaymentID
}

// payment looks at one payment of the journal and its refunds.
func (lb *lateBook) payment(p *store.Payment) {
	sale, tip := int64(0), int64(0)
	if taken(p) {
		sale, tip = p.Amount, tipOf(p)
	}
	lb.item(UnsettledItem{Shift: p.Shift, Kind: "payment", PaymentID: p.ID, OrderID: p.OrderID, State: string(p.State),
		Amount: p.Amount, Counted: sale, CountedTip: tip}, p.State.Final(), lb.jobs[itemKey("payment", p.ID)])
	for _, r := range p.Refunds {
		var refunded int64
		if r.State == store.RefundSucceeded {
			refunded = r.Amount
		}
		lb.item(UnsettledItem{Shift: r.Shift, Kind: "refund", PaymentID: p.ID, RefundID: r.ID, OrderID: r.OrderID,
			State: string(r.State), Amount: r.Amount, Counted: refunded}, r.State.Final(), lb.jobs[itemKey("refund", r.ID)])
	}
}

// item compares one payment or refund (cur: as it is now, Counted its
// money now) with what the last Z report counted of it: a late settlement
// when it settled or its money changed since; carried while it may still
// change (not final, or a follow-up job of it is due).
func (lb *lateBook) item(cur UnsettledItem, final, job bool) {
	open := !final || job
	key := itemKey(cur.Kind, cur.key())
	u, had := lb.prev[key]
	switch {
	case had:
		delete(lb.prev, key)
		cur.Z, cur.Shift = u.Z, u.Shift
		settled := final && !lb.wasFinal(u)
		if settled || cur.Counted != u.Counted || cur.CountedTip != u.CountedTip {
			l := LateItem{Z: u.Z, Shift: u.Shift, Kind: cur.Kind, PaymentID: cur.PaymentID, RefundID: cur.RefundID,
				OrderID: cur.OrderID, From: u.State, State: cur.State}
			if cur.Kind == "refund" {
				l.Refunded = cur.Counted - u.Counted
			} else {
				l.Sales, l.Tips = cur.Counted-u.Counted, cur.CountedTip-u.CountedTip
			}
			l.Net = l.Sales + l.Tips - l.Refunded
			lb.late = append(lb.late, l)
		}
	case cur.Shift == lb.shift:
		// The report's own shift: counted in its totals as it is now.
	case lb.seeded && cur.Shift > 0 && cur.Shift < lb.shift && open:
		// Not listed by the last Z report: open since its shift's Z (a
		// final item never reopens), counted as it is now.
		cur.Z = lb.zOf(cur.Shift)
	default:
		return
	}
	if open {
		lb.open = append(lb.open, cur)
	}
}

func (lb *lateBook) wasFinal(u *UnsettledItem) bool {
	if u.Kind == "refund" {
		return store.RefundState(u.State).Final()
	}
	return store.State(u.State).Final()
}

// finish sums the late settlements into rep and lists its unsettled items
// (those of the last Z report no longer in the journal stay listed).
func (lb *lateBook) finish(rep *Report) {
	for _, u := range lb.prev {
		lb.open = append(lb.open, *u)
	}
	slices.SortFunc(lb.late, func(a, b LateItem) int {
		return cmpItems([2]uint64{a.Z, a.Shift}, [3]string{a.Kind, a.PaymentID, a.RefundID}, [2]uint64{b.Z, b.Shift}, [3]string{b.Kind, b.PaymentID, b.RefundID})
	})
	slices.SortFunc(lb.open, func(a, b UnsettledItem) int {
		return cmpItems([2]uint64{a.Shift, a.Z}, [3]string{a.Kind, a.PaymentID, a.RefundID}, [2]uint64{b.Shift, b.Z}, [3]string{b.Kind, b.PaymentID, b.RefundID})
	})
	l := &rep.Late
	l.ByZ, l.Items = []LateZ{}, lb.late
	if l.Items == nil {
		l.Items = []LateItem{}
	}
	rep.Unsettled = lb.open
	if rep.Unsettled == nil {
		rep.Unsettled = []UnsettledItem{}
	}
	for _, it := range l.Items {
		if n := len(l.ByZ); n == 0 || l.ByZ[n-1].Z != it.Z || l.ByZ[n-1].Shift != it.Shift {
			l.ByZ = append(l.ByZ, LateZ{Z: it.Z, Shift: it.Shift})
		}
		z := &l.ByZ[len(l.ByZ)-1]
		z.Count++
		if it.Sales != 0 {
			z.Sales.Count++
			z.Sales.Amount += it.Sales
		}
		if it.Refunded != 0 {
			z.Refunds.Count++
			z.Refunds.Amount += it.Refunded
		}
		z.Tips += it.Tips
		z.Net += it.Net
	}
	for _, z := range l.ByZ {
		l.Count += z.Count
		l.Sales.Count, l.Sales.Amount = l.Sales.Count+z.Sales.Count, l.Sales.Amount+z.Sales.Amount
		l.Refunds.Count, l.Refunds.Amount = l.Refunds.Count+z.Refunds.Count, l.Refunds.Amount+z.Refunds.Amount
		l.Tips += z.Tips
		l.Net += z.Net
	}
}

// cmpItems orders items by numbers, then by strings.
func cmpItems(an [2]uint64, as [3]string, bn [2]uint64, bs [3]string) int {
	for i := range an {
		if c := cmp.Compare(an[i], bn[i]); c != 0 {
			return c
		}
	}
	for i := range as {
		if c := strings.Compare(as[i], bs[i]); c != 0 {
			return c
		}
	}
	return 0
}
