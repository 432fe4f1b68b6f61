package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/posagent/posagent/fleet"
)

// Fleet is configuration pushed from head office (docs/fleet.md): signed
// bundles for the lane's store and for the lane itself, watched in the
// chain's NATS JetStream, and the lane's heartbeats. Off by default.
type Fleet struct {
	Enabled bool `key:"enabled"`
	// PublicKey is head office's key ("ed25519:" and base64, as
	// posagent-hq keygen prints it): the lane applies only bundles signed
	// by it.
	PublicKey string `key:"public_key"`
	// LocalOverrides are the keys (or key prefixes such as "printer." or
	// "printer") whose values in the local file win over head office's.
	// Default none: the bundles override the file.
	LocalOverrides []string `key:"local_overrides"`
	// MaintenanceWindow is "HH:MM-HH:MM" in the shop's time zone: a lane
	// with restart-only keys staged restarts itself in it, when no payment
	// is in flight. "" waits for the next restart.
	MaintenanceWindow string `key:"maintenance_window"`
	// The NATS connection. With URL empty, the feed's settings (feed.url,
	// feed.creds, ...) are used.
	URL      []string `key:"url"`
	Creds    string   `key:"creds"`
	NkeySeed string   `key:"nkey_seed" secret:"true"`
	User     string   `key:"user"`
	Password string   `key:"password" secret:"true"`
	TLSCA    string   `key:"tls_ca"`
	// HeartbeatEvery is how often the lane reports (jittered by a tenth).
	HeartbeatEvery time.Duration `key:"heartbeat_every"`
}

// FleetConn is the NATS connection the fleet uses: fleet.url and its
// credentials when fleet.url is set, else the feed's.
func (c *Config) FleetConn() (urls []string, creds, nkeySeed, user, password, tlsCA string) {
	f := c.Fleet
	if len(f.URL) > 0 {
		return f.URL, f.Creds, f.NkeySeed, f.User, f.Password, f.TLSCA
	}
	g := c.Feed
	return g.URL, g.Creds, g.NkeySeed, g.User, g.Password, g.TLSCA
}

// Window is a daily maintenance window in the shop's time zone; it may
// run past midnight (23:00-01:00).
type Window struct {
	From, To int // minutes after midnight
}

// ParseWindow reads "HH:MM-HH:MM" ("" is no window: ok false).
func ParseWindow(s string) (w Window, ok bool, err error) {
	if strings.TrimSpace(s) == "" {
		return w, false, nil
	}
	a, b, cut := strings.Cut(s, "-")
	if !cut {
		return w, false, fmt.Errorf("%q is not HH:MM-HH:MM", s)
	}
	if w.From, err = clockMinutes(a); err == nil {
		w.To, err = clockMinutes(b)
	}
	if err != nil {
		return w, false, fmt.Errorf("%q is not HH:MM-HH:MM: %v", s, err)
	}
	if w.From == w.To {
		return w, false, fmt.Errorf("%q is empty: give a start and a different end", s)
	}
	return w, true, nil
}

func clockMinutes(s string) (int, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%q is not a time like 02:00", strings.TrimSpace(s))
	}
	return t.Hour()*60 + t.Minute(), nil
}

// Contains says whether t (in its own location: the shop's) is in w.
func (w Window) Contains(t time.Time) bool {
	m := t.Hour()*60 + t.Minute()
	if w.From < w.To {
		return m >= w.From && m < w.To
	}
	return m >= w.From || m < w.To
}

// FleetLocalOnly are keys a bundle from head office may not set, besides
// the secrets: what makes the lane this lane (its identity, its journal)
// and the fleet's own trust settings.
var FleetLocalOnly = []string{"fleet.", "store.path", "merchant.id", "merchant.store", "gateway.terminal_no", "device."}

func (c *Config) validateFleet(v *validator) {
	f := c.Fleet
	if _, _, err := ParseWindow(f.MaintenanceWindow); err != nil {
		v.add("fleet.maintenance_window", "fleet.maintenance_window %s: write it in the shop's time zone, e.g. 02:00-04:00", err)
	}
	for _, k := range f.LocalOverrides {
		if !knownKeyOrPrefix(k) {
			v.add("fleet.local_overrides", "fleet.local_overrides %q is not a configuration key or a section (e.g. display.tip_choices or printer)", clipValue(k))
		}
	}
	if f.HeartbeatEvery < 0 || (f.HeartbeatEvery > 0 && f.HeartbeatEvery < 10*time.Millisecond) {
		v.add("fleet.heartbeat_every", "fleet.heartbeat_every %s: use at least 10ms (the default is %s)", fmtDuration(f.HeartbeatEvery), fleet.HeartbeatEvery)
	}
	for _, u := range f.URL {
		if pu, err := url.Parse(u); err != nil || pu.Host == "" || !oneOfScheme(pu.Scheme) {
			v.add("fleet.url", "fleet.url %q is not a NATS server URL: use nats://host:4222 or tls://host:4222", clipValue(u))
		}
	}
	if f.Password != "" && f.User == "" {
		v.add("fleet.user", "fleet.password needs fleet.user")
	}
	if !f.Enabled {
		return
	}
	if _, err := fleet.ParsePublicKey(f.PublicKey); err != nil {
		v.add("fleet.public_key", "fleet.enabled needs fleet.public_key, head office's key: %s", strings.TrimPrefix(err.Error(), "fleet: "))
	}
	for key, val := range map[string]string{"merchant.id": c.Merchant.ID, "merchant.store": c.Merchant.Store, "gateway.terminal_no": c.Gateway.TerminalNo} {
		if val == "" {
			v.add(key, "fleet.enabled needs %s: with the others it names the lane's keys in head office's bucket (config.<merchant.id>.<merchant.store>[.<gateway.terminal_no>])", key)
		}
	}
	if urls, _, _, _, _, _ := c.FleetConn(); len(urls) == 0 {
		v.add("fleet.url", "fleet.enabled needs fleet.url (or feed.url, used when fleet.url is empty): the NATS servers, e.g. [nats://store-leaf.local:4222]")
	}
}

// knownKeyOrPrefix says whether k is a key of the schema or a section
// ("printer", "printer.", "display.pole").
func knownKeyOrPrefix(k string) bool {
	s := newSchema()
	k = strings.TrimSuffix(k, ".")
	_, leaf := s.byPath[k]
	return leaf || s.groups[k]
}

// Overridden says whether key is one the local file keeps (fleet.local_overrides).
func (f Fleet) Overridden(key string) bool {
	for _, p := range f.LocalOverrides {
		p = strings.TrimSuffix(p, ".")
		if key == p || strings.HasPrefix(key, p+".") || strings.HasPrefix(key, p+"[") {
			return true
		}
	}
	return false
}
