package daemon

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"

	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/config"
)

// apiFront turns the api.*, operators and refunds keys into the engine's
// Access rules, and listens where the config says: TCP (with TLS when
// api.tls is set) and the Unix socket.
type apiFront struct {
	access api.Access
	tls    *tls.Config // nil: plain HTTP
}

// accessOf turns the config's api.*, operators and refunds keys into the
// engine's Access rules (at start, and on a reload: tokens, operators,
// the approval limit, allowed hosts and origins, socket users apply live).
func accessOf(cfg *config.Config) (api.Access, error) {
	a := cfg.API
	host, _, _ := net.SplitHostPort(a.Listen)
	acc := api.Access{
		Tokens: map[api.Role]string{
			api.RolePOS: a.Tokens.POS, api.RoleManager: a.Tokens.Manager, api.RoleDisplay: a.Tokens.Display,
			api.RoleBridge: cfg.BridgeToken(), api.RoleMetrics: a.Tokens.Metrics,
		},
		AllowedHosts: a.AllowedHosts, AllowedOrigins: a.AllowedOrigins, ListenHost: host,
		DefaultOperator: a.DefaultOperator, Approval: cfg.Refunds.ApprovalAbove >= 0, ApprovalAbove: int64(cfg.Refunds.ApprovalAbove), Socket: a.Socket,
		UnapprovedPerShift: int64(cfg.Refunds.UnapprovedPerShift),
	}
	for _, o := range cfg.Operators {
		acc.Operators = append(acc.Operators, api.Operator{ID: o.ID, Name: o.Name, Role: o.Role, PINHash: o.PINHash, GatewayID: o.OTTPayID})
	}
	if a.Socket != "" {
		uids, err := api.LookupUIDs(a.SocketUsers)
		if err != nil {
			return api.Access{}, err
		}
		acc.SocketUIDs = uids
	}
	return acc, nil
}

func newAPIFront(cfg *config.Config, log *slog.Logger) (*apiFront, error) {
	a := cfg.API
	host, _, _ := net.SplitHostPort(a.Listen)
	acc, err := accessOf(cfg)
	if err != nil {
		return nil, err
	}
	f := &apiFront{access: acc}
	if a.TLS.Cert != "" {
		certPath, keyPath := a.TLS.Cert, a.TLS.Key
		if a.TLSAuto() {
			certPath, keyPath = api.AutoCertPaths(cfg.Store.Path)
		}
		cert, err := api.LoadOrCreateCert(certPath, keyPath, append([]string{host}, a.AllowedHosts...))
		if err != nil {
			return nil, err
		}
		f.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		f.access.TLSFingerprint = api.Fingerprint(cert.Certificate[0])
		log.Info("api: TLS", "certificate", certPath, "sha256", f.access.TLSFingerprint)
	}
	switch {
	case !a.HasTokens():
		log.Warn("api: no tokens: every program on this machine may take payments and refunds (device.deployment beside, loopback only); set api.tokens.* to give each its role")
	case !config.IsLoopback(a.Listen) && f.tls == nil:
		log.Warn("api: plain HTTP on a network address: tokens and payments cross the LAN readable; set api.tls.cert (auto) and pin its fingerprint on the POS", "listen", a.Listen)
	}
	return f, nil
}

// listen opens the API's listeners: TCP first (the address reported), then
// the Unix socket when configured.
func (f *apiFront) listen(cfg *config.Config) ([]net.Listener, error) {
	l, err := net.Listen("tcp", cfg.API.Listen)
	if err != nil {
		return nil, fmt.Errorf("api: listen %s: %w (is another posagent running?)", cfg.API.Listen, err)
	}
	if f.tls != nil {
		l = tls.NewListener(l, f.tls)
	}
	ls := []net.Listener{l}
	if cfg.API.Socket != "" {
		u, err := api.ListenUnix(cfg.API.Socket, cfg.API.SocketGroup)
		if err != nil {
			l.Close()
			return nil, err
		}
		ls = append(ls, u)
	}
	return ls, nil
}

// anyToken is one configured API token ("" none), for api.CheckListen.
func anyToken(cfg *config.Config) string {
	t := cfg.API.Tokens
	for _, s := range []string{cfg.API.Token, t.POS, t.Manager, t.Display, t.Bridge, t.Metrics} {
		if s != "" {
			return s
		}
	}
	return ""
}

// apiPart is the local API: Run listens where the config says (reporting
// the address to Options.Ready) and serves until ctx ends, with timeouts on
// every listener; a stop closes slow and idle connections. A reload puts
// new access rules in force (tokens, operators, the approval limit, allowed
// hosts and origins, socket users).
type apiPart struct {
	front   *apiFront
	srv     *api.Server
	cfg     *config.Config
	log     *slog.Logger
	version string
	simURL  string
	ready   func(Running)
}

func (p *apiPart) Name() string { return "api" }
func (p *apiPart) Close() error { return nil }

func (p *apiPart) Run(ctx context.Context) error {
	ls, err := p.front.listen(p.cfg)
	if err != nil {
		return err
	}
	addr := ls[0].Addr().String()
	p.log.Info("posagent running", "version", p.version, "api", addr, "journal", p.cfg.Store.Path)
	if p.ready != nil {
		scheme := "http"
		if p.front.tls != nil {
			scheme = "https"
		}
		p.ready(Running{API: addr, Scheme: scheme, SimURL: p.simURL})
	}
	return api.Serve(ctx, api.NewServer(p.srv, p.log), ls...)
}

// Prepare builds the API's access rules from the new config; the commit
// puts them in force for the next request.
func (p *apiPart) Prepare(_, next *config.Config) (Commit, error) {
	acc, err := accessOf(next)
	if err != nil {
		return nil, fmt.Errorf("api access: %w", err)
	}
	return func() { p.srv.SetAccess(acc) }, nil
}
