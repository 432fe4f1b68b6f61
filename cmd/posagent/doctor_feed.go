package main

import (
	"context"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/daemon"
	"github.com/posagent/posagent/feed"
)

// feed: with feed.enabled, the connection, the stream and the lane's
// permissions (feed.Probe; nothing is stored in the stream).
func (d *doctor) feed(ctx context.Context, cfg *config.Config) {
	if !cfg.Feed.Enabled {
		return
	}
	for _, c := range feed.Probe(ctx, daemon.FeedConn(cfg), daemon.FeedIdentity(cfg), cfg.Feed.Stream, d.opt.timeout) {
		switch c.Level {
		case "ok":
			d.ok(c.Name, "%s", c.Detail)
		case "warn":
			d.warn(c.Name, "%s", c.Detail)
		default:
			d.fail(c.Name, "%s", c.Detail)
		}
	}
}
