package hq

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StreamConfig is the feed's stream as the head office makes it
// (docs/feed.md): every lane subject, file storage, the duplicate window
// covering a lane's retries, kept until the chain decides (MaxAge 0).
func StreamConfig(name string, replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{Name: name, Subjects: []string{"posagent.>"}, Storage: jetstream.FileStorage,
		Duplicates: 10 * time.Minute, Replicas: max(replicas, 1), Retention: jetstream.LimitsPolicy, Discard: jetstream.DiscardOld}
}

// EnsureStream makes the stream when it does not exist (an existing one is
// left as its operator configured it).
func EnsureStream(ctx context.Context, nc *nats.Conn, cfg jetstream.StreamConfig) error {
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	_, err = js.Stream(ctx, cfg.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, cfg)
	}
	if err != nil {
		return fmt.Errorf("hq: stream %s: %w", cfg.Name, err)
	}
	return nil
}
