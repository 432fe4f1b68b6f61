package textview

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/client"
)

// TestWritePayment pins `posagent show`: the table (with the tip, the
// wallet's side and the state's note), then history and refunds.
func TestWritePayment(t *testing.T) {
	at := time.Date(2026, 11, 25, 18, 30, 0, 0, time.Local)
	p := &client.Payment{ID: "pay_1", OrderID: "P1", Reference: "INV-7", Mode: "scan", Wallet: "alipay",
		Amount: 1250, Tip: 200, Total: 1450, Currency: "CAD", State: "succeeded", AuthCodeMasked: "2845********1234",
		CreatedAt: at, Refunded: 500,
		WalletSide: &client.WalletSide{TransactionID: "2026112522001", Fee: 12, Total: 1450, Rate: 520000000},
		History:    []client.HistoryEntry{{State: "awaiting_code", At: at}, {State: "succeeded", At: at.Add(1500 * time.Millisecond)}},
		Refunds:    []client.Refund{{ID: "ref_1", OrderID: "R1", Amount: 500, State: "succeeded"}}}
	var b bytes.Buffer
	WritePayment(&b, p)
	want := strings.Join([]string{
		"payment             pay_1",
		"order id            P1",
		"reference           INV-7",
		"mode                scan",
		"wallet              alipay",
		"amount              12.50 CAD",
		"tip                 2.00 CAD",
		"total               14.50 CAD",
		"gateway fee         0.12 CAD",
		"wallet transaction  2026112522001",
		"CNY rate            5.2000",
		"state               succeeded",
		"code                2845********1234",
		"created             " + at.Format(time.RFC3339),
		"refunded            5.00 CAD",
		"history:",
		"  18:30:00.000  awaiting_code",
		"  18:30:01.500  succeeded",
		"refunds:",
		"  ref_1  5.00 CAD  succeeded  (order R1)",
		""}, "\n")
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

// TestWritePayments pins `posagent payments`: a header and one line per
// payment.
func TestWritePayments(t *testing.T) {
	at := time.Date(2026, 11, 25, 18, 30, 0, 0, time.Local)
	list := &client.PaymentPage{Payments: []client.Payment{
		{ID: "pay_2", CreatedAt: at, Mode: "qr", Wallet: "wechat", Amount: 99, Currency: "CAD", State: "in_doubt"},
		{ID: "pay_1", CreatedAt: at, Mode: "scan", Wallet: "alipay", Amount: 1250, Currency: "CAD", State: "succeeded", Refunded: 500, Reference: "INV-7"}}}
	var b bytes.Buffer
	if err := WritePayments(&b, list); err != nil {
		t.Fatal(err)
	}
	want := "ID     CREATED              MODE  WALLET  AMOUNT     STATE      REFUNDED  REFERENCE\n" +
		"pay_2  2026-11-25 18:30:00  qr    wechat  0.99 CAD   in_doubt   0.00      \n" +
		"pay_1  2026-11-25 18:30:00  scan  alipay  12.50 CAD  succeeded  5.00      INV-7\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestStateNoteAndTipNote(t *testing.T) {
	for _, tc := range []struct {
		p    client.Payment
		want string
	}{
		{client.Payment{State: "failed", Error: &client.PaymentError{Code: "declined", Message: "insufficient funds"}}, " (declined: insufficient funds)"},
		{client.Payment{State: "failed", Error: &client.PaymentError{Code: "declined"}}, " (declined)"},
		{client.Payment{State: "awaiting_code"}, " - scan the customer's payment code"},
		{client.Payment{State: "in_doubt"}, " - outcome unknown; the daemon keeps checking with the gateway"},
		{client.Payment{State: "queued"}, " - gateway unreachable; retrying while the code is valid"},
		{client.Payment{State: "succeeded"}, ""},
	} {
		if got := StateNote(&tc.p); got != tc.want {
			t.Errorf("StateNote(%s) = %q, want %q", tc.p.State, got, tc.want)
		}
	}
	if got := StateNote(&client.Payment{State: client.Processing, Reason: client.ReasonWaitingForCustomer}); !strings.HasPrefix(got, " - waiting for the customer to confirm") {
		t.Errorf("waiting for the customer: %q", got)
	}
	if got := TipNote(&client.Payment{Amount: 1250, Tip: 200, Currency: "CAD"}); got != " (12.50 + tip 2.00)" {
		t.Errorf("TipNote = %q", got)
	}
	if got := TipNote(&client.Payment{Amount: 1250}); got != "" {
		t.Errorf("TipNote without a tip = %q", got)
	}
}
