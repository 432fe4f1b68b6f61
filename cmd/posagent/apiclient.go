package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/config"
)

// apiClient talks to the daemon's local API. It is what every client command
// (pay, cancel, refund, ...) uses, so the CLI exercises the same API a POS does.
type apiClient struct {
	base  string // http://127.0.0.1:7420
	token string
	http  *http.Client
}

// apiError is the API's JSON error, {"error":{"code","message"}}, with the status.
type apiError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
	Body    []byte `json:"-"` // the answer as it came
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("%s (%s, HTTP %d)", e.Message, e.Code, e.Status)
}

// newAPIClient resolves the API address: --api, else $POSAGENT_API, else the
// config's api.listen; the token: --token, else $POSAGENT_API_TOKEN, else api.token.
func newAPIClient(g *globalFlags) (*apiClient, error) {
	base, token := g.apiURL, g.token
	if base == "" {
		base = os.Getenv("POSAGENT_API")
	}
	if token == "" {
		token = os.Getenv("POSAGENT_API_TOKEN")
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	if base == "" || token == "" {
		// The config says where the daemon is: its Unix socket, or TCP with
		// its TLS certificate pinned; and which token to send.
		if cfg, _, err := config.Load(g.configPath, os.Environ()); err == nil {
			if base == "" {
				b, rt, err := apiTransport(cfg)
				if err != nil {
					return nil, err
				}
				base, hc.Transport = b, rt
			}
			if token == "" {
				token = cliToken(cfg)
			}
		}
	}
	if base == "" {
		base = "127.0.0.1:7420"
	}
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	return &apiClient{
		base:  strings.TrimRight(base, "/"),
		token: token,
		http:  hc,
	}, nil
}

// newIdempotencyKey returns a random key for one money-moving request.
func newIdempotencyKey() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return "cli-" + hex.EncodeToString(b[:])
}

// moneyRetries is how often a money-moving request is sent again, with
// the same Idempotency-Key, after the daemon's answer was lost.
const moneyRetries = 3

// do sends a request and decodes a JSON answer into out (when non-nil).
// Money-moving POSTs pass an idempotency key (one per invocation): when the
// answer is lost on the way (a reset, a time-out), the same request is sent
// again with the same key, so the daemon does it at most once.
func (c *apiClient) do(ctx context.Context, method, path string, body any, idemKey string, out any) error {
	var err error
	for attempt := 0; ; attempt++ {
		err = c.once(ctx, method, path, body, idemKey, out)
		var ae *apiError
		if err == nil || idemKey == "" || errors.As(err, &ae) || attempt >= moneyRetries || ctx.Err() != nil ||
			errors.Is(err, syscall.ECONNREFUSED) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt+1) * 500 * time.Millisecond):
		}
	}
}

func (c *apiClient) once(ctx context.Context, method, path string, body any, idemKey string, out any) error {
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
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if idemKey != "" {
		req.Header.Set("Idempotency-Key", idemKey)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return c.explain(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("reading the answer from %s: %w", c.base, err)
	}
	if resp.StatusCode >= 300 {
		var env struct {
			Error apiError `json:"error"`
		}
		ae := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(data, &env) == nil && env.Error.Code != "" {
			env.Error.Status = resp.StatusCode
			ae = &env.Error
		}
		ae.Body = data
		return ae
	}
	if out == nil {
		return nil
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = data
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("the daemon at %s answered something that is not the expected JSON: %w", c.base, err)
	}
	return nil
}

// explain turns a transport error into advice for the person at the terminal.
func (c *apiClient) explain(err error) error {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("no posagent daemon answers at %s: start it with `posagent run` (or `make run`), or point --api at it", c.base)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("the daemon at %s did not answer in time: %w", c.base, err)
	}
	return fmt.Errorf("talking to the daemon at %s: %w", c.base, err)
}

// payment is the contract's payment JSON, as the API serves it.
type payment = agent.Payment
