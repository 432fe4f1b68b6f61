package hq

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/posagent/posagent/fleet"
)

// VersionKey is the key of [fleet.Bucket] holding the last version given
// to a bundle, chain-wide.
const VersionKey = "meta.version"

// MaxExpiry bounds a bundle's validity: a lane offline longer than this
// catches up with the next push.
const MaxExpiry = 366 * 24 * time.Hour

// Publisher signs and publishes configuration bundles.
type Publisher struct {
	Bundles jetstream.KeyValue // fleet.Bucket
	Key     ed25519.PrivateKey
	// By names who pushes (the audit on the lanes).
	By string
	// Check checks a fragment as a lane would before it is signed
	// (config.CheckFragment: cmd gives it; a Publisher without one
	// publishes nothing).
	Check func(file string, yaml []byte) error
	Now   func() time.Time
}

// Push is one `config set`.
type Push struct {
	Target  fleet.Target
	File    string // the YAML's name in problems
	YAML    []byte
	Expires time.Duration // validity from now
	Note    string
}

// Publish checks the fragment as a lane would (p.Check, which is
// config.CheckFragment: every problem with its line, any secret refused by
// name), gives it a
// version above every version given before, chain-wide, signs it and puts
// it under the target's key. Two publishes at once, from anywhere, get two
// versions; under one key the bundle standing last has the higher one.
func (p *Publisher) Publish(ctx context.Context, push Push) (fleet.Bundle, error) {
	var b fleet.Bundle
	if err := push.Target.Check(); err != nil {
		return b, err
	}
	if push.Expires <= 0 || push.Expires > MaxExpiry {
		return b, fmt.Errorf("hq: a bundle expires after more than 0 and at most %s (--expires %s)", MaxExpiry, push.Expires)
	}
	if p.Check == nil {
		return b, errors.New("hq: a Publisher needs its Check (config.CheckFragment)")
	}
	if err := p.Check(push.File, push.YAML); err != nil {
		return b, err
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	key := push.Target.Key()
	for attempt := 0; ; attempt++ {
		// The version is taken after the key's revision is read: the put
		// below succeeds only when nothing was put since, and everything put
		// before took a lower version.
		rev, err := revision(ctx, p.Bundles, key)
		if err != nil {
			return b, err
		}
		v, err := NextVersion(ctx, p.Bundles)
		if err != nil {
			return b, err
		}
		t := now().UTC().Round(time.Second)
		b = fleet.Bundle{Target: push.Target, Version: v, Issued: t, Expires: t.Add(push.Expires), YAML: string(push.YAML), By: p.By, Note: push.Note}
		data, err := fleet.Sign(b, p.Key)
		if err != nil {
			return b, err
		}
		if rev == 0 {
			_, err = p.Bundles.Create(ctx, key, data)
		} else {
			_, err = p.Bundles.Update(ctx, key, data, rev)
		}
		if err == nil {
			b.Format = fleet.Format
			return b, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) || attempt >= 50 {
			return b, fmt.Errorf("hq: publish %s: %w", key, err)
		}
	}
}

// revision is key's latest revision, 0 when it has none (or was deleted).
func revision(ctx context.Context, kv jetstream.KeyValue, key string) (uint64, error) {
	e, err := kv.Get(ctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("hq: read %s: %w", key, err)
	}
	return e.Revision(), nil
}

// NextVersion takes the next bundle version: the counter under
// [VersionKey] moved up by one with compare-and-set on its revision,
// tried again when another publisher moved it first.
func NextVersion(ctx context.Context, kv jetstream.KeyValue) (uint64, error) {
	for attempt := 0; attempt < 100; attempt++ {
		e, err := kv.Get(ctx, VersionKey)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			if _, err := kv.Create(ctx, VersionKey, []byte("1")); err == nil {
				return 1, nil
			} else if !errors.Is(err, jetstream.ErrKeyExists) {
				return 0, fmt.Errorf("hq: version counter: %w", err)
			}
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("hq: version counter: %w", err)
		}
		last, err := strconv.ParseUint(string(e.Value()), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("hq: the version counter %s holds %q, not a number", VersionKey, e.Value())
		}
		next := last + 1
		_, err = kv.Update(ctx, VersionKey, []byte(strconv.FormatUint(next, 10)), e.Revision())
		if err == nil {
			return next, nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return 0, fmt.Errorf("hq: version counter: %w", err)
		}
	}
	return 0, errors.New("hq: the version counter moved 100 times under this publisher: too many publishers at once")
}

// Show reads what is published for target (ErrNothingPublished when
// nothing).
func Show(ctx context.Context, kv jetstream.KeyValue, target fleet.Target, pub ed25519.PublicKey, now time.Time) (Published, error) {
	if err := target.Check(); err != nil {
		return Published{}, err
	}
	e, err := kv.Get(ctx, target.Key())
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Published{}, fmt.Errorf("%w for %s (key %s)", ErrNothingPublished, target, target.Key())
	}
	if err != nil {
		return Published{}, fmt.Errorf("hq: read %s: %w", target.Key(), err)
	}
	return ReadPublished(e.Key(), e.Value(), pub, now), nil
}

// ErrNothingPublished: no bundle under the key.
var ErrNothingPublished = errors.New("nothing published")
