package config

import (
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Feed streams every journal event to the chain's NATS JetStream
// (docs/feed.md). Off by default.
type Feed struct {
	Enabled bool `key:"enabled"`
	// URL lists the NATS servers: nats://host:4222, tls://host:4222 (a
	// store's leaf node or the head office's cluster).
	URL []string `key:"url"`
	// Stream is the JetStream stream the lane's subjects belong to (the
	// head office or the store's leaf node creates it).
	Stream string `key:"stream"`
	// Credentials, at most one kind: a .creds file (JWT and nkey), an
	// nkey seed (SU...), or a user and password.
	Creds    string `key:"creds"`
	NkeySeed string `key:"nkey_seed" secret:"true"`
	User     string `key:"user"`
	Password string `key:"password" secret:"true"`
	// TLSCA is a PEM file of the CAs the server's certificate is checked
	// against ("" the system's).
	TLSCA string `key:"tls_ca"`
	// Window bounds the publishes awaiting their acknowledgement.
	Window int `key:"window"`
	// AckTimeout is how long a publish waits for its acknowledgement.
	AckTimeout time.Duration `key:"ack_timeout"`
	// StuckAfter: the feed reports itself stuck (status, doctor) when
	// events have waited this long.
	StuckAfter time.Duration `key:"stuck_after"`
}

// subjectTokenRe is what a NATS subject token and a stream name may hold
// here: no dots, wildcards or spaces.
var subjectTokenRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func (c *Config) validateFeed(v *validator) {
	f := c.Feed
	for key, val := range map[string]string{"merchant.id": c.Merchant.ID, "merchant.store": c.Merchant.Store} {
		if val != "" && !subjectTokenRe.MatchString(val) {
			v.add(key, "%s %q: use 1-64 letters, digits, '-' or '_' (it is part of the feed's NATS subjects: no dots, spaces, '*' or '>')", key, clipValue(val))
		}
	}
	if !f.Enabled {
		return
	}
	if c.Merchant.ID == "" {
		v.add("merchant.id", "feed.enabled needs merchant.id, the chain's name in the feed's subjects (posagent.<merchant.id>.<merchant.store>.<lane>.<kind>), e.g. maple")
	}
	if c.Merchant.Store == "" {
		v.add("merchant.store", "feed.enabled needs merchant.store, the store's name in the feed's subjects, e.g. s012")
	}
	if tn := c.Gateway.TerminalNo; tn != "" && !subjectTokenRe.MatchString(tn) {
		v.add("gateway.terminal_no", "gateway.terminal_no %q names the lane in the feed's subjects: use letters, digits, '-' or '_'", clipValue(tn))
	}
	if len(f.URL) == 0 {
		v.add("feed.url", "feed.enabled needs feed.url: the NATS servers, e.g. [nats://store-leaf.local:4222] or [tls://hq.example.com:4222]")
	}
	for _, u := range f.URL {
		if pu, err := url.Parse(u); err != nil || pu.Host == "" || !oneOfScheme(pu.Scheme) {
			v.add("feed.url", "feed.url %q is not a NATS server URL: use nats://host:4222 or tls://host:4222", clipValue(u))
		}
	}
	if !subjectTokenRe.MatchString(f.Stream) {
		v.add("feed.stream", "feed.stream %q is not a stream name: use 1-64 letters, digits, '-' or '_', e.g. POSAGENT", clipValue(f.Stream))
	}
	kinds := 0
	for _, set := range []bool{f.Creds != "", f.NkeySeed != "", f.User != "" || f.Password != ""} {
		if set {
			kinds++
		}
	}
	if kinds > 1 {
		v.add("feed.creds", "feed: give one kind of credential: feed.creds (a .creds file), feed.nkey_seed, or feed.user with feed.password")
	}
	if f.Password != "" && f.User == "" {
		v.add("feed.user", "feed.password needs feed.user")
	}
	if f.NkeySeed != "" && !strings.HasPrefix(f.NkeySeed, "SU") {
		v.add("feed.nkey_seed", "feed.nkey_seed is not a user nkey seed: it starts with SU (nsc or `nk -gen user` makes one)")
	}
	if f.Window < 1 || f.Window > 4096 {
		v.add("feed.window", "feed.window %d: use between 1 and 4096 publishes in flight (64 is plenty)", f.Window)
	}
	v.positive("feed.ack_timeout", f.AckTimeout)
	v.positive("feed.stuck_after", f.StuckAfter)
}

func oneOfScheme(s string) bool {
	switch s {
	case "nats", "tls", "ws", "wss":
		return true
	}
	return false
}

func clipValue(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
