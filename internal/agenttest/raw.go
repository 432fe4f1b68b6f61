package agenttest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// Raw calls the local API over plain HTTP, for what the typed client (POS)
// cannot send: malformed JSON, hostile or missing headers, wrong content
// types, the front door's checks (hosts, origins, tokens), and the exact
// bytes of an answer. A test that acts as a POS uses POS instead.
//
// By default it sends what a POS sends: a JSON content type, the bearer
// token, a fresh Idempotency-Key per POST.
type Raw struct {
	T     testing.TB
	Base  string // http://host:port
	HC    *http.Client
	Token string       // "" none
	keys  atomic.Int64 // Idempotency-Keys made
}

// Call does one API request; body may be a string (raw) or a value (JSON).
// An answer that is a JSON object is decoded.
func (c *Raw) Call(method, path string, body any, hdr ...string) (int, map[string]any) {
	c.T.Helper()
	status, raw := c.Bytes(method, path, body, hdr...)
	var m map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &m); err != nil {
			c.T.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return status, m
}

// Bytes is Call with the answer's bytes. hdr are header name and value
// pairs; an empty value removes the header.
func (c *Raw) Bytes(method, path string, body any, hdr ...string) (int, []byte) {
	c.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, c.Base+path, rd)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json") // as every POS must
	}
	if method == http.MethodPost {
		// Money-moving routes require a key: a test that does not give
		// its own gets a fresh one (as the CLI does per invocation); pass
		// "Idempotency-Key", "" to send none.
		req.Header.Set("Idempotency-Key", fmt.Sprintf("test-%d", c.keys.Add(1)))
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.HC.Do(req)
	if err != nil {
		c.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}
