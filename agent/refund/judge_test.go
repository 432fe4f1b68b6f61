package refund

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/store"
)

// pay is a succeeded payment of 100.00 (tip 5.00) with the given refunds.
func pay(refunds ...store.Refund) *store.Payment {
	return &store.Payment{ID: "pay_1", OrderID: "P1", Amount: 10000, Tip: 500, State: store.Succeeded, Refunds: refunds}
}

func ref(id string, amt int64, st store.RefundState) store.Refund {
	return store.Refund{ID: id, Amount: amt, State: st}
}

const (
	pend = store.RefundPending
	doub = store.RefundInDoubt
	succ = store.RefundSucceeded
	fail = store.RefundFailed
)

func TestRefundTransitions(t *testing.T) {
	P, D, S, F := pend, doub, succ, fail
	cases := []struct {
		from, to store.RefundState
		want     bool
	}{
		{P, D, true}, {P, S, true}, {P, F, true}, {D, S, true}, {D, F, true},
		{D, P, false}, {S, F, false}, {F, S, false}, {S, S, false},
	}
	for _, c := range cases {
		if got := canTransition(c.from, c.to); got != c.want {
			t.Errorf("canTransition(%s, %s) = %v, want %v", c.from, c.to, got, c.want)
		}
	}
}

func TestHeadAndBehind(t *testing.T) {
	cases := []struct {
		name string
		p    *store.Payment
		want string // the head's id, and what a new refund waits behind
	}{
		{"no refunds", pay(), ""},
		{"all final", pay(ref("r1", 100, succ), ref("r2", 100, fail)), ""},
		{"the first not final", pay(ref("r1", 100, succ), ref("r2", 100, doub), ref("r3", 100, pend)), "r2"},
		{"a pending one after a failed one", pay(ref("r1", 100, fail), ref("r2", 100, pend)), "r2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := head(c.p)
			got := ""
			if h != nil {
				got = h.ID
				if h != &c.p.Refunds[slices.IndexFunc(c.p.Refunds, func(r store.Refund) bool { return r.ID == got })] {
					t.Error("head is a copy, not the payment's refund")
				}
			}
			if got != c.want || behind(c.p) != c.want {
				t.Errorf("head %q, behind %q; want %q", got, behind(c.p), c.want)
			}
		})
	}
}

func TestRefundedTotal(t *testing.T) {
	cases := []struct {
		name  string
		res   gateway.Result
		want  int64
		known bool
	}{
		{"refund_amount given", gateway.Result{HasRefunded: true, Refunded: 2500, OrderStatus: gateway.StatusPartialRefunded}, 2500, true},
		{"refund_amount zero given", gateway.Result{HasRefunded: true, OrderStatus: gateway.StatusFullyRefunded}, 0, true},
		{"fully refunded without an amount: amount and tip", gateway.Result{OrderStatus: gateway.StatusFullyRefunded}, 10500, true},
		{"success without an amount: nothing", gateway.Result{OrderStatus: gateway.StatusSuccess}, 0, true},
		{"partially refunded without an amount: unknown", gateway.Result{OrderStatus: gateway.StatusPartialRefunded}, 0, false},
		{"no status: unknown", gateway.Result{}, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, known := refundedTotal(pay(), &c.res)
			if got != c.want || known != c.known {
				t.Errorf("refundedTotal = %d, %v; want %d, %v", got, known, c.want, c.known)
			}
		})
	}
}

func TestJudge(t *testing.T) {
	ambiguous := func(r store.Refund) store.Refund { r.Ambiguous = "earlier"; return r }
	cases := []struct {
		name    string
		p       *store.Payment
		rid     string
		gw      int64
		settled bool // every in-doubt refund has had RefundSettle
		made    []string
		notMade []string
		ambig   string // a part of the reason, "" when none
		changes bool
	}{
		{name: "the head was made", p: pay(ref("r1", 1000, succ), ref("r2", 2000, doub)), rid: "r2", gw: 3000,
			made: []string{"r2"}, changes: true},
		{name: "the head was not made, settled", p: pay(ref("r1", 1000, succ), ref("r2", 2000, doub)), rid: "r2", gw: 1000, settled: true,
			notMade: []string{"r2"}, changes: true},
		{name: "not on the order yet, not settled: wait", p: pay(ref("r1", 1000, succ), ref("r2", 2000, doub)), rid: "r2", gw: 1000},
		{name: "every one in doubt was made", p: pay(ref("r1", 1000, doub), ref("r2", 2000, doub)), rid: "r1", gw: 3000,
			made: []string{"r1", "r2"}, changes: true},
		{name: "none in doubt was made", p: pay(ref("r1", 1000, doub), ref("r2", 2000, doub)), rid: "r2", gw: 0, settled: true,
			notMade: []string{"r1", "r2"}, changes: true},
		{name: "part of those in doubt: no guess", p: pay(ref("r1", 1000, doub), ref("r2", 2000, doub)), rid: "r1", gw: 1000,
			ambig: "does not match the 3000 in doubt (2 refunds)", changes: true},
		{name: "more than known and in doubt: made elsewhere?", p: pay(ref("r1", 1000, succ), ref("r2", 2000, doub)), rid: "r2", gw: 5000,
			ambig: "made elsewhere", changes: true},
		{name: "less than the succeeded ones", p: pay(ref("r1", 1000, succ), ref("r2", 2000, doub)), rid: "r2", gw: 500,
			ambig: "less than the 1000", changes: true},
		{name: "ambiguous again: no change", p: pay(ref("r1", 1000, succ), ambiguous(ref("r2", 2000, doub))), rid: "r2", gw: 500,
			ambig: "less than the 1000"},
		{name: "ambiguous no more", p: pay(ref("r1", 1000, succ), ambiguous(ref("r2", 2000, doub))), rid: "r2", gw: 1000, changes: true},
		{name: "the refund is no longer in doubt", p: pay(ref("r1", 1000, succ), ref("r2", 2000, doub)), rid: "r1", gw: 3000},
		{name: "no such refund", p: pay(ref("r2", 2000, doub)), rid: "r9", gw: 2000},
		{name: "failed refunds count for nothing", p: pay(ref("r1", 1000, fail), ref("r2", 2000, doub)), rid: "r2", gw: 2000,
			made: []string{"r2"}, changes: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var asked []string
			v := judge(c.p, c.rid, c.gw, func(r *store.Refund) bool { asked = append(asked, r.ID); return c.settled })
			if !slices.Equal(v.made, c.made) || !slices.Equal(v.notMade, c.notMade) {
				t.Errorf("made %v, not made %v; want %v, %v", v.made, v.notMade, c.made, c.notMade)
			}
			if (c.ambig == "") != (v.ambiguous == "") || !strings.Contains(v.ambiguous, c.ambig) {
				t.Errorf("ambiguous %q, want one with %q", v.ambiguous, c.ambig)
			}
			if v.changes() != c.changes {
				t.Errorf("changes() = %v, want %v", v.changes(), c.changes)
			}
			if v.gwTotal != c.gw || v.known != c.p.Refunded() {
				t.Errorf("totals %d/%d, want %d/%d", v.gwTotal, v.known, c.gw, c.p.Refunded())
			}
			// Only a total that says "none was made" asks whether each
			// refund in doubt has had its time.
			if len(asked) > 0 && c.gw != c.p.Refunded() {
				t.Errorf("settled asked of %v with a total that proves something", asked)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	approved := ref("r1", 4000, succ)
	approved.ApprovedBy = "m1"
	auto := ref("r2", 4000, doub)
	auto.Auto = true
	p := pay(approved, auto, ref("r3", 1000, succ), ref("r4", 500, pend), ref("r5", 3000, fail))
	if got := unapproved(p); got != 1500 {
		t.Fatalf("unapproved = %d, want 1500 (approved, automatic and failed refunds do not count)", got)
	}
	cases := []struct {
		name string
		lim  Limits
		amt  int64
		sh   int64 // the shift's unapproved refunds so far
		pay  bool  // refused by the per-payment limit
		shft bool  // refused by the per-shift limit
	}{
		{name: "within both", lim: Limits{PerPayment: 2000, PerShift: 5000}, amt: 500, sh: 4000},
		{name: "to the payment's limit exactly", lim: Limits{PerPayment: 2000}, amt: 500},
		{name: "past the payment's limit by a cent", lim: Limits{PerPayment: 2000}, amt: 501, pay: true},
		{name: "no payment limit", lim: Limits{PerPayment: -1}, amt: 1_000_000},
		{name: "a zero payment limit refuses any", lim: Limits{PerPayment: 0}, amt: 1, pay: true},
		{name: "to the shift's limit exactly", lim: Limits{PerPayment: -1, PerShift: 5000}, amt: 1000, sh: 4000},
		{name: "past the shift's limit", lim: Limits{PerPayment: -1, PerShift: 5000}, amt: 1001, sh: 4000, shft: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.lim.checkPayment(p, c.amt)
			if (err != nil) != c.pay || err != nil && !approvalRequired(err) {
				t.Errorf("checkPayment: %v, want refused %v", err, c.pay)
			}
			if c.lim.PerShift <= 0 {
				return
			}
			err = c.lim.checkShift(&store.Shift{No: 3, UnapprovedRefunds: c.sh}, c.amt)
			if (err != nil) != c.shft || err != nil && !approvalRequired(err) {
				t.Errorf("checkShift: %v, want refused %v", err, c.shft)
			}
		})
	}
}

func approvalRequired(err error) bool {
	var oe *operr.Error
	return errors.As(err, &oe) && oe.Code == operr.CodeApprovalRequired
}
