package ottsim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client talks to a running simulator's /_sim endpoints: the customer
// paying a qr order, the ledger and the faults (posagent sim pay, ledger,
// faults).
type Client struct {
	base string
	hc   *http.Client
}

// NewClient is a client of the simulator at base (http://HOST:PORT).
func NewClient(base string) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("sim: --sim-url %q: want http://HOST:PORT", base)
	}
	return &Client{base: strings.TrimRight(base, "/"), hc: &http.Client{Timeout: 10 * time.Second}}, nil
}

// FaultState is GET /_sim/faults: the faults in force and, while the
// simulator is down, until when.
type FaultState struct {
	Faults
	DownUntil *time.Time `json:"down_until"`
}

// Pay plays the customer paying the qr order orderID (POST
// /_sim/pay/{order_id}); the order as it is now.
func (c *Client) Pay(ctx context.Context, orderID string) (*Order, error) {
	var out struct {
		Order *Order `json:"order"`
	}
	if err := c.do(ctx, http.MethodPost, "/_sim/pay/"+url.PathEscape(orderID), nil, &out); err != nil {
		return nil, err
	}
	return out.Order, nil
}

// Ledger is every order the simulator has seen, oldest first.
func (c *Client) Ledger(ctx context.Context) ([]Order, error) {
	var out struct {
		Orders []Order `json:"orders"`
	}
	err := c.do(ctx, http.MethodGet, "/_sim/ledger", nil, &out)
	return out.Orders, err
}

// Faults is the faults in force.
func (c *Client) Faults(ctx context.Context) (FaultState, error) {
	var cur FaultState
	err := c.do(ctx, http.MethodGet, "/_sim/faults", nil, &cur)
	return cur, err
}

// SetFaults puts f in force (f.DownForMS takes the listener down that
// long) and returns the faults then in force.
func (c *Client) SetFaults(ctx context.Context, f Faults) (FaultState, error) {
	var cur FaultState
	err := c.do(ctx, http.MethodPost, "/_sim/faults", f, &cur)
	return cur, err
}

// do sends a request and decodes a JSON answer into v; non-2xx answers
// carrying {"error": "..."} become that error.
func (c *Client) do(ctx context.Context, method, path string, body any, v any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("sim: %s %s: %w (is 'posagent sim' running there?)", method, c.base+path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("sim: %s %s: %w", method, path, err)
	}
	if v != nil {
		if err := json.Unmarshal(raw, v); err != nil {
			return fmt.Errorf("sim: %s %s: HTTP %d, not the simulator's JSON: %.200s", method, path, resp.StatusCode, raw)
		}
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		if json.Unmarshal(raw, &e) == nil && e.Error != "" {
			return errors.New(e.Error)
		}
		return fmt.Errorf("sim: %s %s: HTTP %d", method, path, resp.StatusCode)
	}
	return nil
}
