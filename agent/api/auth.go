package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Role is what a credential of the local API may do (Access.Tokens).
type Role string

// The roles of the local API (docs/api.md "Security").
const (
	// RolePOS takes payments, cancels them, sets the cart, prints
	// receipts and reads; it refunds alone only up to Access.ApprovalAbove.
	RolePOS Role = "pos"
	// RoleManager refunds, resolves in-doubt payments, exports, reads the
	// audit trail and the journal backup, and may do what pos does.
	RoleManager Role = "manager"
	// RoleDisplay reads the customer display page, its screen and the
	// event stream; the only token accepted in a URL (?token=).
	RoleDisplay Role = "display"
	// RoleBridge is the Android helper: it posts scans.
	RoleBridge Role = "bridge"
	// RoleMetrics scrapes /metrics.
	RoleMetrics Role = "metrics"
)

// Roles lists every role, in the order the docs give them.
var Roles = []Role{RolePOS, RoleManager, RoleDisplay, RoleBridge, RoleMetrics}

// roleSet is a set of roles as bits.
type roleSet uint8

func setOf(rs ...Role) roleSet {
	var s roleSet
	for _, r := range rs {
		for i, x := range Roles {
			if x == r {
				s |= 1 << i
			}
		}
	}
	return s
}

func (s roleSet) has(r Role) bool { return s&setOf(r) != 0 }

// only reports whether s holds r and nothing else.
func (s roleSet) only(r Role) bool { return s == setOf(r) }

var allRoles = setOf(Roles...)

// Operator is a cashier or a manager (config operators:). Payments and
// refunds record the operator who asked, and send GatewayID as OTTPay's
// operator_id.
type Operator struct {
	ID   string
	Name string
	Role string // cashier | manager
	// PINHash is a bcrypt ($2a$, $2b$, $2y$) or argon2id
	// ($argon2id$v=19$m=..,t=..,p=..$salt$hash) hash of the operator's PIN;
	// "" when the operator has none. A plaintext PIN is never kept.
	PINHash string
	// GatewayID is the OTTPay operator_id for this operator; "" uses the
	// gateway's configured one.
	GatewayID string
}

// Access says who may use the local API and how (Options.Access). The
// zero value is the open loopback API of a box beside the POS: no tokens,
// every loopback caller has every role, and still no browser can reach it
// (Host, Origin and Content-Type are checked whatever the credentials).
type Access struct {
	// Tokens holds each role's secret; a role without one cannot be used
	// with a token. With no token at all (and no Options.APIToken) the API
	// is open to loopback and Unix-socket callers only.
	Tokens map[Role]string
	// AllowedHosts are further names the Host header may carry (beside
	// loopback names, IP literals and the listen host).
	AllowedHosts []string
	// ListenHost is the host part of the listen address.
	ListenHost string
	// AllowedOrigins are the web origins ("https://pos.example.com") whose
	// pages may call the API (CORS); they must send a token.
	AllowedOrigins []string
	// SocketUIDs may connect over the Unix socket (SO_PEERCRED); empty:
	// only the agent's own uid.
	SocketUIDs []int

	// Operators are the cashiers and managers; DefaultOperator is recorded
	// when a request names none.
	Operators       []Operator
	DefaultOperator string
	// Approval on: a refund of more than ApprovalAbove cents (0: every
	// refund) needs a manager's PIN in the request, whoever asks. Off: no
	// PIN is asked of the manager role, and a pos credential cannot refund
	// without one.
	Approval      bool
	ApprovalAbove int64
	// UnapprovedPerShift bounds what the open shift refunds in all without
	// a manager's approval, whoever asks (0: no such bound).
	UnapprovedPerShift int64
	// PINAttempts wrong PINs in a row lock the operator for PINLockout (5,
	// 5 min); the count and the lock-out are kept in the journal.
	PINAttempts int
	PINLockout  time.Duration
	// AuthFailures failed authentications from one client within AuthBlock
	// block it for AuthBlock (10, 1 min).
	AuthFailures int
	AuthBlock    time.Duration
	// MaxStreams bounds concurrent event streams in total, and
	// MaxStreamsPerRole per role (64, 16); beyond, 503 with Retry-After.
	MaxStreams        int
	MaxStreamsPerRole int
	// StreamIdle closes an event stream that carried no event for this
	// long (10 min); the client reconnects. Pings do not count.
	StreamIdle time.Duration
	// BodyTimeout bounds reading a request body (10 s).
	BodyTimeout time.Duration
	// WriteTimeout bounds each write of a long answer (an event, an export
	// or backup chunk) (10 s): a client that stops reading is dropped.
	WriteTimeout time.Duration
	// TLSFingerprint is the SHA-256 fingerprint of the API's certificate
	// ("" without TLS), shown by /v1/status.
	TLSFingerprint string
	// Socket is the Unix socket path ("" without one), shown by /v1/status.
	Socket string
}

func (a *Access) setDefaults() {
	if a.PINAttempts <= 0 {
		a.PINAttempts = 5
	}
	if a.PINLockout <= 0 {
		a.PINLockout = 5 * time.Minute
	}
	if a.AuthFailures <= 0 {
		a.AuthFailures = 10
	}
	if a.AuthBlock <= 0 {
		a.AuthBlock = time.Minute
	}
	if a.MaxStreams <= 0 {
		a.MaxStreams = 64
	}
	if a.MaxStreamsPerRole <= 0 {
		a.MaxStreamsPerRole = 16
	}
	if a.StreamIdle <= 0 {
		a.StreamIdle = 10 * time.Minute
	}
	if a.WriteTimeout <= 0 {
		a.WriteTimeout = 10 * time.Second
	}
	if a.BodyTimeout <= 0 {
		a.BodyTimeout = 10 * time.Second
	}
}

// credential is one accepted secret, kept as its SHA-256 so that every
// comparison is between equal-length digests in constant time.
type credential struct {
	sum   [32]byte
	roles roleSet
	name  string // the role's name for the audit trail ("pos", "token")
}

// credentials is the set of accepted tokens.
type credentials struct {
	list    []credential
	display *credential // the only one accepted in a URL
}

func newCredentials(legacy string, tokens map[Role]string) *credentials {
	c := &credentials{}
	if legacy != "" {
		// api.token, from before roles: everything but the display's URL.
		c.list = append(c.list, credential{sha256.Sum256([]byte(legacy)), setOf(RolePOS, RoleManager, RoleMetrics, RoleDisplay), "token"})
	}
	for _, r := range Roles {
		if t := tokens[r]; t != "" {
			c.list = append(c.list, credential{sha256.Sum256([]byte(t)), setOf(r), string(r)})
			if r == RoleDisplay {
				d := c.list[len(c.list)-1]
				c.display = &d
			}
		}
	}
	return c
}

func (c *credentials) empty() bool { return len(c.list) == 0 }

// match returns the credential a presented token is, comparing it with
// every credential (no early exit) in constant time.
func (c *credentials) match(token string, inURL bool) (credential, bool) {
	sum := sha256.Sum256([]byte(token))
	if inURL {
		if c.display != nil && subtle.ConstantTimeCompare(sum[:], c.display.sum[:]) == 1 {
			return *c.display, true
		}
		return credential{}, false
	}
	found, idx := 0, 0
	for i := range c.list {
		eq := subtle.ConstantTimeCompare(sum[:], c.list[i].sum[:])
		idx = subtle.ConstantTimeSelect(eq&(1-found), i, idx)
		found |= eq
	}
	if found == 0 {
		return credential{}, false
	}
	return c.list[idx], true
}

// strikes counts failures per key (a client, an operator) and blocks a key
// for a while after too many; mu guards m.
type strikes struct {
	max   int
	block time.Duration
	now   func() time.Duration // monotonic
	mu    sync.Mutex
	m     map[string]*strike
}

type strike struct {
	n     int
	first time.Duration
	until time.Duration
}

// maxStrikeKeys bounds the table: a flood of distinct clients cannot grow it.
const maxStrikeKeys = 4096

func newStrikes(max int, block time.Duration, now func() time.Duration) *strikes {
	return &strikes{max: max, block: block, now: now, m: map[string]*strike{}}
}

// blocked returns how long key stays blocked (0: not blocked).
func (s *strikes) blocked(key string) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.m[key]
	if k == nil {
		return 0
	}
	if left := k.until - s.now(); left > 0 {
		return left
	}
	return 0
}

// fail records a failure; it returns true when key is now blocked. A
// full table makes room by dropping what has expired, then keys that are
// not blocked, the oldest first; blocked keys are never dropped, so that
// filling the table with fresh keys cannot lift a block. When every key is
// blocked, a new key counts as blocked too (what is refused then is a
// wrong credential only: a valid one is never looked up here).
func (s *strikes) fail(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	k := s.m[key]
	if k == nil && len(s.m) >= maxStrikeKeys && !s.makeRoom(now) {
		return true
	}
	if k == nil || (k.until < now && now-k.first > s.block) || (k.until != 0 && k.until <= now) {
		k = &strike{first: now}
		s.m[key] = k
	}
	k.n++
	if k.n >= s.max {
		k.until = now + s.block
		return true
	}
	return false
}

// makeRoom frees one slot or more of a full table; false: every key is blocked.
func (s *strikes) makeRoom(now time.Duration) bool {
	var oldest string
	var first time.Duration
	for k, v := range s.m {
		switch {
		case v.until > now:
			continue // blocked: kept
		case v.until != 0 || now-v.first > s.block:
			delete(s.m, k) // expired
		case oldest == "" || v.first < first:
			oldest, first = k, v.first
		}
	}
	if len(s.m) < maxStrikeKeys {
		return true
	}
	if oldest == "" {
		return false
	}
	delete(s.m, oldest)
	return true
}

// ok forgets key's failures.
func (s *strikes) ok(key string) {
	s.mu.Lock()
	delete(s.m, key)
	s.mu.Unlock()
}

// ErrPINMismatch is a PIN that does not match its hash.
var ErrPINMismatch = errors.New("agent: pin: does not match")

// HashPIN hashes a PIN with bcrypt for operators[].pin_hash.
func HashPIN(pin string) (string, error) {
	if err := CheckPIN(pin); err != nil {
		return "", err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pin), 12)
	if err != nil {
		return "", fmt.Errorf("agent: hash pin: %w", err)
	}
	return string(h), nil
}

// CheckPIN refuses a PIN that is not 4 to 12 digits.
func CheckPIN(pin string) error {
	if len(pin) < 4 || len(pin) > 12 {
		return errors.New("agent: pin: use 4 to 12 digits")
	}
	for _, c := range pin {
		if c < '0' || c > '9' {
			return errors.New("agent: pin: use digits only")
		}
	}
	return nil
}

// ValidPINHash reports whether h is a hash VerifyPIN understands.
func ValidPINHash(h string) bool {
	if strings.HasPrefix(h, "$2") {
		_, err := bcrypt.Cost([]byte(h))
		return err == nil
	}
	_, err := parseArgon2(h)
	return err == nil
}

// VerifyPIN checks pin against a bcrypt or argon2id hash.
func VerifyPIN(hash, pin string) error {
	if strings.HasPrefix(hash, "$2") {
		if err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pin)); err != nil {
			if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
				return ErrPINMismatch
			}
			return fmt.Errorf("agent: pin: %w", err)
		}
		return nil
	}
	a, err := parseArgon2(hash)
	if err != nil {
		return err
	}
	got := argon2.IDKey([]byte(pin), a.salt, a.t, a.m, a.p, uint32(len(a.key)))
	if subtle.ConstantTimeCompare(got, a.key) != 1 {
		return ErrPINMismatch
	}
	return nil
}

type argon2Hash struct {
	m, t      uint32
	p         uint8
	salt, key []byte
}

// parseArgon2 reads the PHC string $argon2id$v=19$m=65536,t=3,p=2$salt$key.
func parseArgon2(h string) (argon2Hash, error) {
	var a argon2Hash
	bad := errors.New("agent: pin hash: not a bcrypt or argon2id hash")
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != "v=19" {
		return a, bad
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return a, bad
		}
		switch k {
		case "m":
			a.m = uint32(n)
		case "t":
			a.t = uint32(n)
		case "p":
			if n > 255 {
				return a, bad
			}
			a.p = uint8(n)
		default:
			return a, bad
		}
	}
	var err error
	if a.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil {
		return a, bad
	}
	if a.key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(a.key) < 16 {
		return a, bad
	}
	if a.m < 8 || a.m > 1<<22 || a.t < 1 || a.t > 16 || a.p < 1 {
		return a, bad
	}
	return a, nil
}

// accessState is the API's access rules in force: SetAccess swaps it
// whole, so a request sees one set of rules from start to end.
type accessState struct {
	a     Access
	creds *credentials
	open  bool // no credentials configured: loopback and socket callers have every role
	// changed is closed when SetAccess replaces these rules: what was
	// opened under them (event streams) checks its credential again.
	changed chan struct{}
}

func newAccessState(a Access, legacy string) *accessState {
	a.setDefaults()
	c := newCredentials(legacy, a.Tokens)
	return &accessState{a: a, creds: c, open: c.empty(), changed: make(chan struct{})}
}

// holds reports whether the caller's credential is still accepted with
// the same roles under these rules.
func (s *accessState) holds(c caller) bool {
	if c.sum == ([32]byte{}) {
		return s.open || c.name == "anonymous"
	}
	for _, cr := range s.creds.list {
		if cr.sum == c.sum && cr.roles == c.roles {
			return true
		}
	}
	return false
}

// accessNow returns the access rules in force.
func (s *Server) accessNow() *accessState { return s.access.Load() }

// SetAccess puts new access rules in force at once (a reload of the
// config): tokens, operators and their PINs, the approval limit, allowed
// hosts and origins, socket users. Requests under way finish under the
// rules they started with. The rate limits (failed authentications, PIN
// lock-out), the stream caps and the listeners stay as they were at start;
// the socket path and TLS fingerprint shown by /v1/status are kept. An
// event stream opened with a credential these rules no longer hold (a
// token removed or changed, a role changed) is closed. SetAccess is called
// by one goroutine at a time (the reloader).
func (s *Server) SetAccess(a Access) {
	old := s.accessNow().a
	a.AuthFailures, a.AuthBlock, a.PINAttempts, a.PINLockout = old.AuthFailures, old.AuthBlock, old.PINAttempts, old.PINLockout
	a.MaxStreams, a.MaxStreamsPerRole, a.BodyTimeout = old.MaxStreams, old.MaxStreamsPerRole, old.BodyTimeout
	a.StreamIdle, a.WriteTimeout, a.TLSFingerprint, a.Socket = old.StreamIdle, old.WriteTimeout, old.TLSFingerprint, old.Socket
	prev := s.access.Swap(newAccessState(a, s.o.Token))
	close(prev.changed) // streams opened with a removed credential end
}
