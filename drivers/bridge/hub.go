package bridge

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Errors a caller of SendJob decides on with errors.Is.
var (
	// ErrNoHelper: no helper is connected; nothing was sent. Retry later.
	ErrNoHelper = errors.New("no bridge helper connected")
	// ErrHelperGone: the job was sent but the helper's connection ended
	// before it answered. The job may or may not have printed; retrying with
	// the same job id is safe (the helper acknowledges a job it has already
	// printed without printing it again).
	ErrHelperGone = errors.New("bridge helper disconnected before acknowledging the job")
	// ErrStopped: the hub is shutting down.
	ErrStopped = errors.New("bridge hub stopped")
)

// displayJobPrefix starts the job id of every display frame.
const displayJobPrefix = "display:"

// NackError is returned by SendJob when the helper refused or failed a
// job (paper out, printer error, ...). The message is the helper's.
type NackError struct {
	JobID   string
	Message string
}

func (e *NackError) Error() string {
	return fmt.Sprintf("bridge: job %s refused by the helper: %s", e.JobID, e.Message)
}

// Options configure a Hub. Zero durations take the documented defaults.
type Options struct {
	// Token is the shared secret a helper presents as "Authorization: Bearer
	// <token>". Required. It never appears in logs or errors.
	Token string

	// OnScan receives every scan a helper posts, with Device "bridge:<device>".
	// Its error is sent back to the helper as a nack. The context lives as long
	// as the hub, not the helper's connection. Nil: scans are refused.
	OnScan func(ctx context.Context, s Scan) error
	// OnState is called when a helper connects, reports device state, and
	// disconnects. It runs on the session's goroutine: keep it quick.
	OnState func(HelperStatus)

	// Format says what print jobs carry (FormatESCPOS, the default: bytes
	// for a Sunmi; FormatPNG: a picture at WidthDots for a Clover). The
	// caller encodes; the hub only carries the bytes.
	Format    string
	WidthDots int // the printer's dot width, sent with each print job (0: not sent)

	Server       string        // name in welcome (default "posagent")
	PingInterval time.Duration // WebSocket ping period (default 15 s)
	PingTimeout  time.Duration // a ping unanswered this long ends the session (default 10 s)
	HelloTimeout time.Duration // time allowed for the first message (default 10 s)
	WriteTimeout time.Duration // time allowed for one message write (default 10 s)
	AckTimeout   time.Duration // SendJob gives up waiting after this (default 0: only its ctx)
	ReadLimit    int64         // largest message accepted from a helper (default 256 KiB)
	ScanQueue    int           // scans waiting for OnScan per session before nack (default 16)

	Clock  func() time.Time // default time.Now
	Logger *slog.Logger     // default: discard
}

// HelperStatus is what the hub knows about the connected helper.
type HelperStatus struct {
	Connected bool
	Session   string
	Device    string // from hello
	Helper    string // from hello
	Version   int    // negotiated protocol version
	Since     time.Time
	Devices   []DeviceState // last state message
	Reason    string        // why it disconnected (Connected false)
}

// Hub is the agent's end of the bridge: an http.Handler that accepts helper
// connections, a print-job sender (SendJob) and a display sink (ShowFrame).
// At most one helper session is current; a newer connection replaces an
// older one.
type Hub struct {
	o   Options
	log *slog.Logger

	base   context.Context // lives until Run ends; OnScan runs under it
	cancel context.CancelFunc

	// mu guards the fields below.
	mu       sync.Mutex
	stopped  bool
	cur      *session
	sessions map[*session]struct{}
	waiters  map[string]*waiter
	frame    *Message // latest display frame (latest wins)
	frameSeq uint64
	handlers sync.WaitGroup // serve calls in flight (Add under mu, when not stopped)
}

// waiter is the SendJob calls waiting for one job id's answer.
type waiter struct {
	done chan struct{} // closed with err set
	err  error
	sess *session // the session the job was last sent on
	refs int
}

// New checks o and returns a Hub. Call Run to own its lifetime.
func New(o Options) (*Hub, error) {
	if o.Token == "" {
		return nil, errors.New("bridge: new hub: a token is required (helpers authenticate with it)")
	}
	switch o.Format {
	case "":
		o.Format = FormatESCPOS
	case FormatESCPOS, FormatPNG:
	default:
		return nil, fmt.Errorf("bridge: new hub: format %q, want %q or %q", o.Format, FormatESCPOS, FormatPNG)
	}
	if o.WidthDots < 0 {
		return nil, fmt.Errorf("bridge: new hub: negative width_dots %d", o.WidthDots)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.PingInterval, 15*time.Second)
	def(&o.PingTimeout, 10*time.Second)
	def(&o.HelloTimeout, 10*time.Second)
	def(&o.WriteTimeout, 10*time.Second)
	if o.ReadLimit <= 0 {
		o.ReadLimit = 256 << 10
	}
	if o.ScanQueue <= 0 {
		o.ScanQueue = 16
	}
	if o.Server == "" {
		o.Server = "posagent"
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	h := &Hub{
		o:        o,
		log:      log.With("component", "bridge"),
		sessions: map[*session]struct{}{},
		waiters:  map[string]*waiter{},
	}
	h.base, h.cancel = context.WithCancel(context.Background())
	return h, nil
}

// Run returns when ctx ends, after closing every helper session (1001 going
// away) and waiting for their goroutines. Cancellation is not an error. After
// Run returns, new connections are refused with 503.
func (h *Hub) Run(ctx context.Context) error {
	<-ctx.Done()
	h.mu.Lock()
	h.stopped = true
	all := make([]*session, 0, len(h.sessions))
	for s := range h.sessions {
		all = append(all, s)
	}
	h.mu.Unlock()
	h.cancel()
	for _, s := range all {
		s.stop(websocket.StatusGoingAway, "agent stopping")
	}
	h.handlers.Wait()
	return nil
}

// Status returns what the hub knows about the current helper.
func (h *Hub) Status() HelperStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur == nil {
		return HelperStatus{}
	}
	return h.cur.status()
}

// SetToken puts a new token in force at once (a config reload): the next
// connection must present it, and the sessions opened with the old one
// are closed (1008 policy violation), so a removed token keeps nothing
// open. The same token changes nothing. An empty token is ignored (the
// hub always has one).
func (h *Hub) SetToken(tok string) {
	if tok == "" {
		return
	}
	h.mu.Lock()
	if tok == h.o.Token {
		h.mu.Unlock()
		return
	}
	h.o.Token = tok
	all := make([]*session, 0, len(h.sessions))
	for s := range h.sessions {
		all = append(all, s)
	}
	h.mu.Unlock()
	for _, s := range all {
		s.stop(websocket.StatusPolicyViolation, "token changed")
	}
	h.log.Info("token changed; helper sessions closed", "sessions", len(all))
}

// Handler returns the WebSocket endpoint (mounted at /v1/bridge). A missing
// or wrong bearer token is answered 401 before any upgrade.
func (h *Hub) Handler() http.Handler { return http.HandlerFunc(h.serve) }

// Scan is one code a helper posted: the fields of scanner.Scan, so the
// caller hands it on with a conversion (scanner.Scan(s)).
type Scan struct {
	Code      string    // the code as the helper sent it
	Symbology string    // the AIM identifier when the helper sent one, else ""
	Device    string    // "bridge:" + the helper's device name
	At        time.Time // when the hub received it
}

// SendJob sends data (in Options.Format) to the helper as the print job
// jobID and waits for its answer: nil once the helper acknowledged it.
// Retries of one job must use the same id: the helper acknowledges a job
// it has already printed without printing it again. Without a connected
// helper it returns ErrNoHelper at once; if the helper disconnects before
// answering, ErrHelperGone; a nack is a *NackError. printer.JobPrinter
// turns receipts into jobs.
func (h *Hub) SendJob(ctx context.Context, jobID string, data []byte) error {
	if jobID == "" || checkText(jobID, maxIDLen, false) != nil || strings.HasPrefix(jobID, displayJobPrefix) {
		return fmt.Errorf("bridge: print: invalid job id %q", clip(jobID, 40))
	}
	if len(data) == 0 {
		return fmt.Errorf("bridge: print %s: no data", jobID)
	}
	return h.deliver(ctx, Message{
		Type: TypeJob, JobID: jobID, Kind: KindPrint, Format: h.o.Format,
		Data: data, WidthDots: h.o.WidthDots,
	})
}

// ShowFrame hands a display frame (a PNG) to the helper. Frames are
// latest-wins: a frame not yet sent is replaced by a newer one, and the latest
// frame is sent again to a helper that connects. It does not wait for the
// helper (which acknowledges frames, but nothing depends on it).
func (h *Hub) ShowFrame(png []byte) error {
	if len(png) == 0 {
		return errors.New("bridge: show frame: empty PNG")
	}
	h.mu.Lock()
	h.frameSeq++
	m := &Message{
		Type: TypeJob, JobID: fmt.Sprintf("%s%d", displayJobPrefix, h.frameSeq),
		Kind: KindDisplay, Format: FormatPNG, Data: png,
	}
	h.frame = m
	s := h.cur
	h.mu.Unlock()
	if s != nil {
		s.offerFrame(m)
	}
	return nil
}

// deliver sends a job to the current helper and waits for its answer.
func (h *Hub) deliver(ctx context.Context, m Message) error {
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return fmt.Errorf("bridge: print %s: %w", m.JobID, ErrStopped)
	}
	s := h.cur
	if s == nil {
		h.mu.Unlock()
		return fmt.Errorf("bridge: print %s: %w", m.JobID, ErrNoHelper)
	}
	w := h.waiters[m.JobID]
	if w == nil {
		w = &waiter{done: make(chan struct{})}
		h.waiters[m.JobID] = w
	}
	w.refs++
	w.sess = s
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		w.refs--
		if w.refs == 0 && h.waiters[m.JobID] == w {
			delete(h.waiters, m.JobID)
		}
		h.mu.Unlock()
	}()

	select { // a session becomes current just before its welcome is written
	case <-s.welcomed:
	case <-w.done: // the session ended first: answered below
	case <-ctx.Done():
		return fmt.Errorf("bridge: print %s: waiting for the helper's welcome: %w", m.JobID, ctx.Err())
	}
	if !isClosed(w.done) {
		if err := s.send(m); err != nil {
			return fmt.Errorf("bridge: print %s: send to session %s: %w (%w)", m.JobID, s.id, ErrHelperGone, err)
		}
		h.log.Info("print job sent", "job_id", m.JobID, "session", s.id, "bytes", len(m.Data))
	}

	var timeout <-chan time.Time
	if h.o.AckTimeout > 0 {
		t := time.NewTimer(h.o.AckTimeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-w.done:
		if w.err != nil {
			var ne *NackError
			if errors.As(w.err, &ne) {
				return w.err
			}
			return fmt.Errorf("bridge: print %s: %w", m.JobID, w.err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("bridge: print %s: waiting for ack: %w", m.JobID, ctx.Err())
	case <-timeout:
		return fmt.Errorf("bridge: print %s: no ack within %s", m.JobID, h.o.AckTimeout)
	}
}

// resolve answers the waiters of a job id; ok reports whether any waited.
func (h *Hub) resolve(jobID string, err error) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	w := h.waiters[jobID]
	if w == nil {
		return false
	}
	delete(h.waiters, jobID)
	w.err = err
	close(w.done)
	return true
}

// detach removes s; jobs last sent on it fail with ErrHelperGone.
func (h *Hub) detach(s *session, reason string) {
	h.mu.Lock()
	delete(h.sessions, s)
	wasCur := h.cur == s
	if wasCur {
		h.cur = nil
	}
	for id, w := range h.waiters {
		if w.sess == s {
			delete(h.waiters, id)
			w.err = ErrHelperGone
			close(w.done)
		}
	}
	st := s.status()
	h.mu.Unlock()
	h.log.Info("helper disconnected", "session", s.id, "device", s.device, "reason", reason)
	if wasCur && h.o.OnState != nil {
		st.Connected = false
		st.Reason = reason
		h.o.OnState(st)
	}
}

func (h *Hub) authorized(r *http.Request) bool {
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		got, ok = strings.CutPrefix(r.Header.Get("Authorization"), "bearer ")
	}
	if !ok || got == "" {
		return false
	}
	// Compare digests so neither the content nor the length leaks in timing.
	h.mu.Lock()
	tok := h.o.Token
	h.mu.Unlock()
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(tok))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func httpError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%q,"message":%q}}`+"\n", code, msg)
}

func (h *Hub) serve(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="posagent-bridge"`)
		httpError(w, http.StatusUnauthorized, "unauthorized", "bridge: missing or wrong bearer token")
		return
	}
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		httpError(w, http.StatusServiceUnavailable, "stopping", "bridge: the agent is stopping")
		return
	}
	h.handlers.Add(1)
	h.mu.Unlock()
	defer h.handlers.Done()

	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		h.log.Warn("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	conn.SetReadLimit(h.o.ReadLimit)

	hello, err := h.readHello(conn)
	if err != nil {
		h.log.Warn("helper refused", "remote", r.RemoteAddr, "err", err)
		return
	}
	h.newSession(conn, hello).run()
}

// readHello reads and checks the first message; on failure it closes conn
// with a clear reason.
func (h *Hub) readHello(conn *websocket.Conn) (Message, error) {
	ctx, cancel := context.WithTimeout(h.base, h.o.HelloTimeout)
	defer cancel()
	typ, b, err := conn.Read(ctx)
	if err != nil {
		conn.CloseNow()
		return Message{}, fmt.Errorf("bridge: read hello: %w", err)
	}
	refuse := func(code websocket.StatusCode, reason string) (Message, error) {
		if b, err := Encode(Message{Type: TypeError, Error: CleanText(reason, maxErrorLen)}); err == nil {
			wctx, cancel := context.WithTimeout(context.Background(), h.o.WriteTimeout)
			_ = conn.Write(wctx, websocket.MessageText, b)
			cancel()
		}
		_ = conn.Close(code, CleanText(reason, 120))
		return Message{}, errors.New(reason)
	}
	if typ != websocket.MessageText {
		return refuse(CloseBadHello, "bridge: the first message must be a hello (a JSON text message)")
	}
	m, err := Decode(b)
	if err != nil {
		return refuse(CloseBadHello, err.Error())
	}
	if m.Type != TypeHello {
		return refuse(CloseBadHello, fmt.Sprintf("bridge: the first message must be a hello, got %q", m.Type))
	}
	v, ok := Negotiate(m.MinVersion, m.Version)
	if !ok {
		lo := m.MinVersion
		if lo == 0 {
			lo = m.Version
		}
		return refuse(CloseUnsupportedVersion, fmt.Sprintf(
			"bridge: unsupported protocol version %d..%d; this agent speaks %d..%d",
			lo, m.Version, MinVersion, MaxVersion))
	}
	m.Version = v
	return m, nil
}

// attach makes s the current session, replacing (and closing) the previous.
func (h *Hub) attach(s *session) bool {
	h.mu.Lock()
	if h.stopped {
		h.mu.Unlock()
		return false
	}
	old := h.cur
	h.cur = s
	h.sessions[s] = struct{}{}
	frame := h.frame
	st := s.status()
	h.mu.Unlock()
	if old != nil {
		h.log.Info("helper session replaced", "old", old.id, "new", s.id)
		old.stop(CloseReplaced, "replaced by a newer connection")
	}
	if frame != nil {
		s.offerFrame(frame)
	}
	h.log.Info("helper connected", "session", s.id, "device", s.device, "helper", s.helper, "version", s.version)
	if h.o.OnState != nil {
		h.o.OnState(st)
	}
	return true
}

func newSessionID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func isClosed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
