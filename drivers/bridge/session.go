package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/posagent/posagent/paycode"
)

// session is one helper connection after a valid hello.
type session struct {
	h       *Hub
	conn    *websocket.Conn
	id      string
	device  string
	helper  string
	version int
	since   time.Time

	ctx    context.Context // ends when the session is being closed
	cancel context.CancelFunc

	stopOnce    sync.Once
	closeCode   websocket.StatusCode // set once, before cancel
	closeReason string

	scans    chan Message  // read loop -> scan worker; closed by the read loop
	welcomed chan struct{} // closed once welcome is written; jobs wait for it

	// frameMu guards frame; frameReady (cap 1) says a frame is waiting.
	frameMu    sync.Mutex
	frame      *Message
	frameReady chan struct{}

	// devices is the last state report; guarded by h.mu.
	devices []DeviceState
}

func (h *Hub) newSession(conn *websocket.Conn, hello Message) *session {
	s := &session{
		h: h, conn: conn,
		id: newSessionID(), device: hello.Device, helper: hello.Helper, version: hello.Version,
		since:      h.o.Clock(),
		scans:      make(chan Message, h.o.ScanQueue),
		welcomed:   make(chan struct{}),
		frameReady: make(chan struct{}, 1),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// status is a snapshot; the caller holds h.mu.
func (s *session) status() HelperStatus {
	return HelperStatus{
		Connected: true, Session: s.id, Device: s.device, Helper: s.helper,
		Version: s.version, Since: s.since, Devices: append([]DeviceState(nil), s.devices...),
	}
}

// stop closes the session with a close code and reason (first call wins).
func (s *session) stop(code websocket.StatusCode, reason string) {
	s.stopOnce.Do(func() {
		s.closeCode, s.closeReason = code, reason
		s.cancel()
	})
}

// send writes one message. The write has its own timeout, never the
// caller's context: a cancelled write would tear the connection down.
func (s *session) send(m Message) error {
	b, err := Encode(m)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.h.o.WriteTimeout)
	defer cancel()
	return s.conn.Write(ctx, websocket.MessageText, b)
}

func (s *session) offerFrame(m *Message) {
	s.frameMu.Lock()
	s.frame = m
	s.frameMu.Unlock()
	select {
	case s.frameReady <- struct{}{}:
	default:
	}
}

// run makes s the current session, says welcome (jobs wait for it: welcome
// is always the first message a helper receives), serves the session until
// the connection ends, then cleans up.
func (s *session) run() {
	h := s.h
	if !h.attach(s) {
		_ = s.conn.Close(websocket.StatusGoingAway, "agent stopping")
		return
	}
	if err := s.send(Message{
		Type: TypeWelcome, Version: s.version, Session: s.id, Server: h.o.Server,
		PingMillis: int(h.o.PingInterval / time.Millisecond),
	}); err != nil {
		s.stop(websocket.StatusInternalError, "")
		s.conn.CloseNow()
		h.detach(s, "welcome not sent: "+err.Error())
		return
	}
	close(s.welcomed)
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); s.closer() }()
	go func() { defer wg.Done(); s.pinger() }()
	go func() { defer wg.Done(); s.scanWorker() }()
	go func() { defer wg.Done(); s.frameWriter() }()

	err := s.readLoop()
	close(s.scans)
	h.detach(s, s.endReason(err))
	s.stop(websocket.StatusNormalClosure, "")
	wg.Wait()
}

// endReason says why a session ended, from the error that ended readLoop
// (never nil): the hub's own reason when the hub stopped the session (a
// new token, a newer connection, the agent stopping), "closed by the
// helper" when the helper closed cleanly, else the error.
func (s *session) endReason(err error) string {
	// stop writes closeReason before it cancels ctx: once ctx.Err() is
	// set, closeReason is the first stop's.
	if s.ctx.Err() != nil && s.closeReason != "" {
		return s.closeReason
	}
	var ce websocket.CloseError
	if errors.As(err, &ce) && (ce.Code == websocket.StatusNormalClosure || ce.Code == websocket.StatusGoingAway) {
		if ce.Reason == "" {
			return "closed by the helper"
		}
		return "closed by the helper: " + CleanText(ce.Reason, maxErrorLen)
	}
	return err.Error()
}

// closer performs the close handshake once the session is stopped.
func (s *session) closer() {
	<-s.ctx.Done()
	_ = s.conn.Close(s.closeCode, s.closeReason)
}

// pinger sends WebSocket pings; an unanswered ping closes the connection,
// which ends readLoop.
func (s *session) pinger() {
	t := time.NewTicker(s.h.o.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.h.o.PingTimeout)
		err := s.conn.Ping(ctx)
		cancel()
		if err != nil {
			if s.ctx.Err() == nil {
				s.h.log.Warn("helper did not answer ping; dropping it", "session", s.id, "err", err)
				// A pong timeout leaves the connection open: close it so
				// readLoop ends and waiting jobs fail now.
				_ = s.conn.CloseNow()
			}
			return
		}
	}
}

// frameWriter sends the latest display frame whenever one is offered.
func (s *session) frameWriter() {
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.frameReady:
		}
		s.frameMu.Lock()
		m := s.frame
		s.frame = nil
		s.frameMu.Unlock()
		if m == nil {
			continue
		}
		if err := s.send(*m); err != nil {
			return
		}
	}
}

// scanWorker hands scans to OnScan one at a time, in order, and answers each.
func (s *session) scanWorker() {
	h := s.h
	for m := range s.scans {
		sc := Scan{Code: m.Code, Symbology: m.Symbology, Device: "bridge:" + s.device, At: h.o.Clock()}
		h.log.Info("scan from helper", "session", s.id, "code", paycode.Mask(m.Code), "symbology", m.Symbology)
		var err error
		if h.o.OnScan == nil {
			err = errors.New("this agent takes no scans from the bridge")
		} else {
			err = h.o.OnScan(h.base, sc)
		}
		answer := Message{Type: TypeAck, Ref: m.ID}
		if err != nil {
			answer = Message{Type: TypeNack, Ref: m.ID, Error: CleanText(err.Error(), maxErrorLen)}
		}
		_ = s.send(answer) // a dead connection shows in readLoop
	}
}

// readLoop reads and dispatches messages until the connection fails.
func (s *session) readLoop() error {
	h := s.h
	for {
		typ, b, err := s.conn.Read(context.Background())
		if err != nil {
			return err
		}
		if typ != websocket.MessageText {
			if err := s.send(Message{Type: TypeError, Error: "binary messages are not part of the protocol"}); err != nil {
				return err
			}
			continue
		}
		m, err := Decode(b)
		if err != nil {
			h.log.Warn("bad message from helper", "session", s.id, "err", err)
			ref := m.ID
			if checkText(ref, maxIDLen, false) != nil {
				ref = ""
			}
			if err := s.send(Message{Type: TypeError, Ref: ref, Error: CleanText(err.Error(), maxErrorLen)}); err != nil {
				return err
			}
			continue
		}
		if err := s.dispatch(m); err != nil {
			return err
		}
	}
}

// dispatch handles one valid message; only a failed write is an error.
func (s *session) dispatch(m Message) error {
	h := s.h
	switch m.Type {
	case TypeScan:
		select {
		case s.scans <- m:
			return nil
		default:
			return s.send(Message{Type: TypeNack, Ref: m.ID, Error: "too many scans waiting; try again"})
		}
	case TypeState:
		h.mu.Lock()
		s.devices = append([]DeviceState(nil), m.Devices...)
		cur := h.cur == s
		st := s.status()
		h.mu.Unlock()
		if cur && h.o.OnState != nil {
			h.o.OnState(st)
		}
		if m.ID != "" {
			return s.send(Message{Type: TypeAck, Ref: m.ID})
		}
		return nil
	case TypeAck, TypeNack:
		if m.JobID == "" {
			return nil // an answer to a request the agent never makes in v1
		}
		if strings.HasPrefix(m.JobID, displayJobPrefix) { // frames are not waited for
			if m.Type == TypeNack {
				h.log.Warn("helper could not show a display frame", "session", s.id, "job_id", m.JobID, "error", m.Error)
			}
			return nil
		}
		var err error
		if m.Type == TypeNack {
			err = &NackError{JobID: m.JobID, Message: m.Error}
		}
		if !h.resolve(m.JobID, err) {
			h.log.Debug("answer for a job nobody waits for", "session", s.id, "job_id", m.JobID, "type", m.Type)
		}
		return nil
	case TypePing:
		return s.send(Message{Type: TypePong, Ref: m.ID})
	case TypePong:
		return nil
	default: // hello, welcome, job, error: not expected from a helper here
		return s.send(Message{Type: TypeError, Ref: m.ID, Error: fmt.Sprintf("unexpected %q from a helper", m.Type)})
	}
}
