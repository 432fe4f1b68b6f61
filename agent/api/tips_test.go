package api

import (
	"fmt"
	"sync"
	"testing"
)

// tipDoor is the secured daemon (every role, a manager with a PIN) with
// tip suggestions, scan_auto_start and the default tips.max_percent (30).
func tipDoor(t *testing.T) *doorEnv {
	o := securedOptions(t)
	o.TipChoices, o.ScanAutoStart = []int{10, 15, 18}, true
	d := startDoor(t, o, false)
	d.Token = posTok
	return d
}

// post sends a JSON body with tok (and an Idempotency-Key, which routes
// that do not move money ignore).
func (d *doorEnv) post(tok, method, path, body string) (int, map[string]any) {
	d.t.Helper()
	s, m, _ := d.do(nil, method, path, body, jsonH(tok, fmt.Sprintf("k-%s-%s-%s", tok[:3], path, body))...)
	return s, m
}

// Tips are bounded for every role (issue 23, finding 3): the display
// answers the tip prompt with a suggestion or no tip, once; any other tip
// is the POS's, at most tips.max_percent of the amount unless a manager
// approves with a PIN. The tip charged is the one chosen: on the
// simulator's ledger, and on the audit trail with the amount. On the old
// code the display's 9999990000 and overwrite, and the pos tip of 80 %,
// were each accepted.
func TestTipsBoundedByRole(t *testing.T) {
	d := tipDoor(t)
	if s, m := d.post(posTok, "PUT", "/v1/cart", `{"amount":1250,"tip_prompt":true}`); s != 200 {
		t.Fatalf("cart: %d %v", s, m)
	}
	for _, c := range []struct {
		tok, body string
		status    int
		code      string
	}{
		{displayTok, `{"tip":9999990000}`, 403, "tip_not_offered"},
		{displayTok, `{"tip":200}`, 403, "tip_not_offered"},
		{displayTok, `{"percent":12}`, 400, "invalid_tip"},
		{displayTok, `{"percent":15,"approval":{"operator":"m1","pin":"2468"}}`, 403, "tip_not_offered"},
		{displayTok, `{"percent":15}`, 200, ""},                   // the customer's choice: 187.5 -> 188
		{displayTok, `{"percent":10}`, 409, "tip_already_chosen"}, // the display cannot overwrite it
		{displayTok, `{"tip":0}`, 409, "tip_already_chosen"},      //
		{posTok, `{"tip":1000}`, 403, "tip_approval_required"},    // 80 % > 30 %
		{posTok, `{"tip":376}`, 403, "tip_approval_required"},     // 30 % of 1250 is 375
		{posTok, `{"tip":1000,"approval":{"operator":"m1","pin":"1111"}}`, 403, "approval_denied"},
		{posTok, `{"tip":1000,"approval":{"operator":"c1","pin":"2468"}}`, 403, "approval_denied"}, // not a manager
		{posTok, `{"tip":375}`, 200, ""},                                                           // the cashier changes it, within the cap
		{posTok, `{"tip":1000,"approval":{"operator":"m1","pin":"2468"}}`, 200, ""},
	} {
		s, m := d.post(c.tok, "POST", "/v1/cart/tip", c.body)
		if s != c.status || c.code != "" && errCode(m) != c.code {
			t.Errorf("%s %s: %d %v, want %d %s", c.tok[:3], c.body, s, m, c.status, c.code)
		}
		if c.body == `{"percent":15}` && m["tip"] != float64(188) {
			t.Errorf("15 %% of 12.50: %v", m["tip"])
		}
	}
	// The tip approved is the tip charged.
	code, _ := d.sim.sim.IssueCode("wechat")
	if s, m := d.post(posTok, "POST", "/v1/scans", fmt.Sprintf(`{"code":%q}`, code)); s != 202 {
		t.Fatalf("scan: %d %v", s, m)
	}
	_, m := d.call("GET", "/v1/payments?limit=1", nil)
	p := d.waitFinal(decodePayment(t, m["payments"].([]any)[0].(map[string]any)).ID)
	if p.Amount != 1250 || p.Tip != 1000 {
		t.Fatalf("payment %d + tip %d", p.Amount, p.Tip)
	}
	if o := d.sim.sim.Ledger()[0]; len(d.sim.sim.Ledger()) != 1 || o.Tip != 1000 || o.Charged != 2250 {
		t.Fatalf("ledger %+v", d.sim.sim.Ledger())
	}
	// The audit trail: each tip with its amount, the approver, the refused approvals.
	var tips []string
	for _, e := range d.audit(t) {
		if e["action"] == "cart.tip" {
			tips = append(tips, fmt.Sprintf("%v %v %v %v %v", e["status"], e["credential"], e["amount"], e["tip"], e["approver"]))
		}
	}
	want := []string{"200 display 1250 188 <nil>", "403 pos 1250 1000 m1", "403 pos 1250 1000 c1", "200 pos 1250 375 <nil>", "200 pos 1250 1000 m1"}
	if fmt.Sprint(tips) != fmt.Sprint(want) {
		t.Errorf("cart.tip audit entries\n got %q\nwant %q", tips, want)
	}
}

// The POS's own tips (a payment, the cart) are capped the same way.
func TestPOSTipCapped(t *testing.T) {
	d := tipDoor(t)
	approve := `,"approval":{"operator":"m1","pin":"2468"}`
	for i, c := range []struct {
		method, path, body string
		status             int
		code               string
	}{
		{"POST", "/v1/payments", fmt.Sprintf(`{"amount":1000,"tip":301,"mode":"scan","auth_code":%q}`, wechatCode(901)), 403, "tip_approval_required"},
		{"PUT", "/v1/cart", `{"amount":1000,"tip":301}`, 403, "tip_approval_required"},
		{"POST", "/v1/payments", fmt.Sprintf(`{"amount":1000,"tip":300,"mode":"scan","auth_code":%q}`, wechatCode(902)), 201, ""},
		{"POST", "/v1/payments", fmt.Sprintf(`{"amount":1000,"tip":5000,"mode":"scan","auth_code":%q%s}`, wechatCode(903), approve), 201, ""},
		{"PUT", "/v1/cart", `{"amount":1000,"tip":5000` + approve + `}`, 200, ""},
	} {
		s, m := d.post(posTok, c.method, c.path, c.body)
		if s != c.status || c.code != "" && errCode(m) != c.code {
			t.Errorf("%d: %s %s %s: %d %v, want %d %s", i, c.method, c.path, c.body, s, m, c.status, c.code)
		}
		if s == 201 {
			d.waitFinal(decodePayment(t, m).ID)
		}
	}
	charged := map[int64]int64{}
	for _, o := range d.sim.sim.Ledger() {
		charged[o.Tip] = o.Charged
	}
	if len(charged) != 2 || charged[300] != 1300 || charged[5000] != 6000 {
		t.Errorf("ledger tips: %v, want 300 and the approved 5000 only", charged)
	}
	var got []string
	for _, e := range d.audit(t) {
		if e["action"] == "payment.create" || e["action"] == "cart.set" {
			got = append(got, fmt.Sprintf("%v %v %v %v %v", e["action"], e["status"], e["amount"], e["tip"], e["approver"]))
		}
	}
	want := []string{"payment.create 201 1000 300 <nil>", "payment.create 201 1000 5000 m1", "cart.set 200 1000 5000 m1"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("audit\n got %q\nwant %q", got, want)
	}
}

// Displays answering at once (two screens, a double tap): one answer is
// taken, the others are refused.
func TestDisplayTipOnce(t *testing.T) {
	d := tipDoor(t)
	if s, m := d.post(posTok, "PUT", "/v1/cart", `{"amount":2000,"tip_prompt":true}`); s != 200 {
		t.Fatalf("cart: %d %v", s, m)
	}
	var wg sync.WaitGroup
	status := make([]int, 6)
	for i := range status {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status[i], _, _ = d.do(nil, "POST", "/v1/cart/tip", fmt.Sprintf(`{"percent":%d}`, []int{10, 15, 18}[i%3]), jsonH(displayTok, fmt.Sprint("t", i))...)
		}()
	}
	wg.Wait()
	ok := 0
	for _, s := range status {
		switch s {
		case 200:
			ok++
		case 409:
		default:
			t.Errorf("a display's answer: %d", s)
		}
	}
	if ok != 1 {
		t.Fatalf("%d answers of the display were taken (statuses %v), want 1", ok, status)
	}
}

// audit reads the audit trail with the manager token.
func (d *doorEnv) audit(t *testing.T) []map[string]any {
	t.Helper()
	s, m, _ := d.do(nil, "GET", "/v1/audit", "", bearerH(mgrTok)...)
	if s != 200 {
		t.Fatalf("audit: %d %v", s, m)
	}
	var out []map[string]any
	for _, e := range m["audit"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}
