package feed

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/posagent/posagent/paycode"
)

// Version is the envelope's format version (docs/feed.md). A consumer
// refuses versions it does not know.
const Version = 1

// Identity names a lane: the chain (merchant.id), the store
// (merchant.store) and the lane (gateway.terminal_no).
type Identity struct {
	Merchant string `json:"merchant"`
	Store    string `json:"store"`
	Lane     string `json:"lane"`
}

var tokenRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Check says whether every part is a usable subject token.
func (id Identity) Check() error {
	for name, v := range map[string]string{"merchant": id.Merchant, "store": id.Store, "lane": id.Lane} {
		if !tokenRe.MatchString(v) {
			return fmt.Errorf("feed: lane identity: %s %q is not 1-64 letters, digits, '-' or '_'", name, v)
		}
	}
	return nil
}

// Prefix is the lane's subject prefix, "posagent.<merchant>.<store>.<lane>".
func (id Identity) Prefix() string {
	return "posagent." + id.Merchant + "." + id.Store + "." + id.Lane
}

// Subject is the subject of an event of kind: the prefix and the kind's
// dot-separated words (characters a subject cannot hold become '_').
func (id Identity) Subject(kind string) string {
	return id.Prefix() + "." + kindTokens(kind)
}

func kindTokens(kind string) string {
	if kind == "" {
		return "unknown"
	}
	parts := strings.Split(kind, ".")
	for i, p := range parts {
		p = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
				return r
			}
			return '_'
		}, p)
		if p == "" {
			p = "_"
		}
		parts[i] = p
	}
	return strings.Join(parts, ".")
}

// Envelope is one feed message (docs/feed.md).
type Envelope struct {
	V int `json:"v"`
	Identity
	// Journal is the feed's id (the journal's id, or an epoch of it);
	// Seq the event's sequence in it: together, the message's identity.
	Journal string    `json:"journal"`
	Seq     uint64    `json:"seq"`
	At      time.Time `json:"at"`
	Kind    string    `json:"kind"`
	// Agent is the lane's posagent version.
	Agent string `json:"agent,omitempty"`
	// Digest is "sha256:" and the hex SHA-256 of Event: the same sequence
	// with a different digest is different content.
	Digest string `json:"digest"`
	// Event is the journal event, the same JSON as /v1/events sends.
	Event json.RawMessage `json:"event"`
}

// MsgID is the Nats-Msg-Id of event seq published under feed id.
func MsgID(id string, seq uint64) string { return fmt.Sprintf("%s-%d", id, seq) }

// eventHead is what the envelope reads from an event.
type eventHead struct {
	Kind string    `json:"kind"`
	At   time.Time `json:"at"`
}

// Digest is the content digest of an event's payload.
func Digest(event []byte) string {
	h := sha256.Sum256(event)
	return "sha256:" + hex.EncodeToString(h[:])
}

// Payload is what the feed sends of a journal event: its JSON, compacted,
// with any payment code masked (events hold them masked already; this is
// the second lock). It is pure.
func Payload(event []byte) ([]byte, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(paycode.MaskIn(string(event)))); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Encode builds the envelope of journal event (seq, data) for lane id,
// published under feed id. It is pure.
func Encode(id Identity, feedID, agent string, seq uint64, data []byte) ([]byte, Envelope, error) {
	var h eventHead
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, Envelope{}, fmt.Errorf("feed: event %d is not JSON: %w", seq, err)
	}
	p, err := Payload(data)
	if err != nil {
		return nil, Envelope{}, fmt.Errorf("feed: event %d: %w", seq, err)
	}
	env := Envelope{V: Version, Identity: id, Journal: feedID, Seq: seq, At: h.At.UTC(), Kind: h.Kind, Agent: agent, Digest: Digest(p), Event: p}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // the event's bytes as they are: the digest is of them
	if err := enc.Encode(env); err != nil {
		return nil, Envelope{}, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), env, nil
}

// Errors of Decode.
var (
	ErrNotEnvelope = errors.New("feed: not a feed envelope")
	ErrVersion     = errors.New("feed: envelope version not supported")
)

// Decode reads an envelope and checks it: version, identity, sequence,
// digest. It is pure.
func Decode(b []byte) (Envelope, error) {
	var env Envelope
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&env); err != nil {
		return env, fmt.Errorf("%w: %v", ErrNotEnvelope, err)
	}
	if env.V != Version {
		return env, fmt.Errorf("%w: v %d (this reads %d)", ErrVersion, env.V, Version)
	}
	if err := env.Identity.Check(); err != nil {
		return env, fmt.Errorf("%w: %v", ErrNotEnvelope, err)
	}
	if env.Journal == "" || env.Seq == 0 || len(env.Event) == 0 {
		return env, fmt.Errorf("%w: journal, seq and event are required", ErrNotEnvelope)
	}
	if got := Digest(env.Event); got != env.Digest {
		return env, fmt.Errorf("%w: digest %s does not match the event (%s)", ErrNotEnvelope, env.Digest, got)
	}
	return env, nil
}
