package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/feed"
	"github.com/posagent/posagent/store"
	"github.com/prometheus/client_golang/prometheus"
)

// feedPart is the journal's feed to the chain's NATS JetStream
// (feed.enabled; docs/feed.md).
type feedPart struct {
	f   *feed.Feed
	nc  *nats.Conn
	eng *agent.Engine
}

func (p *feedPart) Name() string { return "feed" }

func (p *feedPart) Close() error {
	p.nc.Close()
	return nil
}

// FeedConn is how config feed.* reaches the servers.
func FeedConn(cfg *config.Config) feed.Conn {
	f := cfg.Feed
	return feed.Conn{URLs: f.URL, Creds: f.Creds, NkeySeed: f.NkeySeed, User: f.User, Password: f.Password, TLSCA: f.TLSCA,
		Name: fmt.Sprintf("posagent %s/%s/%s", cfg.Merchant.ID, cfg.Merchant.Store, cfg.Gateway.TerminalNo)}
}

// FeedIdentity is the lane the config names, in the feed's subjects.
func FeedIdentity(cfg *config.Config) feed.Identity {
	return feed.Identity{Merchant: cfg.Merchant.ID, Store: cfg.Merchant.Store, Lane: cfg.Gateway.TerminalNo}
}

// newFeed makes the feed (nil when feed.enabled is off). The connection is
// made in the background: a server down at start delays nothing.
func newFeed(cfg *config.Config, st *store.Store, eng *agent.Engine, version string, log *slog.Logger) (*feedPart, error) {
	if !cfg.Feed.Enabled {
		return nil, nil
	}
	p := &feedPart{eng: eng}
	c := FeedConn(cfg)
	c.OnError = func(err error) {
		log.Warn("feed: the NATS server reported an error", "err", err)
		if p.f != nil {
			p.f.ServerError(err)
		}
	}
	nc, err := c.Dial(true)
	if err != nil {
		return nil, err
	}
	f, err := feed.New(feed.StoreJournal{Store: st}, nc, feed.Options{Identity: FeedIdentity(cfg), Stream: cfg.Feed.Stream,
		Agent: version, Window: cfg.Feed.Window, AckTimeout: cfg.Feed.AckTimeout, StuckAfter: cfg.Feed.StuckAfter,
		Log: log.With("part", "feed")})
	if err != nil {
		nc.Close()
		return nil, err
	}
	p.f, p.nc = f, nc
	return p, nil
}

// run publishes until ctx ends, woken by every commit the engine announces.
func (p *feedPart) Run(ctx context.Context) error {
	eng := p.eng
	done := make(chan struct{})
	defer func() { <-done }()
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			events, stop := eng.Subscribe(eng.LastSeq())
			kick(ctx, events, p.f.Kick)
			stop()
			p.f.Kick() // dropped for falling behind: the feed reads the journal anyway
			select {
			case <-ctx.Done():
			case <-eng.Done():
				return // the engine stopped: no more commits
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return p.f.Run(ctx)
}

// kick calls fn for each event until events closes or ctx ends.
func kick(ctx context.Context, events <-chan agent.Event, fn func()) {
	for {
		select {
		case <-ctx.Done():
			return
		case _, ok := <-events:
			if !ok {
				return
			}
			fn()
		}
	}
}

func (p *feedPart) FeedStatus() any                 { return p.f.Status() }
func (p *feedPart) Collector() prometheus.Collector { return p.f.Collector() }
