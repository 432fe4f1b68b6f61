package api

import (
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/books"
	"github.com/posagent/posagent/agent/view"
	"github.com/posagent/posagent/slip"
)

// Feed is what the status and metrics routes show of the journal's feed.
type Feed interface {
	FeedStatus() any
	Collector() prometheus.Collector
}

// Options configure the API.
type Options struct {
	// Token is the legacy single token (api.token): every role.
	Token string
	// Access is who may use the API: role tokens, allowed hosts and
	// origins, operators and refund approval (auth.go).
	Access Access
	// Mount adds routes behind the same front door ("/display/").
	Mount map[string]http.Handler
	// Bridge is the Android helper's WebSocket (GET /v1/bridge), for the
	// bridge role; nil: no such route.
	Bridge http.Handler
	// Callback serves OTTPay's call-backs (POST /v1/ottpay/callback,
	// CallbackHandler): no token, the same Host, size, type and time
	// limits, and refused call-backs limited per client; nil: none.
	Callback http.Handler
	// Reports draws and prints reports and the placard (nil: drawn for a
	// generic 80 mm printer; no placard).
	Reports books.Printer
	// RenderReceipt draws a receipt as PNG (nil: receipt.png is 404).
	RenderReceipt func(slip.Receipt) ([]byte, error)
	// RenderReport draws a report as PNG on a generic printer of a paper
	// width ("58mm" or "80mm"): for ?paper=, and for every report PNG
	// when Reports is nil (80mm). nil: those PNGs are 404.
	RenderReport func(r slip.Report, paper string) ([]byte, error)
	// RenderPlacard draws the placard as PNG on a generic printer of a
	// paper width ("58mm" or "80mm"), for ?paper= (nil: 404).
	RenderPlacard func(p slip.Placard, paper string) ([]byte, error)
	// Feed, when set, is the journal's feed to the chain's NATS JetStream
	// (package feed): "feed" in /v1/status, its metrics in /metrics.
	Feed         Feed
	SSEPing      time.Duration // ": ping" on idle event streams (agent.Timing.SSEPing; 0: its default)
	PrintTimeout time.Duration // one placard print (agent.Timing.PrintTimeout; 0: its default)
	Logger       *slog.Logger  // nil: discard
}

// Server is the local HTTP API (docs/api.md) in front of one engine. It is
// an http.Handler; serve it with NewServer and Serve.
type Server struct {
	eng    *agent.Engine // payments, the cart, events, the audit's writes
	view   *view.Reader  // status, lists, exports, the audit trail, metrics
	books  *books.Books  // shifts, reports, reconciliations
	o      Options
	log    *slog.Logger
	access atomic.Pointer[accessState] // SetAccess
	h      http.Handler                // the front door
}

// New returns the API of eng and its books (bk: built over eng).
func New(eng *agent.Engine, bk *books.Books, o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.SSEPing <= 0 {
		o.SSEPing = agent.DefaultTiming().SSEPing
	}
	if o.PrintTimeout <= 0 {
		o.PrintTimeout = agent.DefaultTiming().PrintTimeout
	}
	s := &Server{eng: eng, view: eng.View(), books: bk, o: o, log: o.Logger}
	s.access.Store(newAccessState(o.Access, o.Token))
	s.h = s.handler()
	return s
}

// ServeHTTP serves the API through its front door.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

func (s *Server) now() time.Time        { return s.eng.Clock().Now().UTC() }
func (s *Server) mono() time.Duration   { return s.eng.Mono() }
func (s *Server) quit() <-chan struct{} { return s.eng.Done() }
