package hq

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"sort"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/posagent/posagent/feed"
)

// Payment is what the books keep of a payment: the lane's public payment
// JSON (the same as /v1/events), latest state.
type Payment struct {
	ID        string    `json:"id"`
	OrderID   string    `json:"order_id"`
	Mode      string    `json:"mode"`
	Wallet    string    `json:"wallet"`
	Amount    int64     `json:"amount"`
	Tip       int64     `json:"tip"`
	Currency  string    `json:"currency"`
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	Refunds   []Refund  `json:"refunds"`
	// Set by the books.
	Store string `json:"hq_store"`
	Lane  string `json:"hq_lane"`
	Seq   uint64 `json:"hq_seq"`
}

// Refund is one refund of a Payment.
type Refund struct {
	ID        string    `json:"id"`
	Amount    int64     `json:"amount"`
	State     string    `json:"state"`
	CreatedAt time.Time `json:"created_at"`
}

// Taken: the gateway took the money (the lanes' Z report rule).
func (p *Payment) Taken() bool { return p.State == "succeeded" || p.State == "reversed" }

// InDoubt: the outcome is not known yet.
func (p *Payment) InDoubt() bool {
	switch p.State {
	case "processing", "queued", "in_doubt":
		return true
	}
	return false
}

// ZReport is a lane's Z report as its report.z event tells it.
type ZReport struct {
	feed.Identity
	At     time.Time `json:"at"`
	Z      uint64    `json:"z"`
	Shift  uint64    `json:"shift"`
	SHA256 string    `json:"sha256"`
	Sales  struct {
		Count  int   `json:"count"`
		Amount int64 `json:"amount"`
	} `json:"sales"`
	Refunds int64 `json:"refunds"`
	Net     int64 `json:"net"`
	InDoubt int   `json:"in_doubt"`
}

// Totals are a day's money (minor units).
type Totals struct {
	Sales   int64 `json:"sales"`
	Count   int   `json:"count"`
	Tips    int64 `json:"tips"`
	Refunds int64 `json:"refunds"`
	Net     int64 `json:"net"`
	InDoubt int   `json:"in_doubt"`
	// ByWallet and ByMode split the same money.
	ByWallet map[string]*Line `json:"by_wallet"`
	ByMode   map[string]*Line `json:"by_mode"`
}

// Line is one wallet's or mode's money.
type Line struct {
	Count   int   `json:"count"`
	Sales   int64 `json:"sales"`
	Tips    int64 `json:"tips"`
	Refunds int64 `json:"refunds"`
	Net     int64 `json:"net"`
}

func newTotals() *Totals { return &Totals{ByWallet: map[string]*Line{}, ByMode: map[string]*Line{}} }

func (t *Totals) line(m map[string]*Line, k string) *Line {
	if m[k] == nil {
		m[k] = &Line{}
	}
	return m[k]
}

func (t *Totals) add(p *Payment, day func(time.Time) bool) {
	if day(p.CreatedAt) {
		switch {
		case p.Taken():
			t.Count++
			t.Sales += p.Amount
			t.Tips += p.Tip
			t.Net += p.Amount + p.Tip
			for _, l := range []*Line{t.line(t.ByWallet, p.Wallet), t.line(t.ByMode, p.Mode)} {
				l.Count++
				l.Sales += p.Amount
				l.Tips += p.Tip
				l.Net += p.Amount + p.Tip
			}
		case p.InDoubt():
			t.InDoubt++
		}
	}
	for _, r := range p.Refunds {
		if r.State != "succeeded" || !day(r.CreatedAt) {
			continue
		}
		t.Refunds += r.Amount
		t.Net -= r.Amount
		for _, l := range []*Line{t.line(t.ByWallet, p.Wallet), t.line(t.ByMode, p.Mode)} {
			l.Refunds += r.Amount
			l.Net -= r.Amount
		}
	}
}

// DayTotals are a day's totals per store and for the chain.
type DayTotals struct {
	Day    string             `json:"day"`
	Chain  *Totals            `json:"chain"`
	Stores map[string]*Totals `json:"stores"`
}

// Day sums the payments of day (YYYY-MM-DD in loc) per store and for the
// chain. An empty day is every day.
func (b *Books) Day(day string, loc *time.Location) (*DayTotals, error) {
	in, err := dayFilter(day, loc)
	if err != nil {
		return nil, err
	}
	out := &DayTotals{Day: day, Chain: newTotals(), Stores: map[string]*Totals{}}
	err = b.forEachPayment(func(p *Payment) {
		st := out.Stores[p.Store]
		if st == nil {
			st = newTotals()
			out.Stores[p.Store] = st
		}
		st.add(p, in)
		out.Chain.add(p, in)
	})
	return out, err
}

func dayFilter(day string, loc *time.Location) (func(time.Time) bool, error) {
	if day == "" {
		return func(time.Time) bool { return true }, nil
	}
	d, err := time.ParseInLocation("2006-01-02", day, loc)
	if err != nil {
		return nil, err
	}
	end := d.AddDate(0, 0, 1)
	return func(t time.Time) bool { return !t.Before(d) && t.Before(end) }, nil
}

func (b *Books) forEachPayment(fn func(*Payment)) error {
	return b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bPayments).ForEach(func(_, v []byte) error {
			var p Payment
			if json.Unmarshal(v, &p) == nil {
				fn(&p)
			}
			return nil
		})
	})
}

// InDoubt counts each lane's payments in doubt (by lane key).
func (b *Books) InDoubt() (map[string]int, error) {
	out := map[string]int{}
	err := b.forEachPayment(func(p *Payment) {
		if p.InDoubt() {
			out[p.Store+"/"+p.Lane]++
		}
	})
	return out, err
}

// ZReports lists the Z reports of every lane, newest first.
func (b *Books) ZReports() ([]ZReport, error) {
	out := []ZReport{}
	err := b.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bZ).ForEach(func(_, v []byte) error {
			var z ZReport
			if json.Unmarshal(v, &z) == nil {
				out = append(out, z)
			}
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out, err
}

// WriteCSV writes the payments of day (every day when "") for an
// accountant: one row per payment and one per succeeded refund (negative),
// amounts in minor units (cents).
func (b *Books) WriteCSV(w io.Writer, day string, loc *time.Location) error {
	in, err := dayFilter(day, loc)
	if err != nil {
		return err
	}
	var rows [][]string
	err = b.forEachPayment(func(p *Payment) {
		if in(p.CreatedAt) {
			rows = append(rows, []string{p.CreatedAt.In(loc).Format(time.RFC3339), p.Store, p.Lane, "payment", p.ID, p.OrderID,
				p.Wallet, p.Mode, p.State, p.Currency, i64(p.Amount), i64(p.Tip), i64(p.Amount + p.Tip)})
		}
		for _, r := range p.Refunds {
			if r.State == "succeeded" && in(r.CreatedAt) {
				rows = append(rows, []string{r.CreatedAt.In(loc).Format(time.RFC3339), p.Store, p.Lane, "refund", r.ID, p.OrderID,
					p.Wallet, p.Mode, r.State, p.Currency, i64(-r.Amount), "0", i64(-r.Amount)})
			}
		}
	})
	if err != nil {
		return err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
	cw := csv.NewWriter(w)
	cw.Write([]string{"time", "store", "lane", "type", "id", "order_id", "wallet", "mode", "state", "currency", "amount", "tip", "total"})
	cw.WriteAll(rows)
	cw.Flush()
	return cw.Error()
}

func i64(n int64) string { return strconv.FormatInt(n, 10) }
