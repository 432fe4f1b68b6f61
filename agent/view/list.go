package view

import (
	"slices"
	"strings"
	"time"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/store"
)

// Lists and exports read the journal's indexes: a list by state reads that
// state's index from the cursor on, an export seeks to its first payment
// (ids are time-ordered), and both stop at what they return. The export
// streams: its memory does not grow with the number of payments.

// ListQuery is a page of GET /v1/payments: newest first, after the cursor
// After (a payment id), at most Limit, in one State if given, with the
// reference and find filters if given.
type ListQuery struct {
	State     store.State
	After     string
	Limit     int
	Reference *string
	Find      *string
}

// List returns a page of payments and, when more follow, the cursor of
// the next page.
func (r *Reader) List(q ListQuery) ([]*Payment, string, error) {
	if q.State != "" && !slices.Contains(store.States, q.State) {
		return nil, "", operr.Errorf(operr.CodeInvalidStateFilter, "state %q is not a payment state", q.State)
	}
	match, err := listFilter(q)
	if err != nil {
		return nil, "", err
	}
	out := []*Payment{}
	more := false
	each := func(p *store.Payment) (bool, error) {
		if !match(p) {
			return true, nil
		}
		if len(out) == q.Limit {
			more = true
			return false, nil
		}
		out = append(out, PaymentOf(p))
		return true, nil
	}
	err = r.st.View(func(tx *store.Tx) error {
		if q.State != "" {
			return tx.PaymentsIn(q.State, true, q.After, each)
		}
		return tx.ForEachPayment(true, q.After, each)
	})
	if err != nil || !more {
		return out, "", err
	}
	return out, out[len(out)-1].ID, nil
}

// listFilter is GET /v1/payments' reference= (the POS's sale number,
// exactly) and find= (a wallet transaction number, a buyer account, an
// order id, a payment id or a reference, or a part of one of them at least
// 4 characters long: what a cashier types from the customer's phone).
func listFilter(q ListQuery) (func(*store.Payment) bool, error) {
	var ref, find string
	if q.Reference != nil {
		ref = *q.Reference
	}
	if q.Find != nil {
		find = strings.TrimSpace(*q.Find)
	}
	if q.Find != nil && len(find) < 4 {
		return nil, operr.Errorf(operr.CodeInvalidFind, "find needs at least 4 characters (a transaction number, an order id, a reference), got %q", find)
	}
	return func(p *store.Payment) bool {
		if q.Reference != nil && p.Reference != ref {
			return false
		}
		if find == "" {
			return true
		}
		hay := []string{p.ID, p.OrderID, p.Reference}
		if w := p.WalletSide; w != nil {
			hay = append(hay, w.TransactionID, w.BuyerLoginID)
		}
		for _, h := range hay {
			if h != "" && strings.Contains(strings.ToLower(h), strings.ToLower(find)) {
				return true
			}
		}
		return false
	}, nil
}

// EachExported calls fn for each payment created at or after since, oldest
// first, starting at the first id that time can have.
func (r *Reader) EachExported(since time.Time, fn func(p *Payment) error) error {
	return r.st.View(func(tx *store.Tx) error { return eachExported(tx, since, fn) })
}

func eachExported(tx *store.Tx, since time.Time, fn func(p *Payment) error) error {
	after := ""
	if !since.IsZero() {
		after = store.IDAt(since)
	}
	return tx.ForEachPayment(false, after, func(p *store.Payment) (bool, error) {
		if p.CreatedAt.Before(since) {
			return true, nil
		}
		return true, fn(PaymentOf(p))
	})
}
