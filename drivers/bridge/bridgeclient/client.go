package bridgeclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/posagent/posagent/drivers/bridge"
)

// Errors callers decide on with errors.Is.
var (
	// ErrUnauthorized: the agent refused the token (HTTP 401). Permanent.
	ErrUnauthorized = errors.New("bridge token refused")
	// ErrUnsupportedVersion: the agent speaks none of the helper's protocol
	// versions (close code 4001). Permanent.
	ErrUnsupportedVersion = errors.New("protocol version not supported by the agent")
	// ErrNotConnected: no connection to the agent right now (a request was
	// not sent, or its connection ended before the answer).
	ErrNotConnected = errors.New("not connected to the agent")
	// ErrReplaced: another helper connection took this one's place (close
	// code 4003). Run stops rather than fight over the bridge. Permanent.
	ErrReplaced = errors.New("replaced by a newer helper connection")
	// ErrRefused: the agent answered a request with nack.
	ErrRefused = errors.New("refused by the agent")
)

// Job is a print job or a display frame from the agent.
type Job struct {
	ID        string // job_id: the same for every retry of one job
	Kind      string // bridge.KindPrint or bridge.KindDisplay
	Format    string // bridge.FormatESCPOS or bridge.FormatPNG
	Data      []byte // ESC/POS bytes or a PNG
	WidthDots int    // the printer's dot width, when the agent sent it
}

// Option configures Dial.
type Option func(*config)

type config struct {
	helper       string
	minV, maxV   int
	onPrint      func(context.Context, Job) error
	onDisplay    func(context.Context, Job) error
	acked        AckedStore
	minBackoff   time.Duration
	maxBackoff   time.Duration
	helloTimeout time.Duration
	writeTimeout time.Duration
	readLimit    int64
	httpClient   *http.Client
	log          *slog.Logger
}

// WithPrintHandler sets the function that prints a job. It returns nil once
// the job is printed; an error is sent to the agent as a nack. Without one,
// every print job is refused.
func WithPrintHandler(f func(ctx context.Context, j Job) error) Option {
	return func(c *config) { c.onPrint = f }
}

// WithDisplayHandler sets the function that shows a display frame.
func WithDisplayHandler(f func(ctx context.Context, j Job) error) Option {
	return func(c *config) { c.onDisplay = f }
}

// WithAckedStore sets where printed job ids are remembered (default NewLRU(1024)).
func WithAckedStore(s AckedStore) Option { return func(c *config) { c.acked = s } }

// WithHelper sets the helper name sent in hello (default "posbridge-go/1").
func WithHelper(name string) Option { return func(c *config) { c.helper = name } }

// WithVersions sets the protocol versions offered in hello (default the ones
// package bridge speaks).
func WithVersions(minV, maxV int) Option {
	return func(c *config) { c.minV, c.maxV = minV, maxV }
}

// WithBackoff sets the reconnect delays: the first wait, doubled up to max
// (defaults 250 ms and 30 s).
func WithBackoff(first, max time.Duration) Option {
	return func(c *config) { c.minBackoff, c.maxBackoff = first, max }
}

// WithTimeouts sets the time allowed for the hello exchange and for one
// message write (defaults 10 s each).
func WithTimeouts(hello, write time.Duration) Option {
	return func(c *config) { c.helloTimeout, c.writeTimeout = hello, write }
}

// WithHTTPClient sets the HTTP client used for the WebSocket handshake.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.httpClient = hc } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// Client is the helper's end of the bridge. Dial connects; Run serves the
// connection and reconnects; Scan and ReportState talk to the agent.
type Client struct {
	url, token, device string
	cfg                config
	log                *slog.Logger
	seq                atomic.Uint64

	// mu guards the fields below.
	mu        sync.Mutex
	conn      *websocket.Conn // nil between connections
	session   string
	pending   map[string]chan result // requests waiting for ack/nack, by id
	state     []bridge.DeviceState   // last ReportState, re-sent on reconnect
	haveState bool
	running   bool
	closed    bool

	jobs chan bridge.Message // print jobs, read loop -> print worker

	// frameMu guards frame; frameReady (cap 1) says a frame waits.
	frameMu    sync.Mutex
	frame      *bridge.Message
	frameReady chan struct{}
}

type result struct {
	m   bridge.Message
	err error
}

// Dial connects to the agent's bridge endpoint (ws://host:port/v1/bridge),
// says hello and waits for welcome. Errors wrap ErrUnauthorized or
// ErrUnsupportedVersion when the agent refused; other errors are transport
// errors. Call Run to serve the connection, or Close to drop it.
func Dial(ctx context.Context, url, token, device string, opts ...Option) (*Client, error) {
	cfg := config{
		helper: "posbridge-go/1", minV: bridge.MinVersion, maxV: bridge.MaxVersion,
		minBackoff: 250 * time.Millisecond, maxBackoff: 30 * time.Second,
		helloTimeout: 10 * time.Second, writeTimeout: 10 * time.Second,
		readLimit: 32 << 20,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.acked == nil {
		cfg.acked = NewLRU(1024)
	}
	if cfg.maxBackoff < cfg.minBackoff {
		cfg.maxBackoff = cfg.minBackoff
	}
	log := cfg.log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Client{
		url: url, token: token, device: device, cfg: cfg,
		log:        log.With("component", "bridgeclient", "device", device),
		pending:    map[string]chan result{},
		jobs:       make(chan bridge.Message, 64),
		frameReady: make(chan struct{}, 1),
	}
	conn, session, err := c.connect(ctx)
	if err != nil {
		return nil, err
	}
	c.conn, c.session = conn, session
	return c, nil
}

// Session returns the agent's id for the current connection ("" when none).
func (c *Client) Session() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

// Close drops the connection. Use it when Run is never called; a running
// client is stopped by cancelling Run's context.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	conn := c.conn
	c.mu.Unlock()
	if conn != nil {
		return conn.Close(websocket.StatusNormalClosure, "helper closing")
	}
	return nil
}

// connect dials, says hello and reads welcome.
func (c *Client) connect(ctx context.Context) (*websocket.Conn, string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.helloTimeout)
	defer cancel()
	hdr := http.Header{}
	hdr.Set("Authorization", "Bearer "+c.token)
	conn, resp, err := websocket.Dial(ctx, c.url, &websocket.DialOptions{HTTPHeader: hdr, HTTPClient: c.cfg.httpClient})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return nil, "", fmt.Errorf("bridgeclient: dial: %w (HTTP 401)", ErrUnauthorized)
		}
		return nil, "", fmt.Errorf("bridgeclient: dial: %w", err)
	}
	conn.SetReadLimit(c.cfg.readLimit)
	hello := bridge.Message{
		Type: bridge.TypeHello, Version: c.cfg.maxV, MinVersion: c.cfg.minV,
		Device: c.device, Helper: c.cfg.helper,
	}
	if err := c.write(conn, hello); err != nil {
		conn.CloseNow()
		return nil, "", fmt.Errorf("bridgeclient: hello: %w", err)
	}
	var refusal string
	for {
		_, b, err := conn.Read(ctx)
		if err != nil {
			conn.CloseNow()
			var ce websocket.CloseError
			if errors.As(err, &ce) {
				why := ce.Reason
				if refusal != "" {
					why = refusal
				}
				if ce.Code == bridge.CloseUnsupportedVersion {
					return nil, "", fmt.Errorf("bridgeclient: hello: %w: %s", ErrUnsupportedVersion, why)
				}
				return nil, "", fmt.Errorf("bridgeclient: hello refused (close %d): %s", ce.Code, why)
			}
			return nil, "", fmt.Errorf("bridgeclient: waiting for welcome: %w", err)
		}
		m, err := bridge.Decode(b)
		if err != nil {
			conn.CloseNow()
			return nil, "", fmt.Errorf("bridgeclient: waiting for welcome: %w", err)
		}
		switch m.Type {
		case bridge.TypeWelcome:
			c.log.Info("connected", "session", m.Session, "version", m.Version)
			return conn, m.Session, nil
		case bridge.TypeError:
			refusal = m.Error // the close that follows says which kind
		default:
			conn.CloseNow()
			return nil, "", fmt.Errorf("bridgeclient: expected welcome, got %q", m.Type)
		}
	}
}

// write sends one message with the write timeout (never a caller's context:
// a cancelled write tears the connection down).
func (c *Client) write(conn *websocket.Conn, m bridge.Message) error {
	b, err := bridge.Encode(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.writeTimeout)
	defer cancel()
	return conn.Write(ctx, websocket.MessageText, b)
}

// send writes m on the current connection.
func (c *Client) send(m bridge.Message) error {
	c.mu.Lock()
	conn := c.conn
	c.mu.Unlock()
	if conn == nil {
		return ErrNotConnected
	}
	return c.write(conn, m)
}

// Run serves the connection made by Dial, and reconnects with backoff when
// it drops, until ctx ends (nil) or the agent refuses the helper for good
// (ErrUnauthorized, ErrUnsupportedVersion). Print jobs are handled one at a
// time, in order; display frames are latest-wins. Run may be called once.
func (c *Client) Run(ctx context.Context) error {
	c.mu.Lock()
	if c.running {
		c.mu.Unlock()
		return errors.New("bridgeclient: Run called twice")
	}
	c.running = true
	c.mu.Unlock()

	wctx, stopWorkers := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); c.printWorker(wctx) }()
	go func() { defer wg.Done(); c.displayWorker(wctx) }()
	defer func() {
		stopWorkers()
		wg.Wait()
	}()

	backoff := c.cfg.minBackoff
	for {
		c.mu.Lock()
		conn, closed := c.conn, c.closed
		c.mu.Unlock()
		if closed || ctx.Err() != nil {
			if conn != nil {
				c.dropConn(conn, websocket.StatusNormalClosure, "helper stopping")
			}
			return nil
		}
		if conn == nil {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, c.cfg.maxBackoff)
			nc, session, err := c.connect(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrUnsupportedVersion) {
					return err
				}
				c.log.Warn("reconnect failed", "err", err, "next_in", backoff)
				continue
			}
			c.mu.Lock()
			if c.closed { // Close was called while dialling
				c.mu.Unlock()
				_ = nc.Close(websocket.StatusNormalClosure, "helper closing")
				return nil
			}
			c.conn, c.session = nc, session
			c.mu.Unlock()
			conn = nc
		}
		backoff = c.cfg.minBackoff
		c.resendState(conn)
		err := c.serveConn(ctx, conn)
		c.dropConn(conn, websocket.StatusNormalClosure, "helper stopping")
		if ctx.Err() != nil {
			return nil
		}
		if websocket.CloseStatus(err) == bridge.CloseReplaced {
			return fmt.Errorf("bridgeclient: run: %w", ErrReplaced)
		}
		c.log.Warn("connection lost", "err", err)
	}
}

// serveConn reads messages until the connection fails or ctx ends (then it
// closes the connection cleanly).
func (c *Client) serveConn(ctx context.Context, conn *websocket.Conn) error {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			_ = conn.Close(websocket.StatusNormalClosure, "helper stopping")
		case <-done:
		}
	}()
	defer func() { close(done); wg.Wait() }()
	for {
		typ, b, err := conn.Read(context.Background())
		if err != nil {
			return err
		}
		if typ != websocket.MessageText {
			continue
		}
		m, err := bridge.Decode(b)
		if err != nil {
			c.log.Warn("bad message from the agent", "err", err)
			continue
		}
		switch m.Type {
		case bridge.TypeJob:
			if m.Kind == bridge.KindDisplay {
				c.frameMu.Lock()
				c.frame = &m
				c.frameMu.Unlock()
				select {
				case c.frameReady <- struct{}{}:
				default:
				}
				continue
			}
			select {
			case c.jobs <- m:
			case <-ctx.Done():
				return ctx.Err()
			}
		case bridge.TypeAck, bridge.TypeNack, bridge.TypeError, bridge.TypePong:
			if m.Ref != "" {
				c.answer(m.Ref, result{m: m})
			} else if m.Type == bridge.TypeError {
				c.log.Warn("agent reported an error", "error", m.Error)
			}
		case bridge.TypePing:
			if err := c.write(conn, bridge.Message{Type: bridge.TypePong, Ref: m.ID}); err != nil {
				return err
			}
		}
	}
}

// dropConn forgets conn (if current), closes it, and fails its requests.
func (c *Client) dropConn(conn *websocket.Conn, code websocket.StatusCode, reason string) {
	c.mu.Lock()
	if c.conn == conn {
		c.conn, c.session = nil, ""
	}
	pend := c.pending
	c.pending = map[string]chan result{}
	c.mu.Unlock()
	for _, ch := range pend {
		ch <- result{err: ErrNotConnected}
	}
	_ = conn.Close(code, reason)
}

func (c *Client) answer(ref string, r result) {
	c.mu.Lock()
	ch := c.pending[ref]
	delete(c.pending, ref)
	c.mu.Unlock()
	if ch != nil {
		ch <- r // buffered 1, sent once
	}
}

// request sends m with a fresh id and waits for the answer.
func (c *Client) request(ctx context.Context, m bridge.Message) error {
	m.ID = strconv.FormatUint(c.seq.Add(1), 10)
	ch := make(chan result, 1)
	c.mu.Lock()
	conn := c.conn
	if conn == nil {
		c.mu.Unlock()
		return fmt.Errorf("bridgeclient: %s: %w", m.Type, ErrNotConnected)
	}
	c.pending[m.ID] = ch
	c.mu.Unlock()
	if err := c.write(conn, m); err != nil {
		c.answer(m.ID, result{})
		return fmt.Errorf("bridgeclient: %s: %w (%w)", m.Type, ErrNotConnected, err)
	}
	select {
	case r := <-ch:
		switch {
		case r.err != nil:
			return fmt.Errorf("bridgeclient: %s: %w", m.Type, r.err)
		case r.m.Type == bridge.TypeAck:
			return nil
		default:
			return fmt.Errorf("bridgeclient: %s: %w: %s", m.Type, ErrRefused, r.m.Error)
		}
	case <-ctx.Done():
		c.answer(m.ID, result{})
		return fmt.Errorf("bridgeclient: %s: %w", m.Type, ctx.Err())
	}
}

// Scan posts a scanned code and waits until the agent accepted it (ack).
// A nack (the agent refused it) wraps ErrRefused. Run must be running to
// receive the answer. Scans are not queued while disconnected: a code is
// only useful while the customer is at the counter.
func (c *Client) Scan(ctx context.Context, code string) error {
	return c.ScanSymbology(ctx, code, "")
}

// ScanSymbology is Scan with the AIM symbology identifier ("]Q1").
func (c *Client) ScanSymbology(ctx context.Context, code, symbology string) error {
	return c.request(ctx, bridge.Message{Type: bridge.TypeScan, Code: code, Symbology: symbology})
}

// ReportState tells the agent the state of the helper's devices and waits
// for the ack. The report is remembered and sent again after a reconnect,
// so a report made while disconnected (ErrNotConnected) still arrives.
func (c *Client) ReportState(ctx context.Context, devices ...bridge.DeviceState) error {
	c.mu.Lock()
	c.state = append([]bridge.DeviceState(nil), devices...)
	c.haveState = true
	c.mu.Unlock()
	return c.request(ctx, bridge.Message{Type: bridge.TypeState, Devices: devices})
}

func (c *Client) resendState(conn *websocket.Conn) {
	c.mu.Lock()
	st, ok := c.state, c.haveState
	c.mu.Unlock()
	if !ok {
		return
	}
	m := bridge.Message{Type: bridge.TypeState, ID: "r" + strconv.FormatUint(c.seq.Add(1), 10), Devices: st}
	if err := c.write(conn, m); err != nil {
		c.log.Warn("re-sending device state failed", "err", err)
	}
}

// printWorker handles print jobs one at a time. A job whose id is in the
// acked store was printed before (its ack was lost): it is acknowledged
// again and not printed.
func (c *Client) printWorker(ctx context.Context) {
	for {
		var m bridge.Message
		select {
		case <-ctx.Done():
			return
		case m = <-c.jobs:
		}
		if c.cfg.acked.Has(m.JobID) {
			c.log.Info("job already printed; acknowledging again", "job_id", m.JobID)
			c.reply(m.JobID, nil)
			continue
		}
		var err error
		if c.cfg.onPrint == nil {
			err = errors.New("this helper has no printer")
		} else {
			err = c.cfg.onPrint(ctx, jobOf(m))
		}
		if err == nil {
			if aerr := c.cfg.acked.Add(m.JobID); aerr != nil {
				c.log.Warn("could not remember a printed job", "job_id", m.JobID, "err", aerr)
			}
		}
		c.reply(m.JobID, err)
	}
}

// displayWorker shows the latest frame whenever one arrives.
func (c *Client) displayWorker(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.frameReady:
		}
		c.frameMu.Lock()
		m := c.frame
		c.frame = nil
		c.frameMu.Unlock()
		if m == nil {
			continue
		}
		var err error
		if c.cfg.onDisplay == nil {
			err = errors.New("this helper has no display")
		} else {
			err = c.cfg.onDisplay(ctx, jobOf(*m))
		}
		c.reply(m.JobID, err)
	}
}

// reply acks or nacks a job on the current connection. When there is none,
// the answer is lost; the agent sends the job again and the acked store
// answers it.
func (c *Client) reply(jobID string, err error) {
	m := bridge.Message{Type: bridge.TypeAck, JobID: jobID}
	if err != nil {
		m = bridge.Message{Type: bridge.TypeNack, JobID: jobID, Error: bridge.CleanText(err.Error(), 1000)}
	}
	if serr := c.send(m); serr != nil {
		c.log.Warn("answer to a job not sent", "job_id", jobID, "type", m.Type, "err", serr)
	}
}

func jobOf(m bridge.Message) Job {
	return Job{ID: m.JobID, Kind: m.Kind, Format: m.Format, Data: m.Data, WidthDots: m.WidthDots}
}
