package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
)

// The local API's access keys (api.tokens, api.allowed_*, api.socket*,
// api.tls, operators, refunds): their checks and helpers.

var operatorRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// HasTokens reports whether any API credential is configured (api.token
// or a role's token in api.tokens).
func (a API) HasTokens() bool {
	t := a.Tokens
	return a.Token != "" || t.POS != "" || t.Manager != "" || t.Display != "" || t.Bridge != "" || t.Metrics != ""
}

// BridgeToken is the token the Android helper presents: api.tokens.bridge,
// else bridge.token.
func (c *Config) BridgeToken() string {
	if c.API.Tokens.Bridge != "" {
		return c.API.Tokens.Bridge
	}
	return c.Bridge.Token
}

// TLSAuto reports whether api.tls makes its own certificate.
func (a API) TLSAuto() bool { return a.TLS.Cert == "auto" }

// validateAccess checks the API's credentials, origins, hosts, socket and
// TLS keys.
func (c *Config) validateAccess(v *validator) {
	a := c.API
	seen := map[string]string{}
	for _, t := range []struct{ key, val string }{
		{"api.token", a.Token}, {"api.tokens.pos", a.Tokens.POS}, {"api.tokens.manager", a.Tokens.Manager},
		{"api.tokens.display", a.Tokens.Display}, {"api.tokens.bridge", a.Tokens.Bridge}, {"api.tokens.metrics", a.Tokens.Metrics},
	} {
		if t.val == "" {
			continue
		}
		if t.key != "api.token" && len(t.val) < 16 {
			v.add(t.key, "%s is too short (%d characters): use at least 16 random characters, e.g. from `openssl rand -hex 16`", t.key, len(t.val))
		}
		if other, dup := seen[t.val]; dup {
			v.add(t.key, "%s is the same secret as %s: give each role its own token, or the weaker role can do what the stronger one does", t.key, other)
		}
		seen[t.val] = t.key
	}
	if c.Device.Deployment == "on-device" && a.Token == "" && a.Tokens.POS == "" {
		v.add("api.tokens.pos", "device.deployment on-device needs tokens: every app on the terminal can reach loopback; set api.tokens.pos (POSAGENT_API_TOKENS_POS) for the POS app, and api.tokens.manager for refunds")
	}
	for i, o := range a.AllowedOrigins {
		key := fmt.Sprintf("api.allowed_origins[%d]", i)
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || strings.HasSuffix(o, "/") {
			v.add(key, "%s %q is not a web origin: write scheme://host[:port] with no path, like https://pos.example.com", key, o)
		}
	}
	if len(a.AllowedOrigins) > 0 && !a.HasTokens() {
		v.add("api.allowed_origins", "api.allowed_origins lets web pages call the API, which then needs tokens: set api.tokens.pos for the web POS")
	}
	for i, h := range a.AllowedHosts {
		if h == "" || strings.ContainsAny(h, ":/ ") {
			v.add(fmt.Sprintf("api.allowed_hosts[%d]", i), "api.allowed_hosts[%d] %q: write a host name without port or scheme, like pos-lane1.local", i, h)
		}
	}
	if a.Socket != "" && !filepath.IsAbs(a.Socket) {
		v.add("api.socket", "api.socket %q is not an absolute path: use /run/posagent/api.sock", a.Socket)
	}
	if a.Socket == "" && (a.SocketGroup != "" || len(a.SocketUsers) > 0) {
		v.add("api.socket", "api.socket_group and api.socket_users need api.socket: set it, like /run/posagent/api.sock")
	}
	switch {
	case a.TLS.Cert == "auto" && a.TLS.Key != "":
		v.add("api.tls.key", "api.tls.key is set but api.tls.cert is auto (which keeps its own key beside the journal): remove api.tls.key")
	case a.TLS.Cert != "" && a.TLS.Cert != "auto" && a.TLS.Key == "":
		v.add("api.tls.key", "api.tls.cert is a file, so api.tls.key must name its private key file (or use api.tls.cert: auto)")
	case a.TLS.Cert == "" && a.TLS.Key != "":
		v.add("api.tls.cert", "api.tls.key is set without api.tls.cert: set the certificate file, or auto")
	}
}

// validateOperators checks operators, api.default_operator and
// refunds.approval_above (which needs a manager with a PIN).
func (c *Config) validateOperators(v *validator) {
	a := c.API
	managers := 0
	ids := map[string]int{}
	for i, o := range c.Operators {
		k := func(f string) string { return fmt.Sprintf("operators[%d].%s", i, f) }
		if !operatorRe.MatchString(o.ID) {
			v.add(k("id"), "%s %q: use 1 to 32 letters, digits, - or _, like c1 or mei", k("id"), o.ID)
		} else if j, dup := ids[o.ID]; dup {
			v.add(k("id"), "%s %q is also the id of operators[%d]: ids must be unique", k("id"), o.ID, j)
		} else {
			ids[o.ID] = i
		}
		v.oneOf(k("role"), o.Role, "cashier", "manager")
		if o.PINHash != "" && !strings.HasPrefix(o.PINHash, "$2a$") && !strings.HasPrefix(o.PINHash, "$2b$") && !strings.HasPrefix(o.PINHash, "$2y$") && !strings.HasPrefix(o.PINHash, "$argon2id$") {
			v.add(k("pin_hash"), "%s is not a bcrypt or argon2id hash: never write a PIN here; use `posagent operator add` to write the hash", k("pin_hash"))
		}
		if o.OTTPayID != "" && !operatorIDRe.MatchString(o.OTTPayID) {
			v.add(k("ottpay_id"), "%s %q must be the 10-digit operator number OTTPay issued, like \"0000000697\" (quote it in YAML)", k("ottpay_id"), o.OTTPayID)
		}
		if o.Role == "manager" && o.PINHash != "" {
			managers++
		}
	}
	if d := a.DefaultOperator; d != "" {
		if _, ok := ids[d]; !ok {
			v.add("api.default_operator", "api.default_operator %q is not an operators[].id", d)
		}
	}
	if r := c.Refunds.ApprovalAbove; r < -1 {
		v.add("refunds.approval_above", "refunds.approval_above %d: use -1 (no approval), 0 (every refund) or an amount in cents", r)
	} else if r >= 0 && managers == 0 {
		v.add("refunds.approval_above", "refunds.approval_above %d needs a manager who can approve: add an operator with role manager and a PIN (posagent operator add --role manager)", r)
	}
	if r := c.Refunds.UnapprovedPerShift; r < 0 {
		v.add("refunds.unapproved_per_shift", "refunds.unapproved_per_shift %d: use 0 (no limit) or an amount in cents", r)
	} else if r > 0 && managers == 0 {
		v.add("refunds.unapproved_per_shift", "refunds.unapproved_per_shift %d needs a manager who can approve: add an operator with role manager and a PIN (posagent operator add --role manager)", r)
	}
}
