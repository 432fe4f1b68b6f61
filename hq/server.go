package hq

import (
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

//go:embed page.html
var pageHTML []byte

// Server is the read-only API and web page over the books.
type Server struct {
	Books *Books
	// Token guards every route (Authorization: Bearer, or ?token= for the
	// page's first load); "" refuses everything.
	Token string
	// Loc is the chain's time zone: days are its days.
	Loc *time.Location
	// Now is the clock of the lanes' "since" (default time.Now).
	Now func() time.Time
	// Fleet is the lanes' heartbeats and the published configuration
	// (nil: no fleet routes).
	Fleet *Fleet
}

// Handler is the server's routes:
//
//	GET /                 the page
//	GET /api/lanes        stores and lanes: last event, lag, version, open shift, in doubt, gaps
//	GET /api/totals?day=  the day's totals per store and for the chain
//	GET /api/z            Z reports across lanes
//	GET /api/aside        messages kept aside
//	GET /api/export.csv?day=  payments and refunds for an accountant
//	GET /api/fleet        each lane's heartbeat, versions, state and problems; the published bundles
//	GET /metrics          the fleet for Prometheus
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	if s.Fleet != nil {
		mux.HandleFunc("GET /api/fleet", func(w http.ResponseWriter, r *http.Request) {
			s.reply(w, FleetReport{Lanes: s.Fleet.View(), Published: s.Fleet.PublishedBundles()}, nil)
		})
		reg := prometheus.NewRegistry()
		reg.MustRegister(s.Fleet.Collector())
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}))
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'")
		w.Write(pageHTML)
	})
	mux.HandleFunc("GET /api/lanes", s.lanes)
	mux.HandleFunc("GET /api/totals", func(w http.ResponseWriter, r *http.Request) {
		d, err := s.Books.Day(r.URL.Query().Get("day"), s.loc())
		s.reply(w, d, err)
	})
	mux.HandleFunc("GET /api/z", func(w http.ResponseWriter, r *http.Request) {
		z, err := s.Books.ZReports()
		s.reply(w, z, err)
	})
	mux.HandleFunc("GET /api/aside", func(w http.ResponseWriter, r *http.Request) {
		a, err := s.Books.Aside()
		s.reply(w, a, err)
	})
	mux.HandleFunc("GET /api/export.csv", func(w http.ResponseWriter, r *http.Request) {
		day := r.URL.Query().Get("day")
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", "posagent-"+orAll(day)+".csv"))
		if err := s.Books.WriteCSV(w, day, s.loc()); err != nil {
			http.Error(w, err.Error(), 400)
		}
	})
	return s.guard(mux)
}

func orAll(day string) string {
	if day == "" {
		return "all"
	}
	return day
}

func (s *Server) loc() *time.Location {
	if s.Loc == nil {
		return time.Local
	}
	return s.Loc
}

// guard lets through requests carrying the token; only GET and HEAD.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, `{"error":"read_only","message":"posagent-hq's API is read-only"}`, http.StatusMethodNotAllowed)
			return
		}
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if tok == "" {
			tok = r.URL.Query().Get("token")
		}
		if s.Token == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, `{"error":"unauthorized","message":"a valid token is needed: Authorization: Bearer TOKEN, or ?token=TOKEN"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// LaneView is one lane in /api/lanes.
type LaneView struct {
	*LaneState
	Gaps    uint64 `json:"gaps"`
	InDoubt int    `json:"in_doubt"`
	// SinceSeconds: how long since the lane's last event arrived.
	SinceSeconds float64 `json:"since_seconds"`
}

func (s *Server) lanes(w http.ResponseWriter, r *http.Request) {
	ls, err := s.Books.Lanes()
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	doubt, err := s.Books.InDoubt()
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	out := []LaneView{}
	for _, l := range ls {
		out = append(out, LaneView{LaneState: l, Gaps: l.Gaps(), InDoubt: doubt[l.Store+"/"+l.Lane],
			SinceSeconds: max(0, now().Sub(l.ReceivedAt).Seconds())})
	}
	s.reply(w, out, nil)
}

func (s *Server) reply(w http.ResponseWriter, v any, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(400)
		json.NewEncoder(w).Encode(map[string]string{"error": "bad_request", "message": err.Error()})
		return
	}
	json.NewEncoder(w).Encode(v)
}

// FleetReport is GET /api/fleet (and fleet ls --json).
type FleetReport struct {
	Lanes     []FleetLane `json:"lanes"`
	Published []Published `json:"published"`
}
