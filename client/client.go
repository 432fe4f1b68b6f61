package client

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// DefaultURL is where the daemon listens by default (api.listen).
const DefaultURL = "http://127.0.0.1:7420"

// Options say where the API is and how to call it.
type Options struct {
	// URL is the API: "http://127.0.0.1:7420" (DefaultURL when empty),
	// "https://10.0.0.5:7420" (api.tls; set Fingerprint), or
	// "unix:///run/posagent/api.sock" (api.socket).
	URL string
	// Token is the role's token (api.tokens.pos, ...), sent as
	// Authorization: Bearer. Empty: none (an open API on loopback).
	Token string
	// Fingerprint pins the API's TLS certificate: its SHA-256 fingerprint
	// ("AB:CD:..."), as posagent status and doctor print it. The
	// certificate is trusted exactly when it matches; no CA is asked.
	Fingerprint string
	// Timeout bounds each request (30 s when 0). Event streams, exports
	// and journal backups are bounded by their context only.
	Timeout time.Duration
	// Retries is how often a request that moves money is sent again, with
	// the same Idempotency-Key, after its answer was lost (a reset, a
	// time-out): 3 when 0, none when negative. The daemon does it once.
	Retries int
	// KeyPrefix starts the Idempotency-Keys the client makes ("go-").
	KeyPrefix string
	// Transport, when set, carries the requests (tests); URL's scheme and
	// Fingerprint are then not used to dial.
	Transport http.RoundTripper
}

// Client calls one daemon's local API. Its methods are safe to call from
// several goroutines.
type Client struct {
	base      string // http://host:port, without a trailing slash
	token     string
	hc        *http.Client
	timeout   time.Duration
	retries   int
	keyPrefix string
}

// New returns a client of the API o describes. It does not connect.
func New(o Options) (*Client, error) {
	c := &Client{token: o.Token, timeout: o.Timeout, retries: o.Retries, keyPrefix: o.KeyPrefix}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if c.retries == 0 {
		c.retries = 3
	}
	if c.keyPrefix == "" {
		c.keyPrefix = "go-"
	}
	raw := o.URL
	if raw == "" {
		raw = DefaultURL
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	switch {
	case strings.HasPrefix(raw, "unix://"):
		path := strings.TrimPrefix(raw, "unix://")
		if path == "" {
			return nil, errors.New("client: unix:// needs the socket's path (unix:///run/posagent/api.sock)")
		}
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}
		c.base = "http://localhost"
	case strings.HasPrefix(raw, "http://"), strings.HasPrefix(raw, "https://"):
		c.base = strings.TrimRight(raw, "/")
	default:
		return nil, fmt.Errorf("client: URL %q: use http://host:port, https://host:port or unix:///path", o.URL)
	}
	if o.Fingerprint != "" {
		if !strings.HasPrefix(c.base, "https://") {
			return nil, fmt.Errorf("client: a pinned fingerprint needs an https:// URL, got %q", o.URL)
		}
		pin, err := PinnedTLS(o.Fingerprint)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig = pin
	}
	var rt http.RoundTripper = tr
	if o.Transport != nil {
		rt = o.Transport
	}
	c.hc = &http.Client{Transport: rt}
	return c, nil
}

// URL is the base URL requests go to ("http://localhost" on a socket).
func (c *Client) URL() string { return c.base }

// NewKey returns a fresh Idempotency-Key: the prefix and 128 random bits.
func (c *Client) NewKey() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return c.keyPrefix + hex.EncodeToString(b[:])
}

// Key is an Idempotency-Key given to a method that moves money. Without
// one, the client makes a fresh key per call (and reuses it on its own
// retries). Give your own (the sale number and the step, "INV-1001-pay")
// to make the call safe to repeat across a restart of your program: the
// daemon answers a repeat with the first answer and does it once.
type Key string

// Fingerprint is the SHA-256 of a certificate's DER bytes, as "AB:CD:..."
// (what openssl x509 -fingerprint -sha256 prints).
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	for i, x := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", x)
	}
	return b.String()
}

// PinnedTLS is a TLS configuration that trusts exactly the certificate
// whose Fingerprint is fp (colons and case do not matter): the
// self-signed certificate of api.tls.cert: auto.
func PinnedTLS(fp string) (*tls.Config, error) {
	want := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(fp), ":", ""))
	if b, err := hex.DecodeString(want); err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("client: TLS fingerprint %q is not a SHA-256 fingerprint (32 bytes in hex, AB:CD:...)", fp)
	}
	return &tls.Config{
		InsecureSkipVerify: true, // the chain is replaced by the pin below
		VerifyConnection: func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("client: tls pin: the server sent no certificate")
			}
			got := Fingerprint(cs.PeerCertificates[0].Raw)
			if strings.ReplaceAll(got, ":", "") != want {
				return fmt.Errorf("client: tls pin: the server's certificate %s is not the pinned one", got)
			}
			return nil
		},
	}, nil
}

// call is one request.
type call struct {
	method, path string
	body         any    // JSON; nil: no body
	key          string // Idempotency-Key ("" none)
	stream       bool   // no timeout: the answer is read by the caller
}

// do sends cl and decodes a JSON answer into out (nil: discarded). A
// request with an Idempotency-Key is sent again with the same key when
// its answer was lost; the daemon does it once.
func (c *Client) do(ctx context.Context, cl call, out any) (*http.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, err := c.once(ctx, cl, out)
		var ae *Error
		if err == nil || cl.key == "" || errors.As(err, &ae) || attempt >= c.retries || ctx.Err() != nil ||
			errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT) {
			return resp, err
		}
		select {
		case <-ctx.Done():
			return resp, err
		case <-time.After(time.Duration(attempt+1) * 500 * time.Millisecond):
		}
	}
}

func (c *Client) once(ctx context.Context, cl call, out any) (*http.Response, error) {
	if !cl.stream {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
	}
	req, err := c.request(ctx, cl)
	if err != nil {
		return nil, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.explain(err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return resp, readError(resp, cl)
	}
	if cl.stream {
		return resp, nil
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp, fmt.Errorf("client: reading the answer to %s %s: %w", cl.method, cl.path, err)
	}
	switch o := out.(type) {
	case nil:
	case *[]byte:
		*o = data
	default:
		if err := json.Unmarshal(data, out); err != nil {
			return resp, fmt.Errorf("client: the answer to %s %s is not the expected JSON: %w", cl.method, cl.path, err)
		}
	}
	return resp, nil
}

func (c *Client) request(ctx context.Context, cl call) (*http.Request, error) {
	var rd io.Reader
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return nil, fmt.Errorf("client: %s %s: %w", cl.method, cl.path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, c.base+cl.path, rd)
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if cl.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cl.key != "" {
		req.Header.Set("Idempotency-Key", cl.key)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// explain words a transport error with where the daemon was looked for.
func (c *Client) explain(err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ENOENT):
		return &NotRunningError{URL: c.base, Err: err}
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("client: the daemon at %s did not answer in time: %w", c.base, err)
	}
	return fmt.Errorf("client: talking to the daemon at %s: %w", c.base, err)
}

// NotRunningError is a daemon that does not listen where it was looked for
// (connection refused, or no socket file).
type NotRunningError struct {
	URL string
	Err error
}

func (e *NotRunningError) Error() string {
	return fmt.Sprintf("no posagent daemon answers at %s: start it with `posagent run` (or systemctl start posagent), or point the client at it: %v", e.URL, e.Err)
}

func (e *NotRunningError) Unwrap() error { return e.Err }

func itoa(n int) string { return strconv.Itoa(n) }

// key is the Idempotency-Key of a call: the one given, else a fresh one.
func (c *Client) key(k []Key) string {
	if len(k) > 0 && k[0] != "" {
		return string(k[0])
	}
	return c.NewKey()
}
