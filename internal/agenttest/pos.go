package agenttest

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/posagent/posagent/client"
)

// POS is the typed client a POS integrator imports (package client) with
// the options o: o.URL is the local API ("http://127.0.0.1:port"), reached
// through o.Transport (a test server's, or an in-memory one inside a
// synctest bubble; nil: http.DefaultTransport). Unless o says otherwise
// it never sends a request again by itself (Retries -1): a test that loses
// an answer sees the error, and a test that retries does it with its own
// client.Key, as a POS does.
//
// A call made with a context from Status records the HTTP status of its
// answer, for the tests that assert the exact status of a success (201,
// 202); an error answer's status is also in the *client.Error.
func POS(t testing.TB, o client.Options) *client.Client {
	t.Helper()
	if o.Transport == nil {
		o.Transport = http.DefaultTransport
	}
	o.Transport = statusTransport{o.Transport}
	if o.Retries == 0 {
		o.Retries = -1
	}
	if o.KeyPrefix == "" {
		o.KeyPrefix = "test-"
	}
	c, err := client.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type statusKey struct{}

// Status returns ctx with a recorder of the HTTP status of the answer to a
// call made with it, and the function that reads it (0: no answer came).
//
//	ctx, status := agenttest.Status(context.Background())
//	p, err := pos.CreatePayment(ctx, req)
//	if err != nil || status() != 201 { ... }
func Status(ctx context.Context) (context.Context, func() int) {
	var st atomic.Int64
	return context.WithValue(ctx, statusKey{}, &st), func() int { return int(st.Load()) }
}

// statusTransport is rt telling a Status context the status it got.
type statusTransport struct{ rt http.RoundTripper }

func (s statusTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.rt.RoundTrip(r)
	if st, ok := r.Context().Value(statusKey{}).(*atomic.Int64); ok && resp != nil {
		st.Store(int64(resp.StatusCode))
	}
	return resp, err
}
