package books

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/store"
)

// Report is an X report (kind "x": the open shift so far, changes
// nothing) or a Z report (kind "z": the shift as closed, numbered, stored
// in the journal with its checksum). Amounts are integers in minor units.
//
// Sales are the payments of the shift whose money was taken (succeeded,
// and reversed: paid late and refunded automatically); refunds are the
// succeeded refunds created during the shift (of any payment), automatic
// reversals included. ShiftNet is sales plus tips minus refunds. Late is
// what settled since the last Z report of payments and refunds of earlier
// shifts (late.go); Net is ShiftNet plus Late.Net, so that the Z
// reports' nets add up to the gateway's net. Each total is the sum of its
// lines: ByWallet, ByMode and ByOperator each add up to Sales, Refunds and
// ShiftNet; ByState adds up to Payments.
type Report struct {
	Kind         string       `json:"kind"`
	Z            uint64       `json:"z,omitempty"`
	SHA256       string       `json:"sha256,omitempty"` // the stored report's checksum (not part of the checksummed bytes)
	Shift        store.Shift  `json:"shift"`
	Merchant     string       `json:"merchant"`
	Lane         string       `json:"lane"`
	Currency     string       `json:"currency"`
	TimeZone     string       `json:"time_zone"`
	GeneratedAt  time.Time    `json:"generated_at"`
	LastEventSeq uint64       `json:"last_event_seq"`
	Payments     Totals       `json:"payments"` // every payment of the shift, in any state
	ByState      []Line       `json:"by_state"`
	Sales        Totals       `json:"sales"`
	Tips         int64        `json:"tips"`
	Refunds      RefundTotals `json:"refunds"`
	ShiftNet     int64        `json:"shift_net"` // sales + tips - refunds of this shift
	// Late are the late settlements of earlier shifts' Z reports.
	Late       Late   `json:"late"`
	Net        int64  `json:"net"` // ShiftNet + Late.Net
	ByWallet   []Line `json:"by_wallet"`
	ByMode     []Line `json:"by_mode"`
	ByOperator []Line `json:"by_operator"`
	// InDoubt lists the payments of the shift whose outcome is not known
	// yet: they are in none of the totals above.
	InDoubt []InDoubtLine `json:"in_doubt"`
	// Unsettled are the payments and refunds, of this shift and earlier
	// ones, that may still settle or change: the next report looks at
	// them again (late settlements).
	Unsettled []UnsettledItem `json:"unsettled"`
}

// Totals is a count and an amount.
type Totals struct {
	Count  int   `json:"count"`
	Amount int64 `json:"amount"`
}

// Line is one group of a report: its sales (count, amount), tips, the
// succeeded refunds of the shift that fall in it and the net.
type Line struct {
	Key      string `json:"key"`
	Count    int    `json:"count"`
	Amount   int64  `json:"amount"`
	Tips     int64  `json:"tips"`
	Refunds  int    `json:"refunds"`
	Refunded int64  `json:"refunded"`
	Net      int64  `json:"net"`
}

// RefundTotals are the refunds of a shift.
type RefundTotals struct {
	Count           int   `json:"count"`
	Amount          int64 `json:"amount"`
	Automatic       int   `json:"automatic"` // of which automatic reversals (late payments refunded)
	AutomaticAmount int64 `json:"automatic_amount"`
	// Pending are refunds asked for but not settled yet (pending, in
	// doubt): in no total.
	Pending       int   `json:"pending"`
	PendingAmount int64 `json:"pending_amount"`
}

// InDoubtLine is a payment whose outcome is not known yet.
type InDoubtLine struct {
	ID         string      `json:"id"`
	OrderID    string      `json:"order_id"`
	State      store.State `json:"state"`
	Amount     int64       `json:"amount"`
	Since      time.Time   `json:"since"`
	AgeSeconds int64       `json:"age_seconds"`
}

// tipOf is a payment's tip: every report line and total follows it.
func tipOf(p *store.Payment) int64 { return p.Tip }

// taken reports whether a payment's money was taken by the gateway.
func taken(p *store.Payment) bool { return p.State == store.Succeeded || p.State == store.Reversed }

// XReport builds the X report of the open shift (no_open_shift).
func (b *Books) XReport() (*Report, error) {
	var rep *Report
	err := b.st.View(func(tx *store.Tx) error {
		sh, err := tx.OpenShift()
		if err != nil {
			return err
		}
		if sh == nil {
			return errf(operr.CodeNoOpenShift, "no shift is open: the first payment opens one, or open one with posagent shift open")
		}
		rep, err = b.buildReport(tx, sh, "x", b.now())
		return err
	})
	return rep, err
}

// ZReport reads a stored Z report and checks its checksum.
func (b *Books) ZReport(no uint64) (*Report, []byte, error) {
	var z *store.ZRecord
	err := b.st.View(func(tx *store.Tx) (err error) {
		z, err = tx.Z(no)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, errf(operr.CodeNotFound, "no Z report %d", no)
	}
	if errors.Is(err, store.ErrChecksum) {
		return nil, nil, errf(operr.CodeReportCorrupt, "Z report %d does not match its checksum: the journal was damaged; run posagent journal check", no)
	}
	if err != nil {
		return nil, nil, err
	}
	var rep Report
	if err := json.Unmarshal(z.Report, &rep); err != nil {
		return nil, nil, fmt.Errorf("agent: Z report %d: %w", no, err)
	}
	rep.SHA256 = z.SHA256
	return &rep, z.Report, nil
}

// ZList lists the Z reports' numbers, shifts and checksums, newest first.
func (b *Books) ZList(limit int) ([]store.ZRecord, error) {
	var out []store.ZRecord
	err := b.st.View(func(tx *store.Tx) error {
		zs, err := tx.ZList(limit)
		for _, z := range zs {
			z.Report = nil
			z.At = z.At.In(b.Location())
			out = append(out, *z)
		}
		return err
	})
	return out, err
}

// lineSet accumulates the lines of one grouping.
type lineSet map[string]*Line

func (s lineSet) at(k string) *Line {
	if k == "" {
		k = "-"
	}
	l := s[k]
	if l == nil {
		l = &Line{Key: k}
		s[k] = l
	}
	return l
}

// sorted returns the lines by key, with their nets.
func (s lineSet) sorted() []Line {
	out := make([]Line, 0, len(s))
	for _, l := range s {
		l.Net = l.Amount + l.Tips - l.Refunded
		out = append(out, *l)
	}
	slices.SortFunc(out, func(a, b Line) int {
		if a.Key < b.Key {
			return -1
		}
		if a.Key > b.Key {
			return 1
		}
		return 0
	})
	return out
}

// buildReport reads every payment of the journal once and sums those of
// shift sh (and the refunds made during it). Totals are sums of lines.
func (b *Books) buildReport(tx *store.Tx, sh *store.Shift, kind string, now time.Time) (*Report, error) {
	loc := b.Location()
	shift := *sh
	shift.OpenedAt = shift.OpenedAt.In(loc)
	if !shift.ClosedAt.IsZero() {
		shift.ClosedAt = shift.ClosedAt.In(loc)
	}
	rep := &Report{Kind: kind, Shift: shift, Merchant: b.o.Merchant, Lane: sh.Lane, Currency: b.o.Currency,
		TimeZone: loc.String(), GeneratedAt: now.In(loc), LastEventSeq: tx.LastEventSeq(), InDoubt: []InDoubtLine{}}
	states := lineSet{}
	wallets, modes, operators := lineSet{}, lineSet{}, lineSet{}
	lb, err := b.newLateBook(tx, sh, &rep.Late)
	if err != nil {
		return nil, fmt.Errorf("agent: report of shift %d: %w", sh.No, err)
	}
	err = tx.ForEachPayment(false, "", func(p *store.Payment) (bool, error) {
		lb.payment(p)
		if p.Shift == sh.No {
			s := states.at(string(p.State))
			s.Count++
			s.Amount += p.Amount
			switch {
			case taken(p):
				tip := tipOf(p)
				for _, l := range []*Line{wallets.at(p.Wallet), modes.at(p.Mode), operators.at(p.Operator)} {
					l.Count++
					l.Amount += p.Amount
					l.Tips += tip
				}
			case !p.State.Final() && p.State != store.AwaitingCode:
				since := p.CreatedAt
				rep.InDoubt = append(rep.InDoubt, InDoubtLine{ID: p.ID, OrderID: p.OrderID, State: p.State, Amount: p.Amount,
					Since: since.In(loc), AgeSeconds: int64(now.Sub(since) / time.Second)})
			}
		}
		for _, r := range p.Refunds {
			if r.Shift != sh.No {
				continue
			}
			switch r.State {
			case store.RefundSucceeded:
				op := r.Operator
				switch {
				case r.Auto:
					op = "(automatic)"
				case op == "":
					op = p.Operator
				}
				for _, l := range []*Line{wallets.at(p.Wallet), modes.at(p.Mode), operators.at(op)} {
					l.Refunds++
					l.Refunded += r.Amount
				}
				if r.Auto {
					rep.Refunds.Automatic++
					rep.Refunds.AutomaticAmount += r.Amount
				}
			case store.RefundPending, store.RefundInDoubt:
				rep.Refunds.Pending++
				rep.Refunds.PendingAmount += r.Amount
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("agent: report of shift %d: %w", sh.No, err)
	}
	rep.ByState = states.sorted()
	rep.ByWallet, rep.ByMode, rep.ByOperator = wallets.sorted(), modes.sorted(), operators.sorted()
	for _, l := range rep.ByState {
		rep.Payments.Count += l.Count
		rep.Payments.Amount += l.Amount
	}
	// The totals are the sums of one grouping's lines (every grouping has
	// the same sums: each sale and refund is in exactly one line of each).
	for _, l := range rep.ByWallet {
		rep.Sales.Count += l.Count
		rep.Sales.Amount += l.Amount
		rep.Tips += l.Tips
		rep.Refunds.Count += l.Refunds
		rep.Refunds.Amount += l.Refunded
		rep.ShiftNet += l.Net
	}
	lb.finish(rep)
	rep.Net = rep.ShiftNet + rep.Late.Net
	return rep, nil
}

// CSV is the report as CSV rows: section, key, count, amount, tips,
// refunds, refunded, net (amounts in minor units).
func (r *Report) CSV() []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	i := strconv.Itoa
	n := func(v int64) string { return strconv.FormatInt(v, 10) }
	w.Write([]string{"section", "key", "count", "amount", "tips", "refunds", "refunded", "net"})
	z := ""
	if r.Z > 0 {
		z = strconv.FormatUint(r.Z, 10)
	}
	w.Write([]string{"report", r.Kind, z, "", "", "", "", ""})
	w.Write([]string{"shift", strconv.FormatUint(r.Shift.No, 10), "", "", "", "", "", ""})
	for _, l := range r.ByState {
		w.Write([]string{"state", l.Key, i(l.Count), n(l.Amount), "", "", "", ""})
	}
	for _, g := range []struct {
		name  string
		lines []Line
	}{{"wallet", r.ByWallet}, {"mode", r.ByMode}, {"operator", r.ByOperator}} {
		for _, l := range g.lines {
			w.Write([]string{g.name, l.Key, i(l.Count), n(l.Amount), n(l.Tips), i(l.Refunds), n(l.Refunded), n(l.Net)})
		}
	}
	w.Write([]string{"total", "payments", i(r.Payments.Count), n(r.Payments.Amount), "", "", "", ""})
	w.Write([]string{"total", "sales", i(r.Sales.Count), n(r.Sales.Amount), n(r.Tips), i(r.Refunds.Count), n(r.Refunds.Amount), n(r.ShiftNet)})
	w.Write([]string{"total", "automatic_reversals", "", "", "", i(r.Refunds.Automatic), n(r.Refunds.AutomaticAmount), ""})
	w.Write([]string{"total", "refunds_pending", "", "", "", i(r.Refunds.Pending), n(r.Refunds.PendingAmount), ""})
	for _, l := range r.Late.ByZ {
		w.Write([]string{"late", "z" + strconv.FormatUint(l.Z, 10), i(l.Count), n(l.Sales.Amount), n(l.Tips), i(l.Refunds.Count), n(l.Refunds.Amount), n(l.Net)})
	}
	l := r.Late
	w.Write([]string{"total", "late", i(l.Count), n(l.Sales.Amount), n(l.Tips), i(l.Refunds.Count), n(l.Refunds.Amount), n(l.Net)})
	w.Write([]string{"total", "net", "", "", "", "", "", n(r.Net)})
	for _, d := range r.InDoubt {
		w.Write([]string{"in_doubt", d.ID, "1", n(d.Amount), "", "", "", strconv.FormatInt(d.AgeSeconds, 10)})
	}
	for _, u := range r.Unsettled {
		id := u.PaymentID
		if u.Kind == "refund" {
			id = u.RefundID
		}
		w.Write([]string{"unsettled_" + u.Kind, id, "1", n(u.Amount), "", "", "", ""})
	}
	w.Write([]string{"journal", "last_event_seq", "", strconv.FormatUint(r.LastEventSeq, 10), "", "", "", ""})
	w.Flush()
	return b.Bytes()
}
