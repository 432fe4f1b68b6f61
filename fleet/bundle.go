package fleet

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Format is the bundle and heartbeat format version. A reader refuses
// formats it does not know.
const Format = 1

// Bucket is the JetStream key-value bucket of configuration bundles;
// LanesBucket the one of the lanes' heartbeats and applied versions.
const (
	Bucket      = "POSAGENT_FLEET"
	LanesBucket = "POSAGENT_LANES"
)

// signPrefix separates a bundle's signature from any other use of the key.
const signPrefix = "posagent-fleet-bundle-v1\n"

// MaxBundle bounds an envelope's size: a lane refuses larger ones before
// decoding them.
const MaxBundle = 256 << 10

var tokenRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Target is what a bundle configures: every lane of a store (Lane "") or
// one lane. Merchant is the chain (merchant.id), Store merchant.store, Lane
// the lane's gateway.terminal_no: the same identity as the back-office
// feed's.
type Target struct {
	Merchant string `json:"merchant"`
	Store    string `json:"store"`
	Lane     string `json:"lane,omitempty"`
}

// Check says whether every part is a usable key token.
func (t Target) Check() error {
	parts := []struct{ name, v string }{{"merchant", t.Merchant}, {"store", t.Store}}
	if t.Lane != "" {
		parts = append(parts, struct{ name, v string }{"lane", t.Lane})
	}
	for _, p := range parts {
		if !tokenRe.MatchString(p.v) {
			return fmt.Errorf("fleet: target %s %q is not 1-64 letters, digits, '-' or '_'", p.name, p.v)
		}
	}
	return nil
}

// Key is the target's key in [Bucket]: config.<merchant>.<store> or
// config.<merchant>.<store>.<lane>.
func (t Target) Key() string {
	k := "config." + t.Merchant + "." + t.Store
	if t.Lane != "" {
		k += "." + t.Lane
	}
	return k
}

// StoreLevel says whether the target is a whole store.
func (t Target) StoreLevel() bool { return t.Lane == "" }

// String is "merchant/store" or "merchant/store/lane".
func (t Target) String() string {
	s := t.Merchant + "/" + t.Store
	if t.Lane != "" {
		s += "/" + t.Lane
	}
	return s
}

// Covers says whether a bundle for t applies to lane (a full identity).
func (t Target) Covers(lane Target) bool {
	return t.Merchant == lane.Merchant && t.Store == lane.Store && (t.Lane == "" || t.Lane == lane.Lane)
}

// LaneKey is a lane's key in [LanesBucket]: lane.<merchant>.<store>.<lane>.
func LaneKey(lane Target) string {
	return "lane." + lane.Merchant + "." + lane.Store + "." + lane.Lane
}

// Bundle is one configuration push.
type Bundle struct {
	Format int    `json:"format"`
	Target Target `json:"target"`
	// Version only grows, chain-wide: head office gives each bundle a
	// version higher than every earlier one.
	Version uint64    `json:"version"`
	Issued  time.Time `json:"issued"`
	Expires time.Time `json:"expires"`
	// YAML is the configuration fragment, in the lane's config file syntax.
	YAML string `json:"yaml"`
	// By and Note say who pushed it and why (audit).
	By   string `json:"by,omitempty"`
	Note string `json:"note,omitempty"`
}

// Envelope is a signed bundle as it travels: the exact payload bytes, the
// signing key's id and the signature.
type Envelope struct {
	Payload []byte `json:"payload"`
	KeyID   string `json:"key_id"`
	Sig     []byte `json:"sig"`
}

// Reason is why a lane refuses a bundle (journal event, audit, status).
type Reason string

// The reasons a bundle is refused.
const (
	ReasonMalformed Reason = "malformed"
	ReasonFormat    Reason = "format"
	ReasonSignature Reason = "signature"
	ReasonTarget    Reason = "target"
	ReasonExpired   Reason = "expired"
	ReasonVersion   Reason = "version"
	ReasonConfig    Reason = "config"
	ReasonSecret    Reason = "secret"
)

// Refusal is the error of a refused bundle.
type Refusal struct {
	Reason Reason
	Detail string
}

func (r *Refusal) Error() string {
	return "fleet: bundle refused (" + string(r.Reason) + "): " + r.Detail
}

func refuse(reason Reason, format string, a ...any) error {
	return &Refusal{Reason: reason, Detail: fmt.Sprintf(format, a...)}
}

// ReasonOf is the refusal reason of err ("" when err is not a refusal).
func ReasonOf(err error) Reason {
	var r *Refusal
	if errors.As(err, &r) {
		return r.Reason
	}
	return ""
}

// KeyID names a public key: the first 8 bytes of its SHA-256, in hex.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// Sign encodes and signs b with head office's key. It checks what a lane
// would refuse whatever the key: the target, the format, a zero version
// and an expiry not after the issue time.
func Sign(b Bundle, priv ed25519.PrivateKey) ([]byte, error) {
	if b.Format == 0 {
		b.Format = Format
	}
	if err := b.Target.Check(); err != nil {
		return nil, err
	}
	if b.Version == 0 {
		return nil, errors.New("fleet: a bundle's version starts at 1")
	}
	if !b.Expires.After(b.Issued) {
		return nil, errors.New("fleet: a bundle must expire after it is issued")
	}
	payload, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	env := Envelope{Payload: payload, KeyID: KeyID(priv.Public().(ed25519.PublicKey)),
		Sig: ed25519.Sign(priv, append([]byte(signPrefix), payload...))}
	out, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	if len(out) > MaxBundle {
		return nil, fmt.Errorf("fleet: the bundle is %d bytes, more than %d", len(out), MaxBundle)
	}
	return out, nil
}

// Open verifies a signed bundle for lane (its full identity) at now: size,
// signature, format, target and expiry, in that order; nothing of the
// payload is read before the signature holds. The error is a *Refusal.
func Open(data []byte, pub ed25519.PublicKey, lane Target, now time.Time) (Bundle, error) {
	var b Bundle
	if len(data) > MaxBundle {
		return b, refuse(ReasonMalformed, "%d bytes, more than %d", len(data), MaxBundle)
	}
	var env Envelope
	if err := json.Unmarshal(data, &env); err != nil {
		return b, refuse(ReasonMalformed, "not a signed bundle: %v", err)
	}
	if len(pub) != ed25519.PublicKeySize {
		return b, refuse(ReasonSignature, "no head office key (fleet.public_key)")
	}
	if len(env.Sig) != ed25519.SignatureSize || !ed25519.Verify(pub, append([]byte(signPrefix), env.Payload...), env.Sig) {
		return b, refuse(ReasonSignature, "not signed by head office's key %s (signed by %q)", KeyID(pub), env.KeyID)
	}
	if err := json.Unmarshal(env.Payload, &b); err != nil {
		return Bundle{}, refuse(ReasonMalformed, "payload: %v", err)
	}
	if b.Format != Format {
		return b, refuse(ReasonFormat, "format %d, this lane reads %d", b.Format, Format)
	}
	if !b.Target.Covers(lane) {
		return b, refuse(ReasonTarget, "for %s, this lane is %s", b.Target, lane)
	}
	if !now.Before(b.Expires) {
		return b, refuse(ReasonExpired, "expired at %s", b.Expires.UTC().Format(time.RFC3339))
	}
	return b, nil
}

// CheckVersion refuses a bundle whose version is not above the highest
// version the lane ever applied for its key.
func CheckVersion(b Bundle, highest uint64) error {
	if b.Version <= highest {
		return refuse(ReasonVersion, "version %d is not above %d, the highest applied for %s", b.Version, highest, b.Target.Key())
	}
	return nil
}

// GenerateKey makes head office's key pair.
func GenerateKey() (ed25519.PublicKey, ed25519.PrivateKey, error) {
	return ed25519.GenerateKey(rand.Reader)
}

// pubPrefix marks a public key as written in configuration.
const pubPrefix = "ed25519:"

// FormatPublicKey is the form fleet.public_key takes: "ed25519:" and the
// key in standard base64.
func FormatPublicKey(pub ed25519.PublicKey) string {
	return pubPrefix + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads what [FormatPublicKey] writes.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, pubPrefix) {
		return nil, errors.New(`fleet: a public key is "ed25519:" followed by 44 base64 characters (posagent-hq keygen prints it)`)
	}
	b, err := base64.StdEncoding.DecodeString(s[len(pubPrefix):])
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New(`fleet: a public key is "ed25519:" followed by 44 base64 characters (posagent-hq keygen prints it)`)
	}
	return ed25519.PublicKey(b), nil
}

// MarshalPrivateKey writes head office's private key as a PKCS #8 PEM
// block (a file only head office keeps, mode 0600).
func MarshalPrivateKey(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKey reads what [MarshalPrivateKey] writes.
func ParsePrivateKey(data []byte) (ed25519.PrivateKey, error) {
	blk, _ := pem.Decode(data)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, errors.New("fleet: not a PEM private key (posagent-hq keygen writes one)")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("fleet: private key: %v", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, errors.New("fleet: the private key is not an ed25519 key")
	}
	return priv, nil
}
