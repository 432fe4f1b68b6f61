package ottsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/internal/envelope"
	"github.com/posagent/posagent/paycode"
)

// Defaults of Options (real time; every one is multiplied by TimeScale).
const (
	DefaultPaidAfter  = 5 * time.Second
	DefaultCloseAfter = 45 * time.Second
	DefaultSlowReply  = 30 * time.Second
	DefaultQRTimeout  = 5 * time.Minute
	// DefaultCodeValidity is how long a payment code may be charged after
	// it was issued (or first seen): about a minute, as the wallets do.
	DefaultCodeValidity = paycode.Validity
)

// DefaultRates are the simulated EX_RATE_QUERY answers (rate x 10^8 CNY).
var defaultRates = map[string]int64{"CAD": 515000000, "USD": 712000000}

// Options configure a Sim. Zero values take the documented defaults.
type Options struct {
	MerchantID, SignKey string
	TimeScale           float64       // multiplies every delay below (default 1)
	PaidAfter           time.Duration // "02": paid ~5 s after PASSIVEPAY (qr: after the code_url is opened)
	CloseAfter          time.Duration // "03": closed after 45 s
	SlowReply           time.Duration // "06": reply delayed (default 30 s, past the client's timeout)
	QRTimeout           time.Duration // a qr order unpaid this long is closed (default 5 min)
	CodeValidity        time.Duration // a payment code expires this long after it was issued or first seen (default 60 s)
	BaseURL             string        // used in code_url; set by Run from the listener when empty
	Clock               func() time.Time
	Logger              *slog.Logger

	// Rates are the EX_RATE_QUERY answers by fee_type, rate x 10^8
	// (default CAD 5.15, USD 7.12).
	Rates map[string]int64
	// Seed seeds the random choices of error_rate and drop_rate (0: 1),
	// so a run with faults is repeatable.
	Seed uint64
	// Faults in force from the start (as POST /_sim/faults; DownForMS is
	// ignored here).
	Faults Faults
	// Callbacks makes Run POST a call-back to a qr order's call_back_url
	// when it is paid (up to 3 attempts, CallbackRetry apart). Off by
	// default: OTTPay's acknowledgement format and retry policy are unknown.
	Callbacks     bool
	CallbackRetry time.Duration // default 2 s (scaled)
	// ConvenienceFee is added, in cents, to the total of every PASSIVEPAY
	// and ACTIVEPAY order (0: none), as a gateway that charges the
	// customer a fee does: the answers' total_amount carries it, with no
	// field of its own (OTTPay names none).
	ConvenienceFee int64
}

// Order is one order in the ledger, as GET /_sim/ledger shows it.
type Order struct {
	OrderID   string    `json:"order_id"`
	Action    string    `json:"action"`              // PASSIVEPAY or ACTIVEPAY
	AuthCode  string    `json:"auth_code,omitempty"` // PASSIVEPAY: the payment code charged (the ledger is a test tool)
	Wallet    string    `json:"wallet"`              // wechat, alipay, unionpay
	Amount    int64     `json:"amount"`
	Tip       int64     `json:"tip,omitempty"`      // the request's tip, as decrypted
	Fee       int64     `json:"fee,omitempty"`      // the convenience fee added (Options.ConvenienceFee)
	SaleNum   string    `json:"sale_num,omitempty"` // the request's sale_num, as decrypted
	Charged   int64     `json:"charged"`            // cents actually taken from the customer
	Refunded  int64     `json:"refunded"`           // cents given back (sum of Refunds)
	Status    string    `json:"status"`             // order_status: notpay success orderclosed failure partial_refunded fully_refunded
	Refunds   []Refund  `json:"refunds"`
	CreatedAt time.Time `json:"created_at"`
	// Callback is what became of the paid call-back (Options.Callbacks):
	// "pending", "delivered" or "failed: ...". Empty when none was due.
	Callback string `json:"callback,omitempty"`
}

// Refund is one refund of an order, under the refund's own order id.
type Refund struct {
	OrderID string `json:"order_id"`
	Amount  int64  `json:"amount"`
}

// Faults are injected failures of /processV2. Durations are in
// milliseconds of simulated time: they are multiplied by TimeScale like
// every other delay.
type Faults struct {
	LatencyMS int64   `json:"latency_ms"`  // added before every answer
	ErrorRate float64 `json:"error_rate"`  // share of requests answered SYSTEM_ERROR without acting
	DropRate  float64 `json:"drop_rate"`   // share of requests whose connection is closed without acting
	DownForMS int64   `json:"down_for_ms"` // close the listener this long (connection refused), then listen again
	// LostRate is the share of requests acted on whose answer is lost:
	// the connection is closed after the gateway acted (a charge or a
	// refund made, the client told nothing).
	LostRate float64 `json:"lost_rate"`
}

func (f Faults) validate() error {
	switch {
	case f.LatencyMS < 0:
		return fmt.Errorf("latency_ms %d: must be 0 or more", f.LatencyMS)
	case f.DownForMS < 0:
		return fmt.Errorf("down_for_ms %d: must be 0 or more", f.DownForMS)
	case f.ErrorRate < 0 || f.ErrorRate > 1 || f.ErrorRate != f.ErrorRate:
		return fmt.Errorf("error_rate %v: must be between 0 and 1", f.ErrorRate)
	case f.DropRate < 0 || f.DropRate > 1 || f.DropRate != f.DropRate:
		return fmt.Errorf("drop_rate %v: must be between 0 and 1", f.DropRate)
	case f.LostRate < 0 || f.LostRate > 1 || f.LostRate != f.LostRate:
		return fmt.Errorf("lost_rate %v: must be between 0 and 1", f.LostRate)
	}
	return nil
}

// Errors of Pay, always wrapped as "ottsim: pay ORDER_ID: ...".
var (
	ErrUnknownOrder = errors.New("no such order")
	ErrNotQR        = errors.New("not a qr (ACTIVEPAY) order")
	ErrNotPayable   = errors.New("order cannot be paid")
)

// Sim is the OTTPay simulator. It is safe for concurrent use; its state
// lives in memory only.
type Sim struct {
	o     Options
	log   *slog.Logger
	now   func() time.Time
	scale float64
	rates map[string]int64
	down  chan time.Duration // SetFaults -> Run: close the listener this long
	wake  chan struct{}      // settle -> callbackLoop: a call-back is due

	mu        sync.Mutex // mu guards everything below
	orders    map[string]*order
	ids       []string          // order ids in creation order
	refundOf  map[string]string // refund order id -> original order id
	faults    Faults
	rng       *rand.Rand
	baseURL   string
	running   bool
	downUntil time.Time
	nextRef   int
	due       []callback // call-backs not yet taken by callbackLoop
	codes     map[string]*codeUse
	nextCode  int
}

// codeUse is what the simulated wallets know of a payment code: codes are
// single-use and expire CodeValidity after they were issued (IssueCode) or
// first seen.
type codeUse struct {
	issued  time.Time
	orderID string // the order that used it ("" while unused)
}

// order is a ledger entry with the simulator's private schedule.
type order struct {
	Order
	digits  int64     // amount % 100: the outcome selector
	payAt   time.Time // when a pending order becomes paid (zero: never)
	closeAt time.Time // when a pending order closes (zero: never)
	opened  bool      // qr: the customer opened code_url
	paidAt  time.Time // when it was charged (trade_time)
	cbURL   string    // qr: call_back_url
}

// callback is a call-back due to be delivered.
type callback struct {
	orderID, url string
	data         envelope.Fields
}

// New returns a simulator. Zero Options fields take their defaults.
func New(o Options) *Sim {
	if o.TimeScale <= 0 {
		o.TimeScale = 1
	}
	if o.PaidAfter <= 0 {
		o.PaidAfter = DefaultPaidAfter
	}
	if o.CloseAfter <= 0 {
		o.CloseAfter = DefaultCloseAfter
	}
	if o.SlowReply <= 0 {
		o.SlowReply = DefaultSlowReply
	}
	if o.QRTimeout <= 0 {
		o.QRTimeout = DefaultQRTimeout
	}
	if o.CodeValidity <= 0 {
		o.CodeValidity = DefaultCodeValidity
	}
	if o.CallbackRetry <= 0 {
		o.CallbackRetry = 2 * time.Second
	}
	s := &Sim{
		o:        o,
		log:      o.Logger,
		now:      o.Clock,
		scale:    o.TimeScale,
		rates:    o.Rates,
		down:     make(chan time.Duration, 1),
		wake:     make(chan struct{}, 1),
		orders:   map[string]*order{},
		refundOf: map[string]string{},
		codes:    map[string]*codeUse{},
		baseURL:  o.BaseURL,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rates == nil {
		s.rates = defaultRates
	}
	seed := o.Seed
	if seed == 0 {
		seed = 1
	}
	s.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	f := o.Faults
	f.DownForMS = 0
	if f.validate() == nil {
		s.faults = f
	}
	return s
}

// scaled multiplies d by TimeScale.
func (s *Sim) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * s.scale)
}

// Ledger returns every order in creation order, with the state it has
// now (pending orders whose time has come are settled first).
func (s *Sim) Ledger() []Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	out := make([]Order, 0, len(s.ids))
	for _, id := range s.ids {
		o := s.orders[id]
		s.settle(o, now)
		out = append(out, o.snapshot())
	}
	return out
}

func (o *order) snapshot() Order {
	c := o.Order
	c.Refunds = append([]Refund{}, o.Refunds...)
	return c
}

// settle applies a pending order's schedule up to now.
func (s *Sim) settle(o *order, now time.Time) {
	if o.Status != gateway.StatusNotPay {
		return
	}
	pay := !o.payAt.IsZero() && !now.Before(o.payAt)
	closeNow := !o.closeAt.IsZero() && !now.Before(o.closeAt)
	if pay && closeNow && o.closeAt.Before(o.payAt) {
		pay = false
	}
	switch {
	case pay:
		o.Status = gateway.StatusSuccess
		o.Charged, o.paidAt = o.total(), now
		s.log.Info("ottsim: order paid", "order_id", o.OrderID, "amount", o.Amount, "tip", o.Tip)
		if s.o.Callbacks && o.cbURL != "" {
			o.Callback = "pending"
			s.due = append(s.due, callback{orderID: o.OrderID, url: o.cbURL, data: withTip(envelope.Fields{
				{Key: "order_id", Value: o.OrderID},
				{Key: "order_status", Value: gateway.StatusSuccess},
				{Key: "total_amount", Value: strconv.FormatInt(o.total(), 10)},
				{Key: "trade_time", Value: now.UTC().Format("20060102150405")},
			}, o)})
			select {
			case s.wake <- struct{}{}:
			default:
			}
		}
	case closeNow:
		o.Status = gateway.StatusOrderClosed
		s.log.Info("ottsim: order closed unpaid", "order_id", o.OrderID)
	}
}

// SetFaults sets the injected faults. DownForMS > 0 closes the listener
// of a running Run for that long (scaled); without Run it is ignored.
func (s *Sim) SetFaults(f Faults) {
	s.mu.Lock()
	down := f.DownForMS
	f.DownForMS = 0
	s.faults = f
	running := s.running
	if down > 0 && running {
		d := s.scaled(time.Duration(down) * time.Millisecond)
		s.downUntil = s.now().Add(d)
		select {
		case <-s.down: // a newer request replaces one not yet taken
		default:
		}
		s.down <- d
	}
	s.mu.Unlock()
	if down > 0 && !running {
		s.log.Warn("ottsim: down_for_ms ignored: the simulator is not started by Run")
	}
}

// Faults returns the faults in force.
func (s *Sim) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faults
}

// IssueCode plays a customer's wallet showing a fresh payment code for
// wallet (wechat, alipay or unionpay): valid CodeValidity from now, once.
func (s *Sim) IssueCode(wallet string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextCode++
	var code string
	switch wallet {
	case "wechat":
		code = fmt.Sprintf("13%016d", 7_000_000_000_000_000+int64(s.nextCode))
	case "alipay":
		code = fmt.Sprintf("28%016d", 7_000_000_000_000_000+int64(s.nextCode))
	case "unionpay":
		code = fmt.Sprintf("62%017d", 70_000_000_000_000_000+int64(s.nextCode))
	default:
		return "", fmt.Errorf("ottsim: issue code: unknown wallet %q (want wechat, alipay or unionpay)", wallet)
	}
	s.codes[code] = &codeUse{issued: s.now()}
	return code, nil
}

// useCode checks a PASSIVEPAY's payment code as the wallets do: a code
// already charged under another order is refused, and so is a code older
// than CodeValidity. mu held.
func (s *Sim) useCode(code, orderID string, now time.Time) (reply, bool) {
	u := s.codes[code]
	if u == nil {
		u = &codeUse{issued: now}
		s.codes[code] = u
	}
	if u.orderID != "" && u.orderID != orderID {
		return refuse(gateway.CodeFail, "auth_code was already used (order %s): a payment code pays once", u.orderID), false
	}
	if now.Sub(u.issued) > s.scaled(s.o.CodeValidity) {
		return refuse(gateway.CodeFail, "auth_code expired: it was issued %s ago", now.Sub(u.issued).Round(time.Millisecond)), false
	}
	u.orderID = orderID
	return reply{}, true
}

// Pay plays the customer paying a qr order, as opening its code_url does.
// Amounts ending in 02 are paid PaidAfter later; 03 never pays
// (ErrNotPayable); paying an order already paid is not an error.
func (s *Sim) Pay(orderID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.orders[orderID]
	if !ok {
		return fmt.Errorf("ottsim: pay %s: %w", orderID, ErrUnknownOrder)
	}
	if o.Action != gateway.ActionActivePay {
		return fmt.Errorf("ottsim: pay %s: %w", orderID, ErrNotQR)
	}
	now := s.now()
	s.settle(o, now)
	switch o.Status {
	case gateway.StatusSuccess, gateway.StatusPartialRefunded, gateway.StatusFullyRefunded:
		return nil
	case gateway.StatusNotPay:
	default:
		return fmt.Errorf("ottsim: pay %s: %w: it is %s", orderID, ErrNotPayable, o.Status)
	}
	o.opened = true
	switch o.digits {
	case 2:
		if o.payAt.IsZero() {
			o.payAt = now.Add(s.scaled(s.o.PaidAfter))
		}
	case 3:
		return fmt.Errorf("ottsim: pay %s: %w: amounts ending in 03 are never paid (closed %s after creation)",
			orderID, ErrNotPayable, s.scaled(s.o.CloseAfter))
	default:
		o.payAt = now
		s.settle(o, now)
	}
	return nil
}

// Run serves Handler on l until ctx ends, then shuts down cleanly and
// returns nil. A down_for_ms fault closes the listener (clients get
// connection refused), waits, and listens again on the same address.
// BaseURL, when empty, becomes http://<l's address>.
func (s *Sim) Run(ctx context.Context, l net.Listener) error {
	addr := l.Addr()
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		l.Close()
		return errors.New("ottsim: run: already running")
	}
	s.running = true
	if s.baseURL == "" {
		s.baseURL = "http://" + addr.String()
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
	}()
	h := s.Handler()
	if s.o.Callbacks {
		var wg sync.WaitGroup
		cbctx, cbcancel := context.WithCancel(ctx)
		defer wg.Wait()
		defer cbcancel()
		wg.Add(1)
		go func() { defer wg.Done(); s.callbackLoop(cbctx) }()
	}
	for {
		base, cancel := context.WithCancel(context.WithoutCancel(ctx))
		srv := &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			BaseContext:       func(net.Listener) context.Context { return base },
			ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
		}
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(l) }()
		var down time.Duration
		select {
		case <-ctx.Done():
		case err := <-errc:
			cancel()
			return fmt.Errorf("ottsim: serve %s: %w", addr, err)
		case down = <-s.down:
		}
		// In-flight handlers (a slow reply, injected latency) see their
		// request context end and return; then the server is closed.
		cancel()
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
		}
		scancel()
		<-errc
		if ctx.Err() != nil {
			return nil
		}
		s.log.Info("ottsim: down (listener closed)", "addr", addr.String(), "for", down)
		t := time.NewTimer(down)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		nl, err := net.Listen(addr.Network(), addr.String())
		if err != nil {
			return fmt.Errorf("ottsim: listen again on %s after downtime: %w", addr, err)
		}
		l = nl
		s.mu.Lock()
		s.downUntil = time.Time{}
		s.mu.Unlock()
		s.log.Info("ottsim: up again", "addr", addr.String())
	}
}

// sleep waits d or until ctx ends; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// callbackLoop delivers due call-backs until ctx ends. It also settles
// every order now and then, so that orders paid by the passing of time
// (02) get their call-back without anyone asking.
func (s *Sim) callbackLoop(ctx context.Context) {
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.Ledger() // settles what is due
		case <-s.wake:
		}
		s.mu.Lock()
		due := s.due
		s.due = nil
		s.mu.Unlock()
		for _, cb := range due {
			result := s.deliver(ctx, hc, cb)
			s.mu.Lock()
			if o, ok := s.orders[cb.orderID]; ok {
				o.Callback = result
			}
			s.mu.Unlock()
		}
	}
}

// deliver POSTs one call-back, up to 3 attempts; it returns "delivered"
// or "failed: <last error>".
func (s *Sim) deliver(ctx context.Context, hc *http.Client, cb callback) string {
	data, digest, err := envelope.Seal(cb.data, s.o.SignKey)
	if err != nil {
		return "failed: " + err.Error()
	}
	body, _ := json.Marshal(envelope.ResponseEnvelope{RspCode: gateway.CodeSuccess, RspMsg: "success",
		MerchantID: s.o.MerchantID, Data: data, MD5: digest})
	var last string
	for attempt := 1; attempt <= 3; attempt++ {
		if attempt > 1 && !sleep(ctx, s.scaled(s.o.CallbackRetry)) {
			return "failed: simulator stopped"
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, cb.url, bytes.NewReader(body))
		if err != nil {
			return "failed: " + err.Error()
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			last = err.Error()
			continue
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			s.log.Info("ottsim: call-back delivered", "order_id", cb.orderID, "attempt", attempt)
			return "delivered"
		}
		last = "HTTP " + resp.Status
	}
	s.log.Warn("ottsim: call-back not delivered", "order_id", cb.orderID, "err", last)
	return "failed: " + last
}

// total is what the customer is charged: amount, tip and fee.
func (o *order) total() int64 { return o.Amount + o.Tip + o.Fee }

// withTip adds the order's tip to an answer's data when it has one.
func withTip(d envelope.Fields, o *order) envelope.Fields {
	if o.Tip == 0 {
		return d
	}
	return append(d, envelope.Field{Key: "tip", Value: strconv.FormatInt(o.Tip, 10)})
}

// walletTxn is the wallet's own transaction number of an order, shaped
// like the real ones (the customer reads it in their app): WeChat Pay's 28
// digits from 4200, Alipay's 28 digits from the date, UnionPay's 21
// digits. It is derived from the order id, so it is stable.
func (o *order) walletTxn() string {
	h := fnv.New64a()
	h.Write([]byte(o.OrderID))
	n := fmt.Sprintf("%020d", h.Sum64())
	switch o.Wallet {
	case "wechat":
		return "42000" + o.CreatedAt.Format("20060102") + n[5:]
	case "alipay":
		return o.CreatedAt.Format("20060102") + "22001" + n[5:]
	}
	return "6" + n
}

// buyer adds the buyer's account and the wallet's time to a
// STATUS_QUERY answer about an order that was charged.
func (o *order) buyer(d envelope.Fields) envelope.Fields {
	if o.paidAt.IsZero() {
		return d
	}
	return append(d, envelope.Field{Key: "buyer_login_id", Value: "sim_" + o.Wallet + "_buyer"},
		envelope.Field{Key: "trade_time", Value: o.paidAt.UTC().Format("20060102150405")})
}
