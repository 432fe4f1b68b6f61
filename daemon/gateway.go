package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/ottsim"
)

// simPart is the OTTPay simulator, in-process on loopback (gateway.url: sim).
type simPart struct {
	sim *ottsim.Sim
	l   net.Listener
}

// newSim listens for the simulator when the config asks for it; nil otherwise.
func newSim(cfg *config.Config, log *slog.Logger) (*simPart, error) {
	if cfg.Gateway.URL != "sim" {
		return nil, nil
	}
	l, err := net.Listen("tcp", cfg.Sim.Listen)
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	sim := ottsim.New(ottsim.Options{
		MerchantID: cfg.Gateway.MerchantID, SignKey: cfg.Gateway.SignKey,
		TimeScale: cfg.Sim.TimeScale, Logger: log.With("part", "sim"),
	})
	s := &simPart{sim: sim, l: l}
	log.Info("OTTPay simulator in-process (no real money)", "url", s.gatewayURL(cfg))
	return s, nil
}

func (s *simPart) Name() string                  { return "sim" }
func (s *simPart) Run(ctx context.Context) error { return s.sim.Run(ctx, s.l) }

// Close closes the listener (Run closes it too; a second close changes
// nothing).
func (s *simPart) Close() error {
	s.l.Close()
	return nil
}

// url is the simulator's base URL; "" with a real gateway.
func (s *simPart) url() string {
	if s == nil {
		return ""
	}
	return "http://" + s.l.Addr().String()
}

// gatewayURL is where gateway calls go: the simulator's, or gateway.url.
func (s *simPart) gatewayURL(cfg *config.Config) string {
	if s == nil {
		return cfg.Gateway.URL
	}
	return s.url() + "/processV2"
}

// newGateway is the OTTPay client for url, with the config's timeout
// (scaled with agent.time_scale against the simulator).
func newGateway(cfg *config.Config, url string, log *slog.Logger) (*gateway.Client, error) {
	hc := gateway.DefaultHTTPClient()
	if cfg.Gateway.Timeout > 0 {
		hc.Timeout = cfg.Gateway.Timeout
	}
	if ts := cfg.Agent.TimeScale; ts > 0 && ts < 1 && cfg.Gateway.URL == "sim" {
		hc.Timeout = time.Duration(float64(hc.Timeout) * ts)
	}
	return gateway.New(gateway.Config{
		URL: url, MerchantID: cfg.Gateway.MerchantID, SignKey: cfg.Gateway.SignKey,
		OperatorID: cfg.Gateway.OperatorID, TerminalNo: cfg.Gateway.TerminalNo,
		HTTPClient: hc, Logger: log.With("part", "gateway"), FeeAllowanceBPS: cfg.Gateway.FeeAllowanceBPS,
		CallbackURL: callbackURL(cfg),
	})
}

// callbackURL is the call_back_url sent with qr orders: gateway.callback_url,
// the public address the shop forwards to the agent. OTTPay requires one,
// so without it the local API's address is sent, which a gateway on the
// internet cannot reach; polling is the source of truth either way.
func callbackURL(cfg *config.Config) string {
	if cfg.Gateway.CallbackURL != "" {
		return cfg.Gateway.CallbackURL
	}
	return "http://" + cfg.API.Listen + "/v1/ottpay/callback"
}

// gatewayZone is gateway.time_zone (UTC when it cannot be loaded, which
// config check refuses).
func gatewayZone(cfg *config.Config) *time.Location {
	loc, err := time.LoadLocation(cfg.Gateway.TimeZone)
	if err != nil || cfg.Gateway.TimeZone == "" {
		return time.UTC
	}
	return loc
}
