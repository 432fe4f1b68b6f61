package route

import (
	"errors"
	"slices"
	"testing"

	"github.com/posagent/posagent/agent/operr"
)

func code(err error) string {
	var oe *operr.Error
	if errors.As(err, &oe) {
		return string(oe.Code)
	}
	return ""
}

// The tip rules: the cap needs an approver, a tip prompt takes one of the
// suggestions from the customer once, and the cashier may change it.
func TestTips(t *testing.T) {
	tips := Tips{MaxPercent: 30, Choices: []int{10, 15}, MaxTotal: 10_000}
	pct := func(p int) *int { return &p }
	cents := func(c int64) *int64 { return &c }
	for _, c := range []struct {
		name    string
		cart    *Cart
		ch      TipChoice
		code    string
		tip     int64
		approve string
	}{
		{"no prompt", &Cart{Amount: 1000}, TipChoice{Percent: pct(10)}, "no_tip_prompt", 0, ""},
		{"none due", nil, TipChoice{Percent: pct(10)}, "no_tip_prompt", 0, ""},
		{"a suggestion", &Cart{Amount: 1000, TipPrompt: true, TipChoices: []int{10, 15}}, TipChoice{Percent: pct(15)}, "", 150, ""},
		{"not a suggestion", &Cart{Amount: 1000, TipPrompt: true, TipChoices: []int{10, 15}}, TipChoice{Percent: pct(20)}, "invalid_tip", 0, ""},
		{"no tip", &Cart{Amount: 1000, TipPrompt: true, TipChoices: []int{10}}, TipChoice{Tip: cents(0)}, "", 0, ""},
		{"the customer's own amount", &Cart{Amount: 1000, TipPrompt: true, TipChoices: []int{10}}, TipChoice{Tip: cents(120)}, "tip_not_offered", 0, ""},
		{"chosen already", &Cart{Amount: 1000, TipPrompt: true, TipChoices: []int{10}, TipChosen: true}, TipChoice{Percent: pct(10)}, "tip_already_chosen", 0, ""},
		{"the cashier changes it", &Cart{Amount: 1000, TipPrompt: true, TipChoices: []int{10}, TipChosen: true}, TipChoice{Tip: cents(200), Cashier: true}, "", 200, ""},
		{"above the cap", &Cart{Amount: 1000, TipPrompt: true}, TipChoice{Tip: cents(301), Cashier: true}, "tip_approval_required", 0, ""},
		{"above the cap, approved", &Cart{Amount: 1000, TipPrompt: true}, TipChoice{Tip: cents(301), Cashier: true, Approver: "mia"}, "", 301, "mia"},
		{"above a payment", &Cart{Amount: 9_000, TipPrompt: true}, TipChoice{Tip: cents(1_001), Cashier: true, Approver: "mia"}, "invalid_tip", 0, ""},
	} {
		err := tips.Apply(c.cart, c.ch)
		if got := code(err); got != c.code {
			t.Errorf("%s: error %v, want code %q", c.name, err, c.code)
			continue
		}
		if err == nil && (c.cart.Tip != c.tip || !c.cart.TipChosen || c.cart.TipApprover != c.approve) {
			t.Errorf("%s: cart %+v, want tip %d chosen, approver %q", c.name, c.cart, c.tip, c.approve)
		}
	}
	if err := tips.Check(1000, -1, ""); code(err) != "invalid_tip" {
		t.Errorf("a negative tip: %v", err)
	}
	if TipFor(1713, 15) != 257 || TipFor(1000, 0) != 0 {
		t.Errorf("TipFor rounds half up: %d %d", TipFor(1713, 15), TipFor(1000, 0))
	}
}

// The tip suggestions an Intake offers change live (a reload, a bundle
// from head office), within 1 and the cap, and are its own copy: the
// caller's slice changing later changes nothing.
func TestIntakeTipChoices(t *testing.T) {
	given := []int{10, 15}
	in := NewIntake(IntakeOptions{Tips: Tips{MaxPercent: 30, Choices: given, MaxTotal: 1000}})
	given[0] = 99
	if got := in.Tips(); !slices.Equal(got.Choices, []int{10, 15}) || got.MaxPercent != 30 || got.MaxTotal != 1000 {
		t.Fatalf("tips at start: %+v", got)
	}
	for _, bad := range [][]int{{0}, {10, 31}, {-5}} {
		if err := in.SetTipChoices(bad); err == nil {
			t.Errorf("SetTipChoices(%v) accepted", bad)
		}
	}
	if got := in.Tips().Choices; !slices.Equal(got, []int{10, 15}) {
		t.Fatalf("a refused change changed the suggestions: %v", got)
	}
	next := []int{18, 30}
	if err := in.SetTipChoices(next); err != nil {
		t.Fatal(err)
	}
	next[1] = 1
	if got := in.Tips(); !slices.Equal(got.Choices, []int{18, 30}) || got.MaxPercent != 30 {
		t.Fatalf("after SetTipChoices: %+v", got)
	}
	if err := in.SetTipChoices(nil); err != nil || len(in.Tips().Choices) != 0 {
		t.Fatalf("no suggestions: %v %v", err, in.Tips().Choices)
	}
}
