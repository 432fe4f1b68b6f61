package gateway

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/posagent/posagent/gateway/internal/envelope"
	"github.com/posagent/posagent/paycode"
)

// DefaultTimeout is the whole-exchange timeout of the default HTTP client
// (docs/ottpay.md: send with a 15-20 s HTTP timeout).
const DefaultTimeout = 20 * time.Second

// Version is the processV2 version sent with every action.
const Version = "1.0"

// maxResponse bounds the response body read from the gateway.
const maxResponse = 1 << 20

// Config is what a Client needs. URL, MerchantID, SignKey and OperatorID
// are required.
type Config struct {
	URL                                         string // .../processV2
	MerchantID, SignKey, OperatorID, TerminalNo string
	// CallbackURL is sent as call_back_url with ACTIVEPAY when the
	// QRRequest has none. OTTPay marks call_back_url required; the agent
	// never relies on call-backs (polling is the source of truth).
	CallbackURL string
	HTTPClient  *http.Client // nil: default, 20 s timeout, TLS verification on
	Logger      *slog.Logger // nil: discard
	// FeeAllowanceBPS is the largest convenience fee, in basis points of
	// what was due (amount + tip, at least 1.00), believed from an answer
	// that charges more than was due without naming the fee. 0 (the
	// default): only a fee the answer names (convenience_fee) is believed;
	// any other surplus makes the answer unverified. Set it for a merchant
	// account that adds a convenience fee.
	FeeAllowanceBPS int
}

// Client speaks processV2 to one merchant account. It is safe for
// concurrent use.
type Client struct {
	cfg Config
	hc  *http.Client
	log *slog.Logger
}

// New checks cfg and returns a Client. It does no I/O.
func New(cfg Config) (*Client, error) {
	if cfg.URL == "" {
		return nil, errors.New("gateway: config: URL is empty (e.g. https://frontapi.ottpay.com:443/processV2)")
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("gateway: config: URL %q is not an http(s) URL", cfg.URL)
	}
	if cfg.MerchantID == "" {
		return nil, errors.New("gateway: config: merchant id is empty")
	}
	if cfg.SignKey == "" {
		return nil, errors.New("gateway: config: sign key is empty")
	}
	if cfg.OperatorID == "" {
		return nil, errors.New("gateway: config: operator id is empty (PASSIVEPAY and ACTIVEPAY require operator_id)")
	}
	c := &Client{cfg: cfg, hc: cfg.HTTPClient, log: cfg.Logger}
	if c.hc == nil {
		c.hc = DefaultHTTPClient()
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// DefaultHTTPClient is the client used when Config.HTTPClient is nil: a
// 20 s timeout for the whole exchange, 10 s to connect and to finish the
// TLS handshake, the system's certificate verification (TLS 1.2 at
// least) and the environment's proxy settings. Each call returns a new
// client with its own connection pool.
func DefaultHTTPClient() *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           d.DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          64, // sized to the agent's concurrency (up to 64 outbox workers and the
		MaxIdleConnsPerHost:   64, // payments in flight): a drain reuses its connections, no TIME_WAIT pile
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Timeout: DefaultTimeout, Transport: t}
}

// String describes the config without its sign key.
func (c Config) String() string {
	return fmt.Sprintf("gateway.Config{URL:%s MerchantID:%s OperatorID:%s TerminalNo:%s SignKey:[redacted]}",
		c.URL, c.MerchantID, c.OperatorID, c.TerminalNo)
}

// LogValue keeps the sign key out of structured logs.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", c.URL), slog.String("merchant_id", c.MerchantID),
		slog.String("operator_id", c.OperatorID), slog.String("terminal_no", c.TerminalNo),
		slog.String("sign_key", "[redacted]"))
}

// String describes the client without its sign key.
func (c *Client) String() string { return "gateway.Client(" + c.cfg.String() + ")" }

// PayRequest is a scan payment (PASSIVEPAY): the customer's payment code.
type PayRequest struct {
	OrderID  string
	Amount   int64
	AuthCode string
	Wallet   Wallet
	// OperatorID is the cashier's OTTPay operator_id; "" the Config's.
	OperatorID string
	// Tip is added to Amount by the gateway (sent as tip when not 0).
	Tip int64
	// SaleNum is the POS's sale number (sent as sale_num when not "");
	// see CheckSaleNum.
	SaleNum string
}

// QRRequest is a qr payment (ACTIVEPAY): the gateway issues a code_url.
type QRRequest struct {
	OrderID     string
	Amount      int64
	Wallet      Wallet
	CallbackURL string
	OperatorID  string // "" the Config's
	Tip         int64  // sent as tip when not 0
}

// RefundRequest refunds Amount of OriginalOrderID. OrderID is the
// refund's own id; resend an unknown refund only with the same OrderID.
type RefundRequest struct {
	OrderID, OriginalOrderID string
	Amount                   int64
	OperatorID               string // the envelope's operator_id; "" the Config's
}

// Result is a verified, decrypted answer.
type Result struct {
	Action, OrderID string
	Code, Message   string // rsp_code, rsp_msg
	OrderStatus     string // lower-case order_status when present
	Amount          int64  // total_amount / amount (refund_amt for REFUND) when present
	Tip             int64  // the tip the answer carries, else the one sent (PASSIVEPAY, ACTIVEPAY)
	Fee             int64  // a convenience fee the gateway added (FeeKey, or the amount fields' surplus)
	Total           int64  // what the customer is charged: amount + tip + fee (0 for REFUND, EX_RATE_QUERY)
	CodeURL         string // ACTIVEPAY
	Rate            int64  // EX_RATE_QUERY, rate x 10^8
	Refunded        int64  // STATUS_QUERY: the order's refunded total (refund_amount), when HasRefunded
	HasRefunded     bool
	Outcome         Outcome
	Fields          map[string]string // the verified, decrypted data (nil when the answer had none)
}

// Error is every non-Paid answer, and every failure to get a believable
// one. Outcome Failed is final and nothing was charged; Outcome Unknown
// must be resolved by Query (resend only when errors.Is(err, ErrNotSent)).
type Error struct {
	Action, OrderID string
	Code, Message   string  // rsp_code/rsp_msg when the gateway answered
	Outcome         Outcome // Failed or Unknown
	Err             error   // cause; errors.Is(err, ErrNotSent) / ErrUnverified
}

func (e *Error) Error() string {
	var b bytes.Buffer
	b.WriteString("gateway: ")
	b.WriteString(e.Action)
	if e.OrderID != "" {
		b.WriteString(" order ")
		b.WriteString(e.OrderID)
	}
	if e.Code != "" {
		b.WriteString(": ")
		b.WriteString(e.Code)
		if e.Message != "" {
			b.WriteString(" (" + e.Message + ")")
		}
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	b.WriteString(" [outcome " + e.Outcome.String() + "]")
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// OutcomeOf reads an error returned by a Client call: nil is Paid, an
// *Error its Outcome, anything else Unknown.
func OutcomeOf(err error) Outcome {
	if err == nil {
		return Paid
	}
	var ge *Error
	if errors.As(err, &ge) {
		return ge.Outcome
	}
	return Unknown
}

// QueryOutcome reads a STATUS_QUERY's error: a query that was not sent
// says nothing about the order (Unknown), else OutcomeOf.
func QueryOutcome(err error) Outcome {
	if errors.Is(err, ErrNotSent) {
		return Unknown
	}
	return OutcomeOf(err)
}

// Response codes of Appendix B that the client names.
const (
	CodeSuccess        = "SUCCESS"
	CodeProcessing     = "PROCESSING"
	CodeTimeout        = "TIMEOUT"
	CodeSystemError    = "SYSTEM_ERROR"
	CodeDBError        = "DB_ERROR"
	CodeFail           = "FAIL"
	CodePwdIncorrect   = "PWD_INCORRECT"
	CodeParamInvalid   = "PARAM_INVALID"
	CodeParamError     = "PARAM_ERROR"
	CodeOrderTypeError = "ORDER_TYPE_ERROR"
	CodeOrderPaid      = "ORDER_PAID"
	CodeOrderUsed      = "ORDER_USED"
)

// order_status values (lower case).
const (
	StatusInit            = "init"
	StatusNotPay          = "notpay"
	StatusSuccess         = "success"
	StatusCanceling       = "canceling"
	StatusFailure         = "failure"
	StatusOrderClosed     = "orderclosed"
	StatusPartialRefunded = "partial_refunded"
	StatusFullyRefunded   = "fully_refunded"
)

// Classify is the one place that says what an answer means for the money.
//
//	rsp_code                                   outcome
//	FAIL PWD_INCORRECT PARAM_INVALID           Failed (except STATUS_QUERY: Unknown,
//	PARAM_ERROR ORDER_TYPE_ERROR                 a failed query says nothing of the order)
//	SUCCESS                                    by action:
//	  PASSIVEPAY    order_status "" success partial_refunded fully_refunded: Paid;
//	                failure orderclosed: Failed; init notpay canceling, other: Unknown
//	  STATUS_QUERY  success partial_refunded fully_refunded: Paid; failure
//	                orderclosed: Failed; init notpay canceling, "" and other: Unknown
//	  ACTIVEPAY REFUND EX_RATE_QUERY: Paid (QR issued, refund done, rate given)
//	PROCESSING TIMEOUT SYSTEM_ERROR DB_ERROR   Unknown
//	ORDER_PAID ORDER_USED                      Unknown (query the order)
//	anything else                              Unknown
func Classify(action, rspCode, orderStatus string) Outcome {
	switch rspCode {
	case CodeFail, CodePwdIncorrect, CodeParamInvalid, CodeParamError, CodeOrderTypeError:
		if action == ActionStatusQuery {
			return Unknown
		}
		return Failed
	case CodeSuccess:
	default:
		return Unknown
	}
	switch action {
	case ActionPassivePay, ActionStatusQuery:
		switch orderStatus {
		case StatusSuccess, StatusPartialRefunded, StatusFullyRefunded:
			return Paid
		case StatusFailure, StatusOrderClosed:
			return Failed
		case "":
			if action == ActionPassivePay {
				return Paid
			}
		}
		return Unknown
	case ActionActivePay, ActionRefund, ActionExRateQuery:
		return Paid
	}
	return Unknown
}

// PassivePay charges a scanned payment code (product term: scan).
func (c *Client) PassivePay(ctx context.Context, r PayRequest) (*Result, error) {
	biz, err := r.Wallet.BizType()
	if err != nil {
		return nil, c.localErr(ActionPassivePay, r.OrderID, err)
	}
	if err := checkOrder(r.OrderID, r.Amount); err != nil {
		return nil, c.localErr(ActionPassivePay, r.OrderID, err)
	}
	if r.AuthCode == "" {
		return nil, c.localErr(ActionPassivePay, r.OrderID, errors.New("auth code is empty"))
	}
	if err := checkTip(r.Tip); err != nil {
		return nil, c.localErr(ActionPassivePay, r.OrderID, err)
	}
	if err := CheckSaleNum(r.SaleNum); err != nil {
		return nil, c.localErr(ActionPassivePay, r.OrderID, err)
	}
	f := envelope.Fields{
		{Key: "order_id", Value: r.OrderID},
		{Key: "operator_id", Value: or(r.OperatorID, c.cfg.OperatorID)},
		{Key: "amount", Value: strconv.FormatInt(r.Amount, 10)},
		{Key: "auth_code", Value: r.AuthCode},
		{Key: "biz_type", Value: biz},
	}
	f = appendTip(f, r.Tip)
	if r.SaleNum != "" {
		f = append(f, envelope.Field{Key: "sale_num", Value: r.SaleNum})
	}
	return c.do(ctx, call{action: ActionPassivePay, orderID: r.OrderID, amount: r.Amount, hasAmount: true,
		tip: r.Tip, hasTip: true, authCode: r.AuthCode, fields: f, operatorID: r.OperatorID})
}

// ActivePay asks for a code_url for the customer's wallet to scan
// (product term: qr). Paid means the QR was issued, not that it was paid.
func (c *Client) ActivePay(ctx context.Context, r QRRequest) (*Result, error) {
	biz, err := r.Wallet.BizType()
	if err != nil {
		return nil, c.localErr(ActionActivePay, r.OrderID, err)
	}
	if err := checkOrder(r.OrderID, r.Amount); err != nil {
		return nil, c.localErr(ActionActivePay, r.OrderID, err)
	}
	if err := checkTip(r.Tip); err != nil {
		return nil, c.localErr(ActionActivePay, r.OrderID, err)
	}
	cb := r.CallbackURL
	if cb == "" {
		cb = c.cfg.CallbackURL
	}
	f := envelope.Fields{
		{Key: "order_id", Value: r.OrderID},
		{Key: "operator_id", Value: or(r.OperatorID, c.cfg.OperatorID)},
		{Key: "amount", Value: strconv.FormatInt(r.Amount, 10)},
		{Key: "biz_type", Value: biz},
	}
	if cb != "" {
		f = append(f, envelope.Field{Key: "call_back_url", Value: cb})
	}
	f = appendTip(f, r.Tip)
	res, err := c.do(ctx, call{action: ActionActivePay, orderID: r.OrderID, amount: r.Amount, hasAmount: true,
		tip: r.Tip, hasTip: true, fields: f, operatorID: r.OperatorID})
	if err == nil && res.CodeURL == "" {
		return res, &Error{Action: ActionActivePay, OrderID: r.OrderID, Code: res.Code, Message: res.Message,
			Outcome: Unknown, Err: fmt.Errorf("%w: SUCCESS without code_url", ErrUnverified)}
	}
	return res, err
}

// Query asks for the state of one order (a payment or a refund order id).
// It checks no amount: prefer QueryOrder when the amount is known.
func (c *Client) Query(ctx context.Context, orderID string) (*Result, error) {
	return c.QueryOrder(ctx, orderID, 0, 0)
}

// QueryOrder asks for the state of one order sent with amount and tip
// and, when amount > 0, refuses (ErrUnverified, outcome Unknown) an
// answer whose amount fields do not agree with them (see checkAmounts).
// Result.Refunded is the order's refunded total when the answer carries
// one (refund_amount).
func (c *Client) QueryOrder(ctx context.Context, orderID string, amount, tip int64) (*Result, error) {
	if err := checkOrderID(orderID); err != nil {
		return nil, c.localErr(ActionStatusQuery, orderID, err)
	}
	return c.do(ctx, call{action: ActionStatusQuery, orderID: orderID, amount: amount, hasAmount: amount > 0,
		tip: tip, hasTip: amount > 0, fields: envelope.Fields{{Key: "order_id", Value: orderID}}})
}

// Refund refunds all or part of a paid order. Resend an unknown refund
// only with the same RefundRequest.OrderID (the gateway answers ORDER_USED
// to a duplicate, which is Unknown: query the refund's order id).
func (c *Client) Refund(ctx context.Context, r RefundRequest) (*Result, error) {
	if err := checkOrder(r.OrderID, r.Amount); err != nil {
		return nil, c.localErr(ActionRefund, r.OrderID, err)
	}
	if err := checkOrderID(r.OriginalOrderID); err != nil {
		return nil, c.localErr(ActionRefund, r.OrderID, fmt.Errorf("original %w", err))
	}
	f := envelope.Fields{
		{Key: "order_id", Value: r.OrderID},
		{Key: "ori_order_id", Value: r.OriginalOrderID},
		{Key: "refund_amt", Value: strconv.FormatInt(r.Amount, 10)},
	}
	return c.do(ctx, call{action: ActionRefund, orderID: r.OrderID, amount: r.Amount, hasAmount: true,
		oriOrderID: r.OriginalOrderID, fields: f, operatorID: r.OperatorID})
}

// ExchangeRate asks the rate of currency (CAD or USD) to CNY; Result.Rate
// is the rate x 10^8. It moves no money; doctor uses it to check the
// account and the sign key.
func (c *Client) ExchangeRate(ctx context.Context, currency string) (*Result, error) {
	if currency == "" {
		return nil, c.localErr(ActionExRateQuery, "", errors.New("currency is empty"))
	}
	res, err := c.do(ctx, call{action: ActionExRateQuery, feeType: currency, fields: envelope.Fields{{Key: "fee_type", Value: currency}}})
	if err == nil && res.Rate <= 0 {
		return res, &Error{Action: ActionExRateQuery, Code: res.Code, Message: res.Message, Outcome: Unknown,
			Err: fmt.Errorf("%w: no positive rate in the answer", ErrUnverified)}
	}
	return res, err
}

// call is one request and what its answer must agree with.
type call struct {
	action     string
	orderID    string
	amount     int64
	hasAmount  bool
	tip        int64 // sent with amount; hasTip: known (PASSIVEPAY, ACTIVEPAY)
	hasTip     bool
	authCode   string // for masked logging only
	oriOrderID string
	feeType    string
	fields     envelope.Fields
	operatorID string // the envelope's operator_id; "" the Config's
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func checkOrderID(id string) error {
	if id == "" {
		return errors.New("order id is empty")
	}
	if len(id) > 20 {
		return fmt.Errorf("order id %q is longer than 20 characters", id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return fmt.Errorf("order id %q: only letters and digits are allowed", id)
		}
	}
	return nil
}

func checkOrder(id string, amount int64) error {
	if err := checkOrderID(id); err != nil {
		return err
	}
	if amount <= 0 {
		return fmt.Errorf("amount %d cents: must be positive", amount)
	}
	return nil
}

// localErr is a request refused before any I/O: nothing was sent, and
// resending it unchanged cannot succeed, so it is Failed.
func (c *Client) localErr(action, orderID string, err error) error {
	return &Error{Action: action, OrderID: orderID, Outcome: Failed,
		Err: fmt.Errorf("%w: bad request: %w", ErrNotSent, err)}
}

func (c *Client) do(ctx context.Context, k call) (*Result, error) {
	start := time.Now()
	res, err := c.exchange(ctx, k)
	attrs := []any{"action", k.action, "elapsed", time.Since(start).Round(time.Millisecond)}
	if k.orderID != "" {
		attrs = append(attrs, "order_id", k.orderID)
	}
	if k.authCode != "" {
		attrs = append(attrs, "auth_code", paycode.Mask(k.authCode))
	}
	if res != nil {
		attrs = append(attrs, "rsp_code", res.Code)
		if res.OrderStatus != "" {
			attrs = append(attrs, "order_status", res.OrderStatus)
		}
	}
	attrs = append(attrs, "outcome", OutcomeOf(err).String())
	if err != nil {
		attrs = append(attrs, "err", err.Error())
	}
	// A trace only: the error is returned, the caller decides what to log.
	c.log.Debug("gateway call", attrs...)
	return res, err
}

// exchange sends one request and reads its answer, in this order: seal and
// send (requestBody, post), parse the envelope, open and verify the data
// (openAnswer), read the result (fillResult), classify. Errors before the
// request was written are ErrNotSent; an answer not believed is
// ErrUnverified, outcome Unknown.
func (c *Client) exchange(ctx context.Context, k call) (*Result, error) {
	body, e := c.requestBody(k)
	if e != nil {
		return nil, e
	}
	raw, e := c.post(ctx, k, body)
	if e != nil {
		return nil, e
	}
	env, err := envelope.ParseResponseEnvelope(raw)
	if err != nil {
		return nil, k.fail("", "", Unknown, fmt.Errorf("%w: %w", ErrUnverified, err))
	}
	res := &Result{Action: k.action, OrderID: k.orderID, Code: env.RspCode, Message: env.RspMsg}
	fields, e := c.openAnswer(k, env)
	if e != nil {
		return nil, e
	}
	if fields != nil {
		c.fillResult(k, res, fields)
	}
	res.Outcome = Classify(k.action, env.RspCode, res.OrderStatus)
	if res.Outcome == Failed && Classify(ActionStatusQuery, CodeSuccess, res.OrderStatus) == Paid {
		// rsp_code is not covered by the digest; authenticated data
		// saying the order is paid wins over a failure code.
		res.Outcome = Unknown
		return nil, k.fail(env.RspCode, env.RspMsg, Unknown,
			fmt.Errorf("%w: rsp_code %s contradicts order_status %s", ErrUnverified, env.RspCode, res.OrderStatus))
	}
	if res.Outcome == Paid {
		return res, nil
	}
	return res, k.fail(env.RspCode, env.RspMsg, res.Outcome, nil)
}

// fail is the error of call k.
func (k call) fail(code, msg string, o Outcome, err error) *Error {
	return &Error{Action: k.action, OrderID: k.orderID, Code: code, Message: msg, Outcome: o, Err: err}
}

// requestBody seals k's fields and wraps them in the request envelope.
// Nothing was sent when it fails.
func (c *Client) requestBody(k call) ([]byte, *Error) {
	data, digest, err := envelope.Seal(k.fields, c.cfg.SignKey)
	if err != nil {
		return nil, k.fail("", "", Failed, fmt.Errorf("%w: seal: %w", ErrNotSent, err))
	}
	body, err := json.Marshal(envelope.RequestEnvelope{
		Action: k.action, Version: Version, MerchantID: c.cfg.MerchantID,
		TerminalNo: c.cfg.TerminalNo, OperatorID: or(k.operatorID, c.cfg.OperatorID), Data: data, MD5: digest,
	})
	if err != nil {
		return nil, k.fail("", "", Failed, fmt.Errorf("%w: %w", ErrNotSent, err))
	}
	return body, nil
}

// post sends body and returns the answer's body, read up to maxResponse.
// An error before the request headers were written is ErrNotSent; from
// then on the gateway may have acted on it.
func (c *Client) post(ctx context.Context, k call, body []byte) ([]byte, *Error) {
	// wrote is set once the request headers were written to the
	// connection: from then on the gateway may have acted on it.
	var wrote atomic.Bool
	trace := &httptrace.ClientTrace{
		WroteHeaders: func() { wrote.Store(true) },
	}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodPost, c.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return nil, k.fail("", "", Failed, fmt.Errorf("%w: %w", ErrNotSent, err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		if !wrote.Load() {
			return nil, k.fail("", "", Unknown, fmt.Errorf("%w: %w", ErrNotSent, err))
		}
		return nil, k.fail("", "", Unknown, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, k.fail("", "", Unknown, fmt.Errorf("read response: %w", err))
	}
	if len(raw) > maxResponse {
		return nil, k.fail("", "", Unknown, fmt.Errorf("%w: response larger than %d bytes", ErrUnverified, maxResponse))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, k.fail("", "", Unknown, fmt.Errorf("HTTP %s", resp.Status))
	}
	return raw, nil
}

// openAnswer decrypts and checks the answer's data (digest, then verify);
// nil fields when the answer carries none. An answer whose data cannot be
// read or verified, or SUCCESS without data, is ErrUnverified.
func (c *Client) openAnswer(k call, env envelope.ResponseEnvelope) (envelope.Fields, *Error) {
	if env.Data == "" && env.MD5 == "" {
		if env.RspCode == CodeSuccess {
			return nil, k.fail(env.RspCode, env.RspMsg, Unknown, fmt.Errorf("%w: SUCCESS without data", ErrUnverified))
		}
		return nil, nil
	}
	fields, err := envelope.Open(env.Data, env.MD5, c.cfg.SignKey)
	if err == nil {
		err = c.verify(k, env, fields)
	}
	if err != nil {
		// A refusal whose data cannot be read is not believed either:
		// rsp_code is not covered by the digest, and data that fails
		// verification may say the order was paid.
		if Classify(k.action, env.RspCode, "") == Failed {
			c.log.Warn("gateway: refusal with unreadable data; outcome unknown", "action", k.action, "order_id", k.orderID,
				"rsp_code", env.RspCode, "err", err.Error())
		}
		return nil, k.fail(env.RspCode, env.RspMsg, Unknown, fmt.Errorf("%w: %w", ErrUnverified, err))
	}
	return fields, nil
}

// fillResult copies what the verified fields say into res: order status,
// code_url, amounts, rate, tip and fee, refunded total.
func (c *Client) fillResult(k call, res *Result, fields envelope.Fields) {
	res.Fields = fields.Map()
	res.OrderStatus = fields.Value("order_status")
	res.CodeURL = fields.Value("code_url")
	for _, key := range []string{"total_amount", "amount", "refund_amt"} {
		if v, ok := fields.Get(key); ok {
			res.Amount, _ = strconv.ParseInt(v, 10, 64) // checked in verify
			break
		}
	}
	if v, ok := fields.Get("rate"); ok {
		res.Rate, _ = strconv.ParseInt(v, 10, 64)
	}
	if k.action != ActionRefund && k.action != ActionExRateQuery {
		if am, err := checkAmounts(k, fields, c.cfg.FeeAllowanceBPS); err == nil && k.hasAmount {
			res.Tip, res.Fee, res.Total = am.tip, am.fee, am.total
		}
	}
	if v, ok := fields.Get("refund_amount"); ok && k.action == ActionStatusQuery {
		res.Refunded, res.HasRefunded = mustCents(v), true
	}
}

// verify checks that a decrypted, digest-checked answer is about this
// request: same order id (required for order actions), same amounts and
// merchant id where present.
func (c *Client) verify(k call, env envelope.ResponseEnvelope, f envelope.Fields) error {
	if env.MerchantID != "" && env.MerchantID != c.cfg.MerchantID {
		return fmt.Errorf("merchant_id %q, want %q", env.MerchantID, c.cfg.MerchantID)
	}
	if v, ok := f.Get("merchant_id"); ok && v != c.cfg.MerchantID {
		return fmt.Errorf("merchant_id %q, want %q", v, c.cfg.MerchantID)
	}
	if k.orderID != "" {
		v, ok := f.Get("order_id")
		if !ok && k.action != ActionRefund {
			return errors.New("answer has no order_id")
		}
		if ok && v != k.orderID {
			return fmt.Errorf("order_id %q, want %q", v, k.orderID)
		}
	}
	if k.oriOrderID != "" {
		if v, ok := f.Get("ori_order_id"); ok && v != k.oriOrderID {
			return fmt.Errorf("ori_order_id %q, want %q", v, k.oriOrderID)
		}
	}
	if k.feeType != "" {
		if v, ok := f.Get("fee_type"); ok && v != k.feeType {
			return fmt.Errorf("fee_type %q, want %q", v, k.feeType)
		}
	}
	if k.action == ActionRefund {
		if v, ok := f.Get("refund_amt"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("refund_amt %q is not an integer", v)
			}
			if k.hasAmount && n != k.amount {
				return fmt.Errorf("refund_amt %d, want %d", n, k.amount)
			}
		}
	}
	am := amounts{total: k.amount}
	if k.action != ActionRefund {
		var err error
		if am, err = checkAmounts(k, f, c.cfg.FeeAllowanceBPS); err != nil {
			return err
		}
	}
	if v, ok := f.Get("rate"); ok {
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return fmt.Errorf("rate %q is not an integer", v)
		}
	}
	if v, ok := f.Get("refund_amount"); ok && k.action == ActionStatusQuery {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("refund_amount %q is not a non-negative integer", v)
		}
		if k.hasAmount && n > am.total {
			return fmt.Errorf("refund_amount %d is more than the order's amount %d", n, am.total)
		}
	}
	return nil
}

// mustCents parses an amount verify has already checked.
func mustCents(v string) int64 {
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

// ParseCallback reads a call-back OTTPay POSTs to a call_back_url: the
// response envelope plus merchant_id. It returns an error (a *Error with
// ErrUnverified) unless the data decrypts, its digest matches, the
// merchant id (when present) is ours and the data names an order_id.
// A nil error means only that the message is authentic: read
// Result.Outcome (Classify as for STATUS_QUERY), check Result.Amount
// against the order, and confirm with Query before acting on it
// (docs/ottpay.md: polling is the source of truth).
func (c *Client) ParseCallback(body []byte) (*Result, error) {
	const action = "CALLBACK"
	bad := func(orderID string, err error) error {
		return &Error{Action: action, OrderID: orderID, Outcome: Unknown, Err: fmt.Errorf("%w: %w", ErrUnverified, err)}
	}
	if len(body) > maxResponse {
		return nil, bad("", fmt.Errorf("call-back larger than %d bytes", maxResponse))
	}
	env, err := envelope.ParseResponseEnvelope(body)
	if err != nil {
		return nil, bad("", err)
	}
	if env.MerchantID != "" && env.MerchantID != c.cfg.MerchantID {
		return nil, bad("", fmt.Errorf("merchant_id %q, want %q", env.MerchantID, c.cfg.MerchantID))
	}
	if env.Data == "" {
		return nil, bad("", errors.New("call-back without data"))
	}
	f, err := envelope.Open(env.Data, env.MD5, c.cfg.SignKey)
	if err != nil {
		return nil, bad("", err)
	}
	id, ok := f.Get("order_id")
	if !ok || id == "" {
		return nil, bad("", errors.New("call-back data has no order_id"))
	}
	if err := c.verify(call{action: action, orderID: id}, env, f); err != nil {
		return nil, bad(id, err)
	}
	res := &Result{Action: action, OrderID: id, Code: env.RspCode, Message: env.RspMsg, Fields: f.Map(),
		OrderStatus: f.Value("order_status"), CodeURL: f.Value("code_url")}
	for _, key := range []string{"total_amount", "amount"} {
		if v, ok := f.Get(key); ok {
			res.Amount, _ = strconv.ParseInt(v, 10, 64)
			break
		}
	}
	res.Outcome = Classify(ActionStatusQuery, env.RspCode, res.OrderStatus)
	c.log.Info("gateway call-back", "order_id", id, "rsp_code", env.RspCode, "order_status", res.OrderStatus,
		"outcome", res.Outcome.String())
	return res, nil
}
