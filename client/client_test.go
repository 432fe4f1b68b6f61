package client_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/internal/agenttest"
)

// TestPayRefundAndList: a scan payment taken with a code given through the
// client, two refunds, the lists with their filters, each checked against
// the simulator's ledger.
func TestPayRefundAndList(t *testing.T) {
	d := startDaemon(t, stack{})
	c := d.client(client.Options{})
	ctx := context.Background()

	p, err := c.CreatePayment(ctx, client.PaymentRequest{Amount: 1250, Tip: 150, Mode: "scan", Reference: "INV-1"})
	if err != nil {
		t.Fatal(err)
	}
	if p.State != client.AwaitingCode || p.Total != 1400 || p.Reference != "INV-1" {
		t.Fatalf("created: %+v", p)
	}
	if p, err = c.GiveCode(ctx, p.ID, agenttest.WechatCode(1)); err != nil {
		t.Fatal(err)
	}
	p = waitPayment(t, c, p.ID, "succeeded", func(p *client.Payment) bool { return p.Final() })
	if p.State != client.Succeeded || p.Wallet != "wechat" {
		t.Fatalf("paid: %s %s %v", p.State, p.Wallet, p.Error)
	}
	o := d.sim.Ledger()[p.OrderID]
	if o.Charged != 1400 || o.SaleNum != "INV-1" {
		t.Fatalf("ledger: charged %d, sale %q; want 1400, INV-1", o.Charged, o.SaleNum)
	}

	if p, err = c.Refund(ctx, p.ID, client.RefundRequest{Amount: 400}); err != nil {
		t.Fatal(err)
	}
	if r := p.Refunds[len(p.Refunds)-1]; r.Amount != 400 {
		t.Fatalf("refund of 400: %+v", r)
	}
	p = waitPayment(t, c, p.ID, "refunded 400", func(p *client.Payment) bool { return p.Refunded == 400 })
	if p, err = c.Refund(ctx, p.ID, client.RefundRequest{}); err != nil { // all that is left
		t.Fatal(err)
	}
	p = waitPayment(t, c, p.ID, "refunded in full", func(p *client.Payment) bool { return p.Refunded == 1400 })
	if o := d.sim.Ledger()[p.OrderID]; o.Refunded != 1400 || len(o.Refunds) != 2 {
		t.Fatalf("ledger refunded %d in %d refunds; want 1400 in 2", o.Refunded, len(o.Refunds))
	}
	_, err = c.Refund(ctx, p.ID, client.RefundRequest{Amount: 1})
	var ae *client.Error
	if !errors.As(err, &ae) || ae.StatusCode != 422 || ae.Code != "nothing_to_refund" || ae.IdempotencyKey == "" {
		t.Fatalf("a refund of a refunded payment: %v (%+v)", err, ae)
	}

	// Two more payments (one cancelled), then the lists.
	q, err := c.CreatePayment(ctx, client.PaymentRequest{Amount: 700, Mode: "scan", Reference: "INV-2"})
	if err != nil {
		t.Fatal(err)
	}
	if q, err = c.Cancel(ctx, q.ID); err != nil || q.State != client.Cancelled {
		t.Fatalf("cancel: %v %+v", err, q)
	}
	r, err := c.CreatePayment(ctx, client.PaymentRequest{Amount: 800, Mode: "scan", Reference: "INV-3", AuthCode: agenttest.AlipayCode(2)})
	if err != nil {
		t.Fatal(err)
	}
	waitPayment(t, c, r.ID, "final", func(p *client.Payment) bool { return p.Final() })

	pg, err := c.Payments(ctx, client.ListQuery{Reference: "INV-2"})
	if err != nil || len(pg.Payments) != 1 || pg.Payments[0].ID != q.ID {
		t.Fatalf("reference INV-2: %v %+v", err, pg)
	}
	pg, err = c.Payments(ctx, client.ListQuery{State: client.Succeeded})
	if err != nil || len(pg.Payments) != 2 {
		t.Fatalf("succeeded: %v %d payments", err, len(pg.Payments))
	}
	var ids []string
	for p, err := range c.AllPayments(ctx, client.ListQuery{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	if want := []string{r.ID, q.ID, p.ID}; !slices.Equal(ids, want) {
		t.Fatalf("all payments, a page of one at a time: %v, want %v (newest first)", ids, want)
	}
	if _, err := c.Payments(ctx, client.ListQuery{Limit: 501}); !client.IsCode(err, "invalid_limit") {
		t.Fatalf("limit 501: %v", err)
	}
}

// TestTypedErrors: refusals come back as *client.Error with the API's
// status and code; a daemon that is not there is a *NotRunningError.
func TestTypedErrors(t *testing.T) {
	d := startDaemon(t, stack{access: api.Access{Tokens: map[api.Role]string{
		api.RolePOS: "pos-token-0123456789", api.RoleDisplay: "display-token-0123456789"}}})
	ctx := context.Background()
	pos := d.client(client.Options{Token: "pos-token-0123456789"})

	w, err := pos.CreatePayment(ctx, client.PaymentRequest{Amount: 500, Mode: "scan"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = pos.CreatePayment(ctx, client.PaymentRequest{Amount: 600, Mode: "scan"})
	var ae *client.Error
	if !errors.As(err, &ae) || ae.StatusCode != 409 || ae.Code != "payment_waiting" || !strings.Contains(ae.Message, w.ID) {
		t.Fatalf("a second payment waiting for a code: %v", err)
	}
	if ae.Method != "POST" || ae.Path != "/v1/payments" || !strings.HasPrefix(ae.IdempotencyKey, "go-") {
		t.Errorf("the error's request: %s %s key %q", ae.Method, ae.Path, ae.IdempotencyKey)
	}
	if _, err := pos.CreatePayment(ctx, client.PaymentRequest{Amount: -1, Mode: "scan"}); !client.IsCode(err, "invalid_amount") {
		t.Errorf("amount -1: %v", err)
	}
	if _, err := pos.Payment(ctx, "pay_nope"); !client.IsCode(err, "not_found") {
		t.Errorf("unknown payment: %v", err)
	}
	// A lower role: the display may not take payments; a wrong token is 401.
	disp := d.client(client.Options{Token: "display-token-0123456789"})
	if _, err := disp.CreatePayment(ctx, client.PaymentRequest{Amount: 500, Mode: "scan"}); !errors.As(err, &ae) || ae.StatusCode != 403 || ae.Code != "forbidden" {
		t.Errorf("display creating a payment: %v", err)
	}
	wrong := d.client(client.Options{Token: "not-the-token-0123456789"})
	if _, err := wrong.Status(ctx); !errors.As(err, &ae) || ae.StatusCode != 401 || ae.Code != "unauthorized" {
		t.Errorf("a wrong token: %v", err)
	}
	if err := d.client(client.Options{}).Healthy(ctx); err != nil {
		t.Errorf("healthz needs no token: %v", err)
	}

	// Nothing listening.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	gone, _ := client.New(client.Options{URL: addr})
	var nr *client.NotRunningError
	if _, err := gone.Status(ctx); !errors.As(err, &nr) || !strings.Contains(err.Error(), addr) {
		t.Errorf("no daemon: %v", err)
	}
	if _, err := client.New(client.Options{URL: "ftp://x"}); err == nil {
		t.Error("an ftp:// URL was taken")
	}
}

// TestIdempotencyKeys: a key given twice is one payment (the second answer
// replayed); without a key every call is a new payment.
func TestIdempotencyKeys(t *testing.T) {
	d := startDaemon(t, stack{})
	c := d.client(client.Options{})
	ctx := context.Background()
	req := client.PaymentRequest{Amount: 990, Mode: "scan", AuthCode: agenttest.WechatCode(7), Reference: "INV-7"}
	a, err := c.CreatePayment(ctx, req, "INV-7-pay")
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.CreatePayment(ctx, req, "INV-7-pay")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID || a.Replayed || !b.Replayed {
		t.Fatalf("the same key twice: %s (replayed %v), %s (replayed %v)", a.ID, a.Replayed, b.ID, b.Replayed)
	}
	req.Amount = 991
	if _, err := c.CreatePayment(ctx, req, "INV-7-pay"); !client.IsCode(err, "idempotency_conflict") {
		t.Fatalf("the key with another body: %v", err)
	}
	waitPayment(t, c, a.ID, "final", func(p *client.Payment) bool { return p.Final() })
	orders := 0
	for _, o := range d.sim.Ledger() {
		if o.SaleNum == "INV-7" {
			orders++
		}
	}
	if orders != 1 {
		t.Fatalf("%d orders at the gateway for one key, want 1", orders)
	}
	if k1, k2 := c.NewKey(), c.NewKey(); k1 == k2 || len(k1) != len("go-")+32 {
		t.Fatalf("keys %q %q", k1, k2)
	}
}

// loseFirstAnswer is a transport whose first answer to a request with an
// Idempotency-Key is lost after the daemon acted on it.
type loseFirstAnswer struct {
	rt   http.RoundTripper
	lost atomic.Int32
	keys []string
}

func (l *loseFirstAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	k := r.Header.Get("Idempotency-Key")
	l.keys = append(l.keys, k)
	resp, err := l.rt.RoundTrip(r)
	if err == nil && k != "" && l.lost.Add(1) == 1 {
		resp.Body.Close()
		return nil, errors.New("connection reset by peer (the test lost the answer)")
	}
	return resp, err
}

// TestRetryAfterLostAnswer: when a payment's answer is lost, the client
// sends it again with the same key: one payment, one order, one charge.
func TestRetryAfterLostAnswer(t *testing.T) {
	d := startDaemon(t, stack{})
	tr := &loseFirstAnswer{rt: http.DefaultTransport}
	c := d.client(client.Options{Transport: tr})
	ctx := context.Background()
	p, err := c.CreatePayment(ctx, client.PaymentRequest{Amount: 1500, Mode: "scan", AuthCode: agenttest.WechatCode(9), Reference: "INV-9"})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Replayed || len(tr.keys) != 2 || tr.keys[0] != tr.keys[1] {
		t.Fatalf("replayed %v, keys sent %q: want the same key twice and a replayed answer", p.Replayed, tr.keys)
	}
	p = waitPayment(t, c, p.ID, "final", func(p *client.Payment) bool { return p.Final() })
	pg, err := c.Payments(ctx, client.ListQuery{Reference: "INV-9"})
	if err != nil || len(pg.Payments) != 1 {
		t.Fatalf("payments of INV-9: %v %v", err, pg)
	}
	charged := int64(0)
	for _, o := range d.sim.Ledger() {
		if o.SaleNum == "INV-9" {
			charged += o.Charged
		}
	}
	if p.State != client.Succeeded || charged != 1500 {
		t.Fatalf("state %s, charged %d in all; want succeeded, 1500 once", p.State, charged)
	}
}

// cutter is a transport whose connections the test can cut (a network
// that fails under an open event stream).
type cutter struct {
	mu    sync.Mutex
	conns []net.Conn
}

func (c *cutter) transport() http.RoundTripper {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(ctx, network, addr)
		if err == nil {
			c.mu.Lock()
			c.conns = append(c.conns, conn)
			c.mu.Unlock()
		}
		return conn, err
	}
	return tr
}

func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// TestEventsResume: the event iterator follows a qr payment to paid while
// its connection is cut in the middle; it reconnects with Last-Event-ID
// and has seen exactly the events a replay of the journal from the same
// start shows: none missed, none twice.
func TestEventsResume(t *testing.T) {
	d := startDaemon(t, stack{})
	cut := &cutter{}
	c := d.client(client.Options{Transport: cut.transport()})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := st.Journal.LastSeq
	p, err := c.CreatePayment(ctx, client.PaymentRequest{Amount: 880, Mode: "qr", Wallet: "alipay"})
	if err != nil {
		t.Fatal(err)
	}
	var seen []uint64
	breaks, paid := 0, false
	for ev, err := range c.Events(ctx, start) {
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("events: %v", err)
			}
			breaks++
			continue // the iterator reconnects
		}
		seen = append(seen, ev.Seq)
		if ev.Kind != client.KindPaymentUpdated || ev.Payment.ID != p.ID {
			continue
		}
		if ev.Payment.CodeURL != "" && !paid {
			cut.cut() // the stream breaks; the customer pays meanwhile
			paid = true
			resp, err := http.Get(ev.Payment.CodeURL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		if ev.Payment.Final() {
			if ev.Payment.State != client.Succeeded {
				t.Fatalf("the qr payment ended %s", ev.Payment.State)
			}
			break
		}
	}
	if !paid || breaks == 0 {
		t.Fatalf("paid %v, %d breaks: the test did not cut the stream", paid, breaks)
	}
	if o := d.sim.Ledger()[waitPayment(t, c, p.ID, "final", func(p *client.Payment) bool { return p.Final() }).OrderID]; o.Charged != 880 {
		t.Fatalf("ledger charged %d, want 880", o.Charged)
	}
	var replay []uint64
	for ev, err := range c.Events(ctx, start) {
		if err != nil {
			t.Fatal(err)
		}
		if ev.Seq > seen[len(seen)-1] {
			break
		}
		if replay = append(replay, ev.Seq); ev.Seq == seen[len(seen)-1] {
			break
		}
	}
	if !slices.Equal(seen, replay) {
		t.Fatalf("events seen across %d breaks %v; a replay from %d shows %v", breaks, seen, start, replay)
	}
}

// TestEventsEnd: an answer no retry can change ends the sequence after
// one error; ctx ends it quietly.
func TestEventsEnd(t *testing.T) {
	d := startDaemon(t, stack{})
	c := d.client(client.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	for _, err := range c.Events(ctx, 1<<40) { // beyond the journal
		errs = append(errs, err)
	}
	if len(errs) != 1 || !client.IsCode(errs[0], "invalid_cursor") {
		t.Fatalf("a cursor beyond the journal: %v, want one invalid_cursor", errs)
	}
	short, stop := context.WithCancel(ctx)
	n := 0
	go func() {
		time.Sleep(200 * time.Millisecond)
		stop()
	}()
	for _, err := range c.Events(short, client.Now) {
		n++
		t.Errorf("an event or error on a quiet stream: %v", err)
	}
	if n != 0 {
		t.Fatalf("%d yields", n)
	}
}

// TestUnixSocketAndPinnedTLS: the client dials the API's Unix socket and
// its TLS listener with the certificate pinned; another pin is refused
// before any request is sent.
func TestUnixSocketAndPinnedTLS(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "api.sock")
	ul, err := api.ListenUnix(sock, "")
	if err != nil {
		t.Fatal(err)
	}
	tl, fp := tlsListener(t, dir)
	d := startDaemon(t, stack{extra: []net.Listener{ul, tl}})
	ctx := context.Background()

	uc := d.client(client.Options{URL: "unix://" + sock})
	if st, err := uc.Status(ctx); err != nil || !st.Gateway.Reachable || !strings.HasSuffix(st.Journal.Path, "posagent.db") {
		t.Fatalf("status over the socket: %v %+v", err, st)
	}
	p, err := uc.CreatePayment(ctx, client.PaymentRequest{Amount: 300, Mode: "scan", AuthCode: agenttest.WechatCode(3)})
	if err != nil {
		t.Fatal(err)
	}

	tc := d.client(client.Options{URL: "https://" + tl.Addr().String(), Fingerprint: strings.ToLower(fp)})
	if q, err := tc.Payment(ctx, p.ID); err != nil || q.ID != p.ID {
		t.Fatalf("the payment over pinned TLS: %v", err)
	}
	other := d.client(client.Options{URL: "https://" + tl.Addr().String(), Fingerprint: strings.Repeat("AB:", 31) + "AB"})
	if _, err := other.Status(ctx); err == nil || !strings.Contains(err.Error(), "not the pinned one") {
		t.Fatalf("another pin: %v", err)
	}
	for _, o := range []client.Options{{URL: "https://x:1", Fingerprint: "AB:CD"}, {URL: "http://x:1", Fingerprint: fp}, {URL: "unix://"}} {
		if _, err := client.New(o); err == nil {
			t.Errorf("New(%+v) took it", o)
		}
	}
	plain := d.client(client.Options{URL: "http://" + tl.Addr().String()})
	if _, err := plain.Status(ctx); err == nil {
		t.Fatal("plain HTTP to the TLS listener answered")
	}
	waitPayment(t, uc, p.ID, "final", func(p *client.Payment) bool { return p.Final() })
}

// TestShiftsReportsAndCart: a manager opens a shift, a payment is taken
// through the cart, the X report counts it, the shift closes with its Z
// report, which lists, reads (JSON and CSV) and reconciles with the
// gateway; the audit trail names the calls.
func TestShiftsReportsAndCart(t *testing.T) {
	d := startDaemon(t, stack{})
	c := d.client(client.Options{})
	ctx := context.Background()
	if sh, err := c.CurrentShift(ctx); err != nil || sh != nil {
		t.Fatalf("no shift yet: %v %+v", err, sh)
	}
	sh, err := c.OpenShift(ctx, "m1")
	if err != nil || sh.No != 1 || sh.OpenedBy != "m1" {
		t.Fatalf("open shift: %v %+v", err, sh)
	}
	cart, err := c.SetCart(ctx, client.CartRequest{Amount: 2000, Reference: "INV-20"})
	if err != nil || cart.Amount != 2000 {
		t.Fatalf("set cart: %v %+v", err, cart)
	}
	if got, err := c.Cart(ctx); err != nil || got.Amount != 2000 || got.Reference != "INV-20" {
		t.Fatalf("cart: %v %+v", err, got)
	}
	if err := c.ClearCart(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Cart(ctx); err != nil || got.Amount != 0 {
		t.Fatalf("cleared cart: %v %+v", err, got)
	}
	p, err := c.CreatePayment(ctx, client.PaymentRequest{Amount: 2000, Mode: "scan", Reference: "INV-20"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Scan(ctx, client.ScanRequest{Code: agenttest.AlipayCode(20)}); err != nil {
		t.Fatal(err)
	}
	p = waitPayment(t, c, p.ID, "final", func(p *client.Payment) bool { return p.Final() })
	if p.State != client.Succeeded || p.Wallet != "alipay" {
		t.Fatalf("scanned payment: %s %s", p.State, p.Wallet)
	}
	x, err := c.XReport(ctx)
	if err != nil || x.Kind != "x" || x.Sales.Count != 1 || x.Sales.Amount != 2000 {
		t.Fatalf("X report: %v %+v", err, x)
	}
	z, err := c.CloseShift(ctx, "m1", false)
	if err != nil || z.Z != 1 || z.Net != 2000 {
		t.Fatalf("close shift: %v %+v", err, z)
	}
	zs, err := c.ZReports(ctx)
	if err != nil || len(zs) != 1 || zs[0].No != 1 || zs[0].SHA256 != z.SHA256 {
		t.Fatalf("Z reports: %v %+v", err, zs)
	}
	if got, err := c.ZReport(ctx, 1); err != nil || got.Net != 2000 || got.Shift.ClosedBy != "m1" {
		t.Fatalf("Z report 1: %v %+v", err, got)
	}
	csv, err := c.ZReportFile(ctx, 1, client.FormatCSV, "")
	if err != nil || !strings.Contains(string(csv), "total,net,,,,,,2000") {
		t.Fatalf("Z report 1 as CSV: %v\n%s", err, csv)
	}
	if _, err := c.ZReportFile(ctx, 1, "xml", ""); !client.IsCode(err, "invalid_format") {
		t.Fatalf("format xml: %v", err)
	}
	rc, err := c.Reconcile(ctx, 1)
	if err != nil || rc.Checked != 1 || rc.Matched != 1 || len(rc.Mismatches) != 0 {
		t.Fatalf("reconcile Z 1: %v %+v", err, rc)
	}
	if last, err := c.Reconciliation(ctx, 1); err != nil || last.FinishedAt != rc.FinishedAt {
		t.Fatalf("last reconciliation: %v %+v", err, last)
	}
	n, err := c.Sync(ctx)
	if err != nil || n < 0 {
		t.Fatalf("sync: %d %v", n, err)
	}
	audit, err := c.AuditTrail(ctx, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range audit {
		actions = append(actions, a.Action)
	}
	for _, want := range []string{"shift.open", "cart.set", "cart.clear", "payment.create", "scan", "shift.close", "report.reconcile", "sync"} {
		if !slices.Contains(actions, want) {
			t.Errorf("the audit trail lacks %s: %v", want, actions)
		}
	}
	rd, err := c.Export(ctx, time.Time{}, client.FormatCSV)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rd)
	rd.Close()
	if err != nil || !strings.Contains(string(b), p.ID) {
		t.Fatalf("export: %v\n%s", err, b)
	}
}
