package view

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posagent/posagent/agent/gwmeter"
	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/devices"
	"github.com/posagent/posagent/store"
)

func TestListFilter(t *testing.T) {
	p := &store.Payment{ID: "pay_0dn4ihd0hly6rmldwlp", OrderID: "P261125183000ABC1234", Reference: "INV-1001",
		WalletSide: &store.WalletSide{TransactionID: "4200001234567890", BuyerLoginID: "o3_xyZ***"}}
	bare := &store.Payment{ID: "pay_0dn4ihd0hly6rmldwlq", OrderID: "P261125183001XYZ9999"}
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		name      string
		ref, find *string
		want      [2]bool // p, bare
	}{
		{"no filter", nil, nil, [2]bool{true, true}},
		{"reference, exactly", str("INV-1001"), nil, [2]bool{true, false}},
		{"reference is not a part", str("INV-100"), nil, [2]bool{false, false}},
		{"empty reference matches none set", str(""), nil, [2]bool{false, true}},
		{"find a wallet transaction part", nil, str("12345678"), [2]bool{true, false}},
		{"find ignores case", nil, str("abc1234"), [2]bool{true, false}},
		{"find a buyer account", nil, str("O3_XYZ"), [2]bool{true, false}},
		{"find trims spaces", nil, str("  9999 "), [2]bool{false, true}},
		{"find an id", nil, str("hly6rmldwlq"), [2]bool{false, true}},
		{"reference and find both", str("INV-1001"), str("9999"), [2]bool{false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			match, err := listFilter(ListQuery{Reference: tc.ref, Find: tc.find})
			if err != nil {
				t.Fatal(err)
			}
			if got := [2]bool{match(p), match(bare)}; got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
	for _, short := range []string{"", "abc", "  ab  "} {
		_, err := listFilter(ListQuery{Find: &short})
		if e := (*operr.Error)(nil); !errors.As(err, &e) || e.Code != operr.CodeInvalidFind {
			t.Errorf("find %q: err = %v, want %s", short, err, operr.CodeInvalidFind)
		}
	}
}

func TestCountDoubts(t *testing.T) {
	refunds := []InDoubtRefund{
		{State: string(store.RefundInDoubt)},
		{State: string(store.RefundInDoubt), Ambiguous: "two refunds could explain the total"},
		{State: string(store.RefundInDoubt)},
		{State: string(store.RefundPending), Behind: "ref_1"}, // waits behind one: not in doubt itself
	}
	payments := []InDoubtPayment{{ID: "a"}, {ID: "b", Reversal: true}, {ID: "c", Reversal: true, Stuck: true}}
	if got, want := countDoubts(refunds, payments), (doubts{refunds: 2, ambiguous: 1, stuck: 1}); got != want {
		t.Errorf("countDoubts = %+v, want %+v", got, want)
	}
	if got := countDoubts(nil, nil); got != (doubts{}) {
		t.Errorf("countDoubts of nothing = %+v", got)
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		t    time.Time
		want time.Duration
	}{
		{time.Time{}, 0},
		{now.Add(-90 * time.Second), 90 * time.Second},
		{now.Add(time.Minute), 0}, // the clock went back: never negative
	} {
		if got := age(now, tc.t); got != tc.want {
			t.Errorf("age(%v) = %v, want %v", tc.t, got, tc.want)
		}
	}
}

// journal is a real journal with five payments a second apart from t0
// (the third and fifth in doubt, the fifth a stuck reversal), a refund in
// doubt on the first with its outbox job, and three audit entries.
type journal struct {
	st  *store.Store
	t0  time.Time
	ids []string
}

func newJournal(t *testing.T) *journal {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "posagent.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	j := &journal{st: st, t0: time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC)}
	t.Cleanup(func() { st.Close() }) // a second Close after the test's own returns the first's result
	states := []store.State{store.Succeeded, store.Failed, store.InDoubt, store.Succeeded, store.InDoubt}
	err = st.Update(func(tx *store.Tx) error {
		for i, s := range states {
			at := j.t0.Add(time.Duration(i) * time.Second)
			p := &store.Payment{ID: store.IDAt(at) + "abcdef", OrderID: fmt.Sprintf("P2611251830%02dABCDEFG", i), Reference: fmt.Sprintf("INV-%d", i%2),
				Mode: "scan", Amount: int64(100 * (i + 1)), Currency: "CAD", State: s, CreatedAt: at, UpdatedAt: at}
			if i == 4 {
				p.PaidLate, p.Error = true, &store.Error{Code: "reversal_stuck", Message: "the automatic refund was not made"}
			}
			if i == 0 {
				p.Refunds = []store.Refund{{ID: "ref_1", OrderID: "R261125183100ABCDEFG", Amount: 50, State: store.RefundInDoubt,
					CreatedAt: at.Add(time.Minute), Ambiguous: "the gateway's total cannot be attributed"}}
				if err := tx.AddJob(&store.Job{Kind: store.JobRefund, PaymentID: p.ID, RefundID: "ref_1", NextAt: at, CreatedAt: at}); err != nil {
					return err
				}
			}
			if err := tx.PutPayment(p); err != nil {
				return err
			}
			j.ids = append(j.ids, p.ID)
		}
		for i, action := range []string{"payment.create", "payment.refund", "cart.set"} {
			at := j.t0.Add(time.Duration(i) * time.Hour)
			if _, err := tx.AppendAudit(at, func(seq uint64) ([]byte, error) {
				return json.Marshal(map[string]any{"seq": seq, "kind": store.KindAudit, "at": at,
					"audit": Audit{Action: action, Method: "POST", Credential: "pos", Client: "127.0.0.1", Status: 200, Result: "ok"}})
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (j *journal) reader(l Live) *Reader {
	return New(Options{Store: j.st, Meter: gwmeter.New(nil, time.Now), Live: func() Live { return l }})
}

func TestStatusReadsTheJournalAndTheLiveState(t *testing.T) {
	j := newJournal(t)
	now := j.t0.Add(time.Hour)
	// The engine's open in-doubt ids, in map order; the first has since
	// been settled in the journal and is left out.
	l := Live{Version: "1.2.3", StartedAt: j.t0, Uptime: 90 * time.Second, Now: now, Devices: []devices.Status{},
		ClockProblem: "before the build", ClockJumps: 2, Open: 3, InDoubt: []string{j.ids[3], j.ids[4], j.ids[2]},
		StoreErrors: 1, Contradicted: 4, LastSeq: 7}
	s := j.reader(l).Status()
	if got, want := s.InDoubt, []InDoubtPayment{
		{ID: j.ids[2], OrderID: "P261125183002ABCDEFG", Amount: 300, AgeSeconds: 3598},
		{ID: j.ids[4], OrderID: "P261125183004ABCDEFG", Amount: 500, AgeSeconds: 3596, Reversal: true, Stuck: true},
	}; !slices.Equal(got, want) {
		t.Errorf("InDoubt = %+v\nwant %+v", got, want)
	}
	if got, want := s.RefundsInDoubt, []InDoubtRefund{{PaymentID: j.ids[0], RefundID: "ref_1", Amount: 50, State: "in_doubt",
		AgeSeconds: 3540, Ambiguous: "the gateway's total cannot be attributed"}}; !slices.Equal(got, want) {
		t.Errorf("RefundsInDoubt = %+v\nwant %+v", got, want)
	}
	if s.Outbox.Depth != 1 || s.Outbox.ByKind[store.JobRefund] != 1 || s.Outbox.OldestAgeSeconds != 3600 {
		t.Errorf("Outbox = %+v", s.Outbox)
	}
	if s.Clock != (ClockStatus{Plausible: false, Problem: "before the build", Jumps: 2}) {
		t.Errorf("Clock = %+v", s.Clock)
	}
	if s.Version != "1.2.3" || s.UptimeSeconds != 90 || s.OpenPayments != 3 || s.StoreErrors != 1 || s.Contradicted != 4 ||
		s.Journal.LastSeq != 7 || s.Journal.Path != j.st.Path() || s.Journal.SizeBytes <= 0 {
		t.Errorf("Status = %+v", s)
	}
}

func TestListPagesNewestFirst(t *testing.T) {
	j := newJournal(t)
	r := j.reader(Live{})
	var got []string
	after := ""
	for pages := 0; ; pages++ {
		page, next, err := r.List(ListQuery{Limit: 2, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page {
			got = append(got, p.ID)
		}
		if next == "" {
			if pages != 2 {
				t.Errorf("%d pages after the first, want 2", pages)
			}
			break
		}
		if next != page[len(page)-1].ID {
			t.Errorf("next = %s, want the page's last id %s", next, page[len(page)-1].ID)
		}
		after = next
	}
	want := slices.Clone(j.ids)
	slices.Reverse(want)
	if !slices.Equal(got, want) {
		t.Errorf("pages = %v, want %v", got, want)
	}
	ref := "INV-0"
	page, next, err := r.List(ListQuery{State: store.InDoubt, Reference: &ref, Limit: 10})
	if err != nil || next != "" || len(page) != 2 || page[0].ID != j.ids[4] || page[1].ID != j.ids[2] {
		t.Errorf("in_doubt INV-0 = %v, %q, %v; want %s, %s", page, next, err, j.ids[4], j.ids[2])
	}
	_, _, err = r.List(ListQuery{State: "paid", Limit: 10})
	if e := (*operr.Error)(nil); !errors.As(err, &e) || e.Code != operr.CodeInvalidStateFilter {
		t.Errorf("state paid: err = %v, want %s", err, operr.CodeInvalidStateFilter)
	}
}

// TestArchiveReadsAsTheReader: an export and an audit trail read from the
// closed journal file (view.Archive) are those of the live reader.
func TestArchiveReadsAsTheReader(t *testing.T) {
	j := newJournal(t)
	r := j.reader(Live{})
	since := j.t0.Add(2 * time.Second)
	exported := func(each func(time.Time, func(*Payment) error) error) []string {
		var ids []string
		if err := each(since, func(p *Payment) error { ids = append(ids, p.ID); return nil }); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	live := exported(r.EachExported)
	if !slices.Equal(live, j.ids[2:]) {
		t.Errorf("EachExported since +2 s = %v, want %v", live, j.ids[2:])
	}
	trail, err := r.AuditTrail(j.t0.Add(time.Minute), 1)
	if err != nil || len(trail) != 1 || trail[0].Action != "cart.set" || !trail[0].At.Equal(j.t0.Add(2*time.Hour)) {
		t.Fatalf("AuditTrail(+1 min, 1) = %+v, %v; want the cart.set entry", trail, err)
	}
	all, err := r.AuditTrail(time.Time{}, 0)
	if err != nil || len(all) != 3 {
		t.Fatalf("AuditTrail = %+v, %v; want 3 entries", all, err)
	}
	path := j.st.Path()
	if err := j.st.Close(); err != nil {
		t.Fatal(err)
	}
	sr, err := store.OpenReader(path, store.CheckOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Close()
	a := NewArchive(sr, nil)
	if got := exported(a.EachExported); !slices.Equal(got, live) {
		t.Errorf("the archive exports %v, the reader %v", got, live)
	}
	if got, err := a.AuditTrail(time.Time{}, 0); err != nil || !slices.Equal(got, all) {
		t.Errorf("the archive's audit trail = %+v, %v; the reader's %+v", got, err, all)
	}
	if a.Location() != time.Local {
		t.Errorf("Location = %v, want the system's", a.Location())
	}
}

// TestCollectorOnAJournal scrapes the collector through a pedantic
// registry (its descriptions must match what it collects): the money
// gauges, the devices and the payments by state, from the journal and the
// live state.
func TestCollectorOnAJournal(t *testing.T) {
	j := newJournal(t)
	l := Live{Now: j.t0.Add(time.Hour), InDoubt: []string{j.ids[2], j.ids[4]}, Contradicted: 4,
		Devices: []devices.Status{{Kind: "printer", Name: "epson", State: "paper_out"}, {Kind: "scanner", Name: "hid", State: "connected"}}}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(j.reader(l).Collector())
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			key := f.GetName()
			for _, lp := range m.GetLabel() {
				key += fmt.Sprintf(" %s=%s", lp.GetName(), lp.GetValue())
			}
			got[key] = m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	for key, want := range map[string]float64{
		"posagent_device_up kind=printer name=epson":                    0,
		"posagent_device_up kind=scanner name=hid":                      1,
		"posagent_device_state kind=printer name=epson state=paper_out": 1,
		"posagent_payments state=in_doubt":                              2,
		"posagent_payments state=succeeded":                             2,
		"posagent_payments state=failed":                                1,
		"posagent_payments state=reversed":                              0,
		"posagent_payments_in_doubt":                                    2,
		"posagent_refunds_in_doubt ambiguous=false":                     0,
		"posagent_refunds_in_doubt ambiguous=true":                      1,
		"posagent_reversals_stuck":                                      1,
		"posagent_resolutions_contradicted_total":                       4,
		"posagent_outbox_depth":                                         1,
		"posagent_outbox_oldest_age_seconds":                            3600,
		"posagent_gateway_auth_refused":                                 0,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}
}
