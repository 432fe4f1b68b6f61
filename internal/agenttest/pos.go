package agenttest

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/posagent/posagent/client"
)

// POS is the typed client a POS integrator imports (package client),
// dialled at the local API on base ("http://127.0.0.1:port") through rt: a
// test server's transport, or an in-memory one inside a synctest bubble.
// token is the bearer token ("" none). It never sends a request again by
// itself (Retries -1): a test that loses an answer sees the error, and a
// test that retries does it with its own client.Key, as a POS does.
//
// A call made with a context from Status records the HTTP status of its
// answer, for the tests that assert the exact status of a success (201,
// 202); an error answer's status is also in the *client.Error.
func POS(t testing.TB, base, token string, rt http.RoundTripper) *client.Client {
	t.Helper()
	if rt == nil {
		rt = http.DefaultTransport
	}
	c, err := client.New(client.Options{URL: base, Token: token, Retries: -1, KeyPrefix: "test-",
		Transport: statusTransport{rt}})
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
