package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/posagent/posagent/paycode"
)

// Protocol versions this package speaks. A helper announces the range it
// speaks in hello; the agent answers with the highest common version.
const (
	MinVersion = 1
	MaxVersion = 1
)

// Message types. The direction is helper -> agent (H>A), agent -> helper
// (A>H) or both.
const (
	TypeHello   = "hello"   // H>A first message: version, device, helper
	TypeWelcome = "welcome" // A>H answer to hello: version, session, server
	TypeScan    = "scan"    // H>A a code read by an Android-owned scanner
	TypeState   = "state"   // H>A the devices the helper owns and their state
	TypeJob     = "job"     // A>H a print job or a display frame
	TypeAck     = "ack"     // both: job done (job_id) or request accepted (ref)
	TypeNack    = "nack"    // both: job failed (job_id) or request refused (ref), with error
	TypePing    = "ping"    // both: liveness at the application level
	TypePong    = "pong"    // both: answer to ping (ref = the ping's id)
	TypeError   = "error"   // A>H a message could not be understood (ref when known)
)

// Job kinds and formats.
const (
	KindPrint   = "print"
	KindDisplay = "display"

	FormatESCPOS = "escpos"
	FormatPNG    = "png"
)

// Close codes the agent uses when it ends a session (RFC 6455 private range,
// plus 1001 going away when the agent stops). The close reason is a short
// English sentence a technician can read in the helper's log.
const (
	CloseUnsupportedVersion = 4001 // hello asked for versions the agent does not speak
	CloseBadHello           = 4002 // the first message was not a valid hello (or none came in time)
	CloseReplaced           = 4003 // a newer connection of a helper took this one's place
)

// Limits on what a message may carry. Print data is bounded by the
// connection's read limit, not here.
const (
	maxIDLen    = 128  // id, ref, job_id, session
	maxNameLen  = 128  // device, helper, kind, name, state, symbology
	maxErrorLen = 1024 // error text
	maxDevices  = 64   // entries in a state message
)

// ErrUnknownType is returned (wrapped) by Decode for a well-formed message of
// a type this version does not know. The Message is still returned with its
// Type and ID so the receiver can answer with an error and carry on.
var ErrUnknownType = errors.New("unknown message type")

// Message is one protocol message: a JSON object sent as a WebSocket text
// message. Which fields are set depends on Type (see docs/bridge.md); every
// field is omitted from the JSON when empty. Unknown JSON fields are ignored
// so that a newer peer may add fields within the same version.
type Message struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`  // a request's id (scan, state, ping)
	Ref  string `json:"ref,omitempty"` // the id of the request answered (ack, nack, pong, error)

	// hello and welcome
	Version    int    `json:"version,omitempty"`     // hello: highest version the helper speaks; welcome: the chosen one
	MinVersion int    `json:"min_version,omitempty"` // hello: lowest version the helper speaks (default: Version)
	Device     string `json:"device,omitempty"`      // hello: the device model or name ("sunmi-t2")
	Helper     string `json:"helper,omitempty"`      // hello: the helper's name and version
	Session    string `json:"session,omitempty"`     // welcome: the session id
	Server     string `json:"server,omitempty"`      // welcome: the agent's name
	PingMillis int    `json:"ping_ms,omitempty"`     // welcome: how often the agent pings (WebSocket ping frames)

	// scan
	Code      string `json:"code,omitempty"`
	Symbology string `json:"symbology,omitempty"`

	// state
	Devices []DeviceState `json:"devices,omitempty"`

	// job, and ack / nack of a job
	JobID     string `json:"job_id,omitempty"`
	Kind      string `json:"kind,omitempty"`   // print | display
	Format    string `json:"format,omitempty"` // escpos | png
	Data      []byte `json:"data,omitempty"`   // base64 in JSON
	WidthDots int    `json:"width_dots,omitempty"`

	// nack, error
	Error string `json:"error,omitempty"`
}

// DeviceState is one device the helper owns, as reported in a state message.
type DeviceState struct {
	Kind  string `json:"kind"`            // printer | scanner | display
	Name  string `json:"name"`            // e.g. "sunmi-inner"
	State string `json:"state"`           // ok | paper_out | cover_open | offline | error | ...
	Error string `json:"error,omitempty"` // detail when State is not ok
}

// Encode returns m as JSON after checking it with Validate, so a peer never
// receives a message Decode would refuse.
func Encode(m Message) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("bridge: encode %s: %w", m.Type, err)
	}
	return b, nil
}

// Decode parses one message and checks it with Validate. It is pure and
// never panics. For a valid message of an unknown type it returns the message
// and an error wrapping ErrUnknownType.
func Decode(b []byte) (Message, error) {
	var m Message
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return m, errors.New("bridge: decode: empty message")
	}
	if b[0] != '{' {
		return m, errors.New("bridge: decode: message is not a JSON object")
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Message{}, fmt.Errorf("bridge: decode: %w", err)
	}
	if err := m.Validate(); err != nil {
		if errors.Is(err, ErrUnknownType) {
			return Message{Type: m.Type, ID: m.ID}, err
		}
		return m, err
	}
	return m, nil
}

// Validate checks the fields a message of its type must (and may) carry.
func (m *Message) Validate() error {
	if m.Type == "" {
		return m.invalid(`missing "type"`)
	}
	if err := m.validateText(); err != nil {
		return err
	}
	switch m.Type {
	case TypeHello:
		return m.validateHello()
	case TypeWelcome:
		if m.Version == 0 || m.Session == "" {
			return m.invalid(`needs "version" and "session"`)
		}
	case TypeScan:
		return m.validateScan()
	case TypeState:
		return m.validateState()
	case TypeJob:
		return m.validateJob()
	case TypeAck:
		return m.validateRef()
	case TypeNack:
		if err := m.validateRef(); err != nil {
			return err
		}
		return m.validateError()
	case TypePing, TypePong:
	case TypeError:
		return m.validateError()
	default:
		return fmt.Errorf("bridge: decode: %w %q", ErrUnknownType, clip(m.Type, 32))
	}
	return nil
}

// invalid is the error of an invalid message, named by its type.
func (m *Message) invalid(format string, args ...any) error {
	t := m.Type
	if t == "" {
		t = "message"
	}
	return fmt.Errorf("bridge: invalid %s: %s", t, fmt.Sprintf(format, args...))
}

// validateText checks the fields of every type: text lengths and
// characters, numbers not negative.
func (m *Message) validateText() error {
	for _, f := range []struct{ name, v string }{
		{"id", m.ID}, {"ref", m.Ref}, {"job_id", m.JobID}, {"session", m.Session},
	} {
		if err := checkText(f.v, maxIDLen, false); err != nil {
			return m.invalid("%s %v", f.name, err)
		}
	}
	for _, f := range []struct{ name, v string }{
		{"device", m.Device}, {"helper", m.Helper}, {"server", m.Server},
		{"symbology", m.Symbology}, {"kind", m.Kind}, {"format", m.Format},
	} {
		if err := checkText(f.v, maxNameLen, false); err != nil {
			return m.invalid("%s %v", f.name, err)
		}
	}
	if err := checkText(m.Error, maxErrorLen, true); err != nil {
		return m.invalid("error %v", err)
	}
	if m.Version < 0 || m.MinVersion < 0 || m.WidthDots < 0 || m.PingMillis < 0 {
		return m.invalid("negative number")
	}
	return nil
}

func (m *Message) validateHello() error {
	switch {
	case m.Version == 0:
		return m.invalid(`missing "version"`)
	case m.MinVersion > m.Version:
		return m.invalid("min_version %d above version %d", m.MinVersion, m.Version)
	case m.Device == "":
		return m.invalid(`missing "device"`)
	}
	return nil
}

func (m *Message) validateScan() error {
	if m.ID == "" {
		return m.invalid(`missing "id"`)
	}
	if m.Code == "" {
		return m.invalid(`missing "code"`)
	}
	if err := paycode.CheckInput(m.Code); err != nil { // the agent's one rule for scanned codes
		return m.invalid("code %v", err)
	}
	return nil
}

func (m *Message) validateState() error {
	if len(m.Devices) > maxDevices {
		return m.invalid("%d devices, at most %d", len(m.Devices), maxDevices)
	}
	for i, d := range m.Devices {
		if d.Kind == "" || d.Name == "" || d.State == "" {
			return m.invalid(`device %d needs "kind", "name" and "state"`, i)
		}
		for _, v := range []string{d.Kind, d.Name, d.State} {
			if err := checkText(v, maxNameLen, false); err != nil {
				return m.invalid("device %d: %v", i, err)
			}
		}
		if err := checkText(d.Error, maxErrorLen, true); err != nil {
			return m.invalid("device %d error: %v", i, err)
		}
	}
	return nil
}

func (m *Message) validateJob() error {
	switch {
	case m.JobID == "":
		return m.invalid(`missing "job_id"`)
	case m.Kind != KindPrint && m.Kind != KindDisplay:
		return m.invalid(`kind %q, want "print" or "display"`, m.Kind)
	case m.Format != FormatESCPOS && m.Format != FormatPNG:
		return m.invalid(`format %q, want "escpos" or "png"`, m.Format)
	case m.Kind == KindDisplay && m.Format != FormatPNG:
		return m.invalid(`a display frame must be "png"`)
	case len(m.Data) == 0:
		return m.invalid(`missing "data"`)
	}
	return nil
}

// validateRef checks that an ack or nack says what it answers.
func (m *Message) validateRef() error {
	if m.JobID == "" && m.Ref == "" {
		return m.invalid(`needs "job_id" (a job) or "ref" (a request)`)
	}
	return nil
}

// validateError checks that a nack or error says what went wrong.
func (m *Message) validateError() error {
	if m.Error == "" {
		return m.invalid(`missing "error"`)
	}
	return nil
}

// checkText refuses invalid UTF-8, over-long values and (unless multiline)
// control characters.
func checkText(s string, max int, multiline bool) error {
	if len(s) > max {
		return fmt.Errorf("is %d bytes, at most %d", len(s), max)
	}
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8")
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			if multiline && (r == '\n' || r == '\r' || r == '\t') {
				continue
			}
			return fmt.Errorf("contains control character %U", r)
		}
	}
	return nil
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// Negotiate picks the protocol version for a hello: the highest version in
// both the helper's [min, max] range and this package's. ok is false when the
// ranges do not meet.
func Negotiate(helperMin, helperMax int) (version int, ok bool) {
	if helperMin == 0 {
		helperMin = helperMax
	}
	v := min(helperMax, MaxVersion)
	if v < max(helperMin, MinVersion) {
		return 0, false
	}
	return v, true
}

// CleanText makes s safe for a free-text field (error): valid UTF-8, control
// characters other than tab and newline turned into spaces, at most n bytes
// (cut on a rune boundary). Use it on error strings before sending them.
func CleanText(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > n {
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		s = s[:n]
	}
	return s
}
