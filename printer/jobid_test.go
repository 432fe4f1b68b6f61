package printer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// Moved from package drivers/bridge with JobID (was bridge.ReceiptJobID).
func TestReceiptJobID(t *testing.T) {
	base := jobReceipt("pay_7Qm2")
	id := func(r Receipt) string {
		t.Helper()
		s, err := JobID(r)
		if err != nil {
			t.Fatalf("JobID: %v", err)
		}
		return s
	}
	if got := id(base); got != "rcpt:pay_7Qm2:customer:0" {
		t.Errorf("first print id %q", got)
	}
	merchant := base
	merchant.Copy = "merchant"
	if got := id(merchant); got != "rcpt:pay_7Qm2:merchant:0" {
		t.Errorf("merchant copy id %q", got)
	}
	noCopy := base
	noCopy.Copy = ""
	if id(noCopy) != id(base) {
		t.Error("an empty copy is not the customer copy")
	}
	// A retry of the same receipt carries the same id, even rebuilt later.
	again := jobReceipt("pay_7Qm2")
	if id(again) != id(base) {
		t.Error("same receipt, different ids")
	}
	re := base
	re.Reprint = true
	rid := id(re)
	if !strings.HasPrefix(rid, "rcpt:pay_7Qm2:customer:r") || rid == id(base) {
		t.Errorf("reprint id %q", rid)
	}
	if id(re) != rid {
		t.Error("reprint id not deterministic")
	}
	keyed := base
	keyed.JobKey = "pay_7Qm2:12"
	if got := id(keyed); got != "rcpt:pay_7Qm2_12:customer" {
		t.Errorf("keyed job id %q", got)
	}
	keyed2 := keyed
	keyed2.JobKey = "pay_7Qm2:13" // the same receipt printed again by a new job
	if id(keyed2) == id(keyed) {
		t.Error("two print jobs of the same receipt share an id: the second would not print")
	}
	refunded := re
	refunded.Refunds = []RefundLine{{OrderID: "R1", Amount: 500, State: "succeeded", Time: time.Date(2026, 11, 25, 19, 0, 0, 0, time.UTC)}}
	if id(refunded) == rid {
		t.Error("a reprint after a refund has the id of the reprint before it")
	}
	odd := base
	odd.PaymentID = "a:b c"
	if got := id(odd); got != "rcpt:a_b_c:customer:0" {
		t.Errorf("separator in payment id: %q", got)
	}
	long := base
	long.PaymentID = strings.Repeat("p", 300)
	if got := id(long); len(got) > 128 || !strings.HasPrefix(got, "rcpt:h") {
		t.Errorf("long payment id gives %q", got)
	}
	if _, err := JobID(Receipt{}); err == nil {
		t.Error("a receipt without payment id got a job id")
	}
}

func jobReceipt(paymentID string) Receipt {
	return Receipt{
		Copy: "customer", Merchant: "Maple Tea House", Terminal: "LANE1",
		Time:      time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC),
		PaymentID: paymentID, OrderID: "ON00004652LANE1" + paymentID, Mode: "scan", Wallet: "wechat",
		Amount: 1250, Currency: "CAD", CodeMasked: "1345**********6789", State: "succeeded",
	}
}

type sentJob struct {
	id   string
	data []byte
}

type jobSink struct {
	jobs []sentJob
	err  error
}

func (s *jobSink) SendJob(_ context.Context, id string, data []byte) error {
	s.jobs = append(s.jobs, sentJob{id, data})
	return s.err
}

func TestJobPrinter(t *testing.T) {
	ctx := context.Background()
	sink := &jobSink{}
	p := JobPrinter{Sender: sink, Encode: func(r Receipt) ([]byte, error) { return Encode(r, Profile58()), nil }}
	r := jobReceipt("pay_1")
	if err := p.PrintReceipt(ctx, r); err != nil {
		t.Fatal(err)
	}
	if err := p.PrintReceipt(ctx, r); err != nil { // a retry: the same id
		t.Fatal(err)
	}
	want, _ := JobID(r)
	if len(sink.jobs) != 2 || sink.jobs[0].id != want || sink.jobs[1].id != want || len(sink.jobs[0].data) == 0 {
		t.Fatalf("jobs %+v, want two with id %s", sink.jobs, want)
	}
	if err := p.PrintReceiptJob(ctx, "job-7", r); err != nil || sink.jobs[2].id != "job-7" {
		t.Fatalf("PrintReceiptJob: %v, %+v", err, sink.jobs[2:])
	}
	sink.err = errors.New("paper out")
	if err := p.PrintReceipt(ctx, r); !errors.Is(err, sink.err) {
		t.Errorf("the sender's error is not returned: %v", err)
	}
	if err := p.PrintReceipt(ctx, Receipt{}); err == nil || !strings.Contains(err.Error(), "no payment id") {
		t.Errorf("a receipt without a payment id: %v", err)
	}
	bad := JobPrinter{Sender: sink, Encode: func(Receipt) ([]byte, error) { return nil, errors.New("paper profile unknown") }}
	if err := bad.PrintReceipt(ctx, r); err == nil || !strings.Contains(err.Error(), "encode: paper profile unknown") {
		t.Errorf("an encoder error: %v", err)
	}
	empty := JobPrinter{Sender: sink, Encode: func(Receipt) ([]byte, error) { return nil, nil }}
	if err := empty.PrintReceipt(ctx, r); err == nil || !strings.Contains(err.Error(), "no data") {
		t.Errorf("an empty job: %v", err)
	}
	if err := (JobPrinter{Sender: sink}).PrintReceipt(ctx, r); err == nil || !strings.Contains(err.Error(), "no receipt encoder") {
		t.Errorf("no encoder: %v", err)
	}
}
