package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/operr"
)

// door is the API's front door: every request passes it before a handler
// sees it. In order it checks the Host (DNS rebinding), the browser
// context (Origin, Sec-Fetch-Site; CORS for allowed origins), the Unix
// socket caller's uid, the credentials (from the headers only, before any
// body is read), the route and the role, then the body's size and type.
// One frontDoor serves every listener of an engine.
type frontDoor struct {
	s      *Server
	mux    *http.ServeMux
	routes map[string]route // by mux pattern
	log    *slog.Logger

	authFails *strikes // per client

	mu       sync.Mutex             // guards streams, total and pinGates
	streams  map[Role][]*streamSlot // open event streams by role, oldest first
	total    int
	pinGates map[string]chan struct{} // one PIN check per operator at a time
}

// route is one API route: who may call it and what the audit trail calls it.
type route struct {
	roles  roleSet
	audit  string // "" not audited
	public bool   // no token (OTTPay's call-back): failures limited per client
	h      http.Handler
}

// mountAudit names the mounted routes that are on the audit trail.
var mountAudit = map[string]string{
	"GET /v1/journal/backup": "journal.backup",
	"POST /v1/config/reload": "config.reload",
}

// caller is who sent a request, once the door let it in.
type caller struct {
	roles  roleSet
	name   string   // credential name: pos, manager, display, bridge, metrics, token, local
	client string   // "127.0.0.1", "unix uid 1000"
	sum    [32]byte // the credential's digest (zero without a token)
}

type ctxKey int

const (
	callerKey ctxKey = iota
	auditKey
	connKey
)

func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(callerKey).(caller)
	return c
}

// ConnContext is http.Server.ConnContext for the API's listeners: it keeps
// the connection so that the door can ask a Unix socket for its peer's uid.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	return context.WithValue(ctx, connKey, c)
}

var (
	readRoles  = setOf(RolePOS, RoleManager)
	posRoles   = setOf(RolePOS, RoleManager)
	mgrRoles   = setOf(RoleManager)
	dispRoles  = setOf(RoleDisplay, RolePOS, RoleManager)
	scanRoles  = setOf(RolePOS, RoleManager, RoleBridge)
	metrRoles  = setOf(RoleMetrics, RoleManager)
	refundRole = setOf(RolePOS, RoleManager) // pos only within the approval rules
)

func newFrontDoor(s *Server) *frontDoor {
	a := s.accessNow().a
	d := &frontDoor{s: s, mux: http.NewServeMux(), routes: map[string]route{},
		log: s.log, streams: map[Role][]*streamSlot{}, pinGates: map[string]chan struct{}{}}
	d.authFails = newStrikes(a.AuthFailures, a.AuthBlock, s.mono)
	return d
}

func (d *frontDoor) handle(pattern string, roles roleSet, audit string, h http.HandlerFunc) {
	rt := route{roles: roles, audit: audit, h: h}
	d.routes[pattern] = rt
	if audit == "" {
		d.mux.Handle(pattern, h)
		return
	}
	d.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) { d.serveAudited(w, r, rt, callerOf(r)) })
}

// Handler is the local HTTP API (docs/api.md), with
// Options.Mount behind the same front door.
func (s *Server) handler() http.Handler {
	d := newFrontDoor(s)
	d.handle("POST /v1/payments", posRoles, "payment.create", d.hCreate)
	d.handle("GET /v1/payments", readRoles, "", s.hList)
	d.handle("GET /v1/payments/{id}", readRoles, "", s.hGet)
	d.handle("POST /v1/payments/{id}/code", posRoles, "payment.code", s.hCode)
	d.handle("POST /v1/payments/{id}/cancel", posRoles, "payment.cancel", s.hCancel)
	d.handle("POST /v1/payments/{id}/refunds", refundRole, "payment.refund", d.hRefund)
	d.handle("POST /v1/payments/{id}/resolve", mgrRoles, "payment.resolve", s.hResolve)
	d.handle("POST /v1/payments/{id}/refunds/{refund}/resolve", mgrRoles, "refund.resolve", s.hResolveRefund)
	d.handle("POST /v1/payments/{id}/refunds/{refund}/retry", refundRole, "refund.retry", s.hRetryRefund)
	d.handle("POST /v1/payments/{id}/receipt", posRoles, "receipt.print", s.hReceipt)
	d.handle("GET /v1/payments/{id}/receipt.png", readRoles, "", s.hReceiptPNG)
	d.handle("POST /v1/scans", scanRoles, "scan", s.hScan)
	d.handle("GET /v1/events", dispRoles, "", d.hEvents)
	d.handle("GET /v1/status", setOf(RolePOS, RoleManager, RoleMetrics), "", s.hStatus)
	d.handle("POST /v1/sync", posRoles, "sync", s.hSync)
	d.handle("GET /v1/cart", dispRoles, "", s.hCartGet)
	d.handle("PUT /v1/cart", posRoles, "cart.set", d.hCartPut)
	d.handle("POST /v1/cart/tip", dispRoles, "cart.tip", d.hCartTip)
	d.handle("DELETE /v1/cart", posRoles, "cart.clear", s.hCartDelete)
	d.handle("GET /v1/export", mgrRoles, "", d.stallGuard(s.hExport))
	d.handle("GET /v1/audit", mgrRoles, "", s.hAudit)
	s.reportRoutes(d)  // shifts and reports (reports.go)
	s.placardRoutes(d) // the static QR placard (placard.go)
	d.handle("GET /healthz", allRoles, "", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"ok": true})
	})
	d.handle("GET /metrics", metrRoles, "", s.metricsHandler())
	if s.o.Bridge != nil {
		d.handle("GET /v1/bridge", setOf(RoleBridge), "", s.o.Bridge.ServeHTTP)
	}
	if s.o.Callback != nil {
		d.routes["POST /v1/ottpay/callback"] = route{public: true, h: s.o.Callback}
		d.mux.Handle("POST /v1/ottpay/callback", s.o.Callback)
	}
	for p, h := range s.o.Mount {
		roles := mgrRoles // s.g. GET /v1/journal/backup
		if strings.Contains(p, "/display") {
			roles = dispRoles
		}
		if a := mountAudit[p]; a != "" {
			d.handle(p, roles, a, d.stallGuard(h.ServeHTTP))
			continue
		}
		d.routes[p] = route{roles: roles, h: h}
		d.mux.Handle(p, h)
	}
	return d
}

// apiError writes a refusal. A request whose body was not read is answered
// with Connection: close, so that the server never waits for a body it
// will not use (a slow or endless one) before sending the answer.
func refuse(w http.ResponseWriter, r *http.Request, code agent.Code, format string, args ...any) {
	if r.ContentLength != 0 {
		w.Header().Set("Connection", "close")
	}
	writeErr(w, errf(code, format, args...))
}

func (d *frontDoor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	uid, onSocket := peerUID(r)
	corsOK, ok := d.checkBrowser(w, r, onSocket)
	if !ok {
		return
	}
	client, ok := d.checkSocket(w, r, uid, onSocket)
	if !ok {
		return
	}
	if _, pattern := d.mux.Handler(r); d.routes[pattern].public && r.URL.Path == pattern[strings.IndexByte(pattern, ' ')+1:] {
		d.servePublic(w, r, client)
		return
	}
	// 4. Credentials, from the headers alone.
	c, ok := d.authenticate(w, r, client, onSocket, corsOK)
	if !ok || !d.checkRoute(w, r, c) || !d.checkBody(w, r) {
		return
	}
	// The mux again, so that the handler sees its path values.
	d.mux.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), callerKey, c)))
}

// servePublic serves a route that takes no token (OTTPay's call-back: its
// digest authenticates it) behind the same Host, size, type and time
// limits as every route; a client whose requests failed too often is
// refused with 429 before its body is read.
func (d *frontDoor) servePublic(w http.ResponseWriter, r *http.Request, client string) {
	key := "client " + clientKey(client)
	if left := d.authFails.blocked(key); left > 0 {
		w.Header().Set("Retry-After", fmtRetry(left))
		refuse(w, r, CodeTooManyAttempts, "too many refused requests from this client; try again later")
		return
	}
	if !d.checkBody(w, r) {
		return
	}
	rec := &recorder{ResponseWriter: w}
	d.mux.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), callerKey, caller{name: "public", client: client})))
	if rec.status >= 400 {
		blocked := d.authFails.fail(key)
		d.log.Warn("api: public route refused", "client", client, "path", clip(r.URL.Path, 80), "status", rec.status, "blocked", blocked)
	}
}

// checkBrowser is steps 1 and 2: the Host and the browser context (CORS
// for allowed origins, whose preflight it answers). ok false: answered.
func (d *frontDoor) checkBrowser(w http.ResponseWriter, r *http.Request, onSocket bool) (corsOK, ok bool) {
	// 1. Host: a page on a rebound name (rebind.attacker.example -> 127.0.0.1)
	// carries its own name in Host. A Unix socket has no browser behind it.
	if !onSocket && !d.hostAllowed(r.Host) {
		refuse(w, r, CodeHostNotAllowed,
			"Host %q is not this agent's name: use 127.0.0.1, localhost or a name listed in api.allowed_hosts", clip(r.Host, 80))
		return false, false
	}
	// 2. The browser context.
	origin := r.Header.Get("Origin")
	corsOK = origin != "" && slices.Contains(d.s.accessNow().a.AllowedOrigins, origin)
	if origin != "" && !corsOK && !sameOrigin(origin, r) {
		refuse(w, r, CodeOriginNotAllowed,
			"requests from web pages at %s are refused: list the origin in api.allowed_origins to let a web POS in", clip(origin, 80))
		return false, false
	}
	if origin == "" && r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		refuse(w, r, CodeOriginNotAllowed, "cross-site requests from web pages are refused")
		return false, false
	}
	if !corsOK {
		return false, true
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	h.Add("Vary", "Origin")
	h.Set("Access-Control-Expose-Headers", "Location, Idempotent-Replayed, Retry-After")
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Idempotency-Key, Last-Event-ID")
		h.Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return true, false
	}
	return true, true
}

// checkSocket is step 3: the Unix socket's caller, by uid. It returns the
// client's name for the logs and the audit trail.
func (d *frontDoor) checkSocket(w http.ResponseWriter, r *http.Request, uid int, onSocket bool) (client string, ok bool) {
	if !onSocket {
		return clientOf(r), true
	}
	if !d.uidAllowed(uid) {
		d.log.Warn("api: unix socket caller refused", "uid", uid, "path", r.URL.Path)
		refuse(w, r, CodeUIDNotAllowed, "uid %d may not use this socket: add it to api.socket_users", uid)
		return "", false
	}
	return "unix uid " + strconv.Itoa(uid), true
}

// checkRoute is step 5: the route exists, and the caller's role may use it.
func (d *frontDoor) checkRoute(w http.ResponseWriter, r *http.Request, c caller) bool {
	_, pattern := d.mux.Handler(r)
	rt, known := d.routes[pattern]
	if !known {
		if allow := d.allowed(r); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			refuse(w, r, CodeMethodNotAllowed, "%s is not allowed on %s: use %s", clip(r.Method, 16), clip(r.URL.Path, 80), strings.Join(allow, ", "))
			return false
		}
		refuse(w, r, operr.CodeNotFound, "no route %s %s", clip(r.Method, 16), clip(r.URL.Path, 80))
		return false
	}
	if rt.roles&c.roles == 0 {
		d.log.Warn("api: role refused", "client", c.client, "credential", c.name, "method", r.Method, "path", clip(r.URL.Path, 80))
		_, path, _ := strings.Cut(pattern, " ")
		refuse(w, r, CodeForbidden, "the %s credential may not %s %s", c.name, r.Method, path)
		return false
	}
	return true
}

// checkBody is step 6: the body's size from Content-Length and its type
// from Content-Type, both before it is read; then a deadline for reading it.
func (d *frontDoor) checkBody(w http.ResponseWriter, r *http.Request) bool {
	if r.ContentLength > MaxBody {
		refuse(w, r, CodeBodyTooLarge, "request body is larger than %d KiB", MaxBody>>10)
		return false
	}
	if hasBody(r) || r.Header.Get("Content-Type") != "" {
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if hasBody(r) && (err != nil || mt != "application/json") || err == nil && mt != "application/json" {
			refuse(w, r, CodeUnsupportedMediaType, "request bodies must be JSON: send Content-Type: application/json")
			return false
		}
	}
	if hasBody(r) {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d.s.accessNow().a.BodyTimeout))
	}
	return true
}

// hasBody reports whether a request says it carries a body.
func hasBody(r *http.Request) bool { return r.ContentLength > 0 || r.ContentLength < 0 }

// authenticate decides who the caller is from the headers (and the
// display's ?token=), or answers 401/429. A valid credential is always
// served: failures are counted per client (all of loopback is one client)
// and per presented credential, and a wrong credential from a blocked
// client, or one that was presented too often, is answered 429 instead of
// 401 and not logged again.
func (d *frontDoor) authenticate(w http.ResponseWriter, r *http.Request, client string, onSocket, fromWeb bool) (caller, bool) {
	tok, inURL, hasTok := bearer(r)
	if !hasTok {
		if d.s.accessNow().open && !fromWeb && (onSocket || isLoopbackAddr(r.RemoteAddr)) {
			return caller{roles: allRoles, name: "local", client: client}, true
		}
		if r.URL.Path == "/healthz" && r.Method == http.MethodGet {
			return caller{roles: allRoles, name: "anonymous", client: client}, true
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="posagent"`)
		refuse(w, r, CodeUnauthorized, "missing Authorization: Bearer <token>")
		return caller{}, false
	}
	acc := d.s.accessNow()
	if cred, ok := acc.creds.match(tok, inURL); ok {
		return caller{roles: cred.roles, name: cred.name, client: client, sum: cred.sum}, true
	}
	if !d.authFailed(w, r, client, tok, inURL) {
		return caller{}, false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="posagent", error="invalid_token"`)
	msg := "missing or wrong Authorization: Bearer token"
	if inURL {
		msg = "?token= is accepted for the display token only, on the display's pages and its event stream; send other tokens as Authorization: Bearer"
	}
	refuse(w, r, CodeUnauthorized, "%s", msg)
	return caller{}, false
}

// authFailed counts a wrong credential against its client and itself. It
// answers 429 and returns false when either is blocked; true: answer 401.
func (d *frontDoor) authFailed(w http.ResponseWriter, r *http.Request, client, tok string, inURL bool) bool {
	sum := sha256.Sum256([]byte(tok))
	ckey, tkey := "client "+clientKey(client), "credential "+hex.EncodeToString(sum[:8])
	if left := max(d.authFails.blocked(ckey), d.authFails.blocked(tkey)); left > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(left/time.Second)+1))
		refuse(w, r, CodeTooManyAttempts, "too many failed authentications from this client or with this credential; try again later")
		return false
	}
	blocked := d.authFails.fail(ckey)
	blocked = d.authFails.fail(tkey) || blocked
	// Never the token: only where it came from and where it was going.
	d.log.Warn("api: authentication failed", "client", client, "method", r.Method, "path", clip(r.URL.Path, 80), "in_url", inURL, "blocked", blocked)
	return true
}

// clientKey is who a failure is counted against: every loopback address
// (127.0.0.0/8, ::1) is one client, an IPv6 client is its /64, a Unix
// socket caller its uid.
func clientKey(client string) string {
	ip := net.ParseIP(client)
	switch {
	case ip == nil:
		return client // "unix uid N"
	case ip.IsLoopback():
		return "loopback"
	case ip.To4() != nil:
		return ip.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// bearer returns the presented token: the Authorization header, or on a
// display GET (the page and its event stream) ?token=.
func bearer(r *http.Request) (tok string, inURL, ok bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		t, found := strings.CutPrefix(h, "Bearer ")
		if !found {
			return "\x00" + h, false, true // present but malformed: a failure
		}
		return t, false, true
	}
	if q := r.URL.Query().Get("token"); q != "" {
		display := r.Method == http.MethodGet && (r.URL.Path == "/display" || strings.HasPrefix(r.URL.Path, "/display/") || r.URL.Path == "/v1/events" || r.URL.Path == "/v1/cart")
		if !display {
			return "\x00url", true, true // never accepted: a failure
		}
		return q, true, true
	}
	return "", false, false
}

// allowed lists the methods that do have a route for r's path.
func (d *frontDoor) allowed(r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := &http.Request{Method: m, URL: &url.URL{Path: r.URL.Path}, Host: r.Host, Header: http.Header{}}
		if _, p := d.mux.Handler(probe); p != "" {
			if _, ok := d.routes[p]; ok {
				out = append(out, m)
			}
		}
	}
	if slices.Contains(out, http.MethodGet) {
		out = append(out, http.MethodHead)
	}
	return out
}

// hostAllowed: loopback names, IP literals (a rebound page always carries
// a name), the listen host and api.allowed_hosts.
func (d *frontDoor) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "" {
		return false
	}
	if host == "localhost" || net.ParseIP(host) != nil {
		return true
	}
	if d.s.accessNow().a.ListenHost != "" && strings.EqualFold(host, d.s.accessNow().a.ListenHost) {
		return true
	}
	for _, h := range d.s.accessNow().a.AllowedHosts {
		if strings.EqualFold(host, h) {
			return true
		}
	}
	return false
}

// sameOrigin: the agent's own pages (the customer display) calling it,
// over the same scheme as the request (a page served over plain HTTP is
// not the origin of a TLS listener, nor the reverse).
func sameOrigin(origin string, r *http.Request) bool {
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	return origin == scheme+r.Host
}

// stallGuard gives every write of a long answer (an export, a journal
// backup, both streamed from one read transaction) its own deadline: a
// client that stops reading is dropped after Access.WriteTimeout instead
// of holding the read transaction for as long as it likes: a bbolt read
// transaction keeps the pages it sees from being reused, and a journal
// that must grow its memory map waits for every read transaction to end.
func (d *frontDoor) stallGuard(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h(&deadlineWriter{ResponseWriter: w, rc: http.NewResponseController(w), d: d.s.accessNow().a.WriteTimeout}, r)
	}
}

type deadlineWriter struct {
	http.ResponseWriter
	rc *http.ResponseController
	d  time.Duration
}

func (d *deadlineWriter) Write(b []byte) (int, error) {
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.d))
	return d.ResponseWriter.Write(b)
}

func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }

func (d *frontDoor) uidAllowed(uid int) bool {
	if len(d.s.accessNow().a.SocketUIDs) == 0 {
		return uid == selfUID()
	}
	return slices.Contains(d.s.accessNow().a.SocketUIDs, uid)
}

func clientOf(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

func isLoopbackAddr(addr string) bool {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// clip shortens what a caller sent before it goes into an answer or a log.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// recorder keeps the status and the error code of an answer for the audit
// trail; it passes Flush on (the event stream is not audited, though).
type recorder struct {
	http.ResponseWriter
	status int
	head   bytes.Buffer
}

func (r *recorder) WriteHeader(s int) {
	if r.status == 0 {
		r.status = s
	}
	r.ResponseWriter.WriteHeader(s)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = 200
	}
	if r.head.Len() < 4096 {
		r.head.Write(b[:min(len(b), 4096-r.head.Len())])
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// result is the answer's error code, or "ok".
func (r *recorder) result() (code string, pay *agent.Payment) {
	var m struct {
		Error *apiErr `json:"error"`
		agent.Payment
	}
	if json.Unmarshal(r.head.Bytes(), &m) == nil {
		if m.Error != nil {
			return m.Error.Code, nil
		}
		if m.Payment.ID != "" {
			p := m.Payment
			return "ok", &p
		}
	}
	if r.status >= 400 {
		return http.StatusText(r.status), nil
	}
	return "ok", nil
}

func fmtRetry(d time.Duration) string { return fmt.Sprint(int(d/time.Second) + 1) }
