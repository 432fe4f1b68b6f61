package client

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"net/url"
	"strconv"
)

func paymentPath(id string, more ...string) string {
	p := "/v1/payments/" + url.PathEscape(id)
	for _, m := range more {
		p += "/" + url.PathEscape(m)
	}
	return p
}

// CreatePayment starts a payment (POST /v1/payments). A scan payment
// without AuthCode waits for a code (GiveCode, or the scanner); a qr
// payment's CodeURL is the QR the customer scans (it may come in a
// payment.updated event). A qr payment whose request could not reach the
// gateway is returned failed with an *Error (503 gateway_unreachable).
func (c *Client) CreatePayment(ctx context.Context, r PaymentRequest, key ...Key) (*Payment, error) {
	var p Payment
	resp, err := c.do(ctx, call{method: "POST", path: "/v1/payments", body: r, key: c.key(key)}, &p)
	var ae *Error
	if errors.As(err, &ae) && ae.Payment != nil {
		return ae.Payment, err
	}
	if err != nil {
		return nil, err
	}
	p.Replayed = resp.Header.Get("Idempotent-Replayed") == "true"
	return &p, nil
}

// GiveCode gives a scan payment waiting for a code the customer's
// payment code (POST /v1/payments/{id}/code).
func (c *Client) GiveCode(ctx context.Context, id, code string, key ...Key) (*Payment, error) {
	return c.paymentCall(ctx, "POST", paymentPath(id, "code"), map[string]string{"code": code}, c.key(key))
}

// Payment reads one payment (GET /v1/payments/{id}).
func (c *Client) Payment(ctx context.Context, id string) (*Payment, error) {
	return c.paymentCall(ctx, "GET", paymentPath(id), nil, "")
}

// Cancel stops a payment (POST /v1/payments/{id}/cancel): it ends
// cancelled, or in_doubt when the gateway may have charged (the daemon
// then refunds it if it was paid).
func (c *Client) Cancel(ctx context.Context, id string, key ...Key) (*Payment, error) {
	return c.paymentCall(ctx, "POST", paymentPath(id, "cancel"), struct{}{}, c.key(key))
}

// Refund refunds r.Amount of a succeeded payment, or all that is left
// when r.Amount is 0 (POST /v1/payments/{id}/refunds). The payment comes
// back with the refund last in Refunds; a refund is settled by the
// daemon's queue (follow it with Payment or the events).
func (c *Client) Refund(ctx context.Context, id string, r RefundRequest, key ...Key) (*Payment, error) {
	body := map[string]any{}
	if r.Amount != 0 {
		body["amount"] = r.Amount
	} else {
		body["all"] = true
	}
	if r.Operator != "" {
		body["operator"] = r.Operator
	}
	if r.Approval != nil {
		body["approval"] = r.Approval
	}
	return c.paymentCall(ctx, "POST", paymentPath(id, "refunds"), body, c.key(key))
}

// Resolve settles an in-doubt payment by hand (manager), Outcome Paid or
// NotPaid, after checking the merchant portal.
func (c *Client) Resolve(ctx context.Context, id string, r ResolveRequest, key ...Key) (*Payment, error) {
	return c.paymentCall(ctx, "POST", paymentPath(id, "resolve"), r, c.key(key))
}

// ResolveRefund settles an in-doubt refund by hand (manager), Outcome
// Made or NotMade.
func (c *Client) ResolveRefund(ctx context.Context, id, refund string, r ResolveRequest, key ...Key) (*Payment, error) {
	return c.paymentCall(ctx, "POST", paymentPath(id, "refunds", refund, "resolve"), r, c.key(key))
}

// RetryRefund makes again a refund proven not made (refund_not_made),
// once, under a new refund order id.
func (c *Client) RetryRefund(ctx context.Context, id, refund string, key ...Key) (*Payment, error) {
	return c.paymentCall(ctx, "POST", paymentPath(id, "refunds", refund, "retry"), struct{}{}, c.key(key))
}

// PrintReceipt prints (or reprints) a payment's receipt through the
// daemon's queue.
func (c *Client) PrintReceipt(ctx context.Context, id string) error {
	_, err := c.do(ctx, call{method: "POST", path: paymentPath(id, "receipt"), body: struct{}{}}, nil)
	return err
}

// ReceiptPNG draws a payment's receipt as a PNG.
func (c *Client) ReceiptPNG(ctx context.Context, id string) ([]byte, error) {
	var b []byte
	_, err := c.do(ctx, call{method: "GET", path: paymentPath(id, "receipt.png")}, &b)
	return b, err
}

func (c *Client) paymentCall(ctx context.Context, method, path string, body any, key string) (*Payment, error) {
	var p Payment
	if _, err := c.do(ctx, call{method: method, path: path, body: body, key: key}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Payments lists one page of payments, newest first (GET /v1/payments).
func (c *Client) Payments(ctx context.Context, q ListQuery) (*PaymentPage, error) {
	v := url.Values{}
	for k, s := range map[string]string{"state": q.State, "reference": q.Reference, "find": q.Find, "after": q.After} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit != 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	path := "/v1/payments"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var pg PaymentPage
	if _, err := c.do(ctx, call{method: "GET", path: path}, &pg); err != nil {
		return nil, err
	}
	return &pg, nil
}

// AllPayments yields every payment q selects, newest first, page after
// page (q.Limit per page). An error is yielded last.
func (c *Client) AllPayments(ctx context.Context, q ListQuery) iter.Seq2[Payment, error] {
	return func(yield func(Payment, error) bool) {
		for {
			pg, err := c.Payments(ctx, q)
			if err != nil {
				yield(Payment{}, err)
				return
			}
			for _, p := range pg.Payments {
				if !yield(p, nil) {
					return
				}
			}
			if pg.NextAfter == "" || len(pg.Payments) == 0 {
				return
			}
			q.After = pg.NextAfter
		}
	}
}

// Scan routes a code like a hardware scan (POST /v1/scans): to the
// payment waiting for a code, the cart, or the barcode events.
func (c *Client) Scan(ctx context.Context, s ScanRequest) error {
	_, err := c.do(ctx, call{method: "POST", path: "/v1/scans", body: s}, nil)
	return err
}

// Sync reconciles in-doubt payments and flushes the outbox now; it
// returns how many jobs were started.
func (c *Client) Sync(ctx context.Context) (int, error) {
	var out struct {
		Jobs int `json:"jobs"`
	}
	_, err := c.do(ctx, call{method: "POST", path: "/v1/sync", body: struct{}{}}, &out)
	return out.Jobs, err
}

// Cart reads the amount due (GET /v1/cart; Amount 0 when none).
func (c *Client) Cart(ctx context.Context) (*Cart, error) {
	var out Cart
	if _, err := c.do(ctx, call{method: "GET", path: "/v1/cart"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetCart sets the amount due (PUT /v1/cart).
func (c *Client) SetCart(ctx context.Context, r CartRequest) (*Cart, error) {
	var out Cart
	if _, err := c.do(ctx, call{method: http.MethodPut, path: "/v1/cart", body: r}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ClearCart clears the amount due (DELETE /v1/cart).
func (c *Client) ClearCart(ctx context.Context) error {
	_, err := c.do(ctx, call{method: http.MethodDelete, path: "/v1/cart"}, nil)
	return err
}

// ChooseTip answers the display's tip prompt (POST /v1/cart/tip).
func (c *Client) ChooseTip(ctx context.Context, ch TipChoice) (*Cart, error) {
	var out Cart
	if _, err := c.do(ctx, call{method: "POST", path: "/v1/cart/tip", body: ch}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
