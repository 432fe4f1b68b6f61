package hq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Consumer feeds the books from a durable JetStream consumer.
type Consumer struct {
	Books   *Books
	Conn    *nats.Conn
	Stream  string // the stream holding the lanes' subjects
	Durable string // the consumer's name (default posagent-hq)
	Batch   int    // messages per transaction (default 256)
	Log     *slog.Logger

	applied, dups, aside atomic.Int64
}

// Counts are what the consumer did since start.
func (c *Consumer) Counts() (applied, duplicates, aside int64) {
	return c.applied.Load(), c.dups.Load(), c.aside.Load()
}

// Run consumes until ctx ends (nil then). Each batch is applied in one
// transaction and acknowledged after it committed: a crash between the two
// redelivers the batch, whose events are then duplicates.
func (c *Consumer) Run(ctx context.Context) error {
	if c.Durable == "" {
		c.Durable = "posagent-hq"
	}
	if c.Batch <= 0 {
		c.Batch = 256
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	js, err := jetstream.New(c.Conn)
	if err != nil {
		return err
	}
	var cons jetstream.Consumer
	for {
		cons, err = js.CreateOrUpdateConsumer(ctx, c.Stream, jetstream.ConsumerConfig{Durable: c.Durable,
			AckPolicy: jetstream.AckAllPolicy, AckWait: 30 * time.Second, MaxAckPending: 4 * c.Batch, FilterSubject: "posagent.>"})
		if err == nil {
			break
		}
		c.Log.Warn("hq: the consumer cannot be made yet; trying again", "stream", c.Stream, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
	for ctx.Err() == nil {
		batch, err := cons.FetchNoWait(c.Batch)
		if err == nil {
			err = c.apply(batch)
		}
		if errors.Is(err, errEmpty) {
			// Nothing waiting: wait for the next message.
			batch, err = cons.Fetch(c.Batch, jetstream.FetchMaxWait(500*time.Millisecond))
			if err == nil {
				err = c.apply(batch)
			}
		}
		if err != nil && !errors.Is(err, errEmpty) && ctx.Err() == nil {
			c.Log.Warn("hq: consuming", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}

var errEmpty = errors.New("no message")

// apply books one fetched batch and acknowledges it (AckAll: the last).
func (c *Consumer) apply(batch jetstream.MessageBatch) error {
	var msgs []Msg
	var last jetstream.Msg
	for m := range batch.Messages() {
		msgs = append(msgs, Msg{Subject: m.Subject(), Data: m.Data()})
		last = m
	}
	if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && len(msgs) == 0 {
		return err
	}
	if len(msgs) == 0 {
		return errEmpty
	}
	res, err := c.Books.Apply(msgs)
	if err != nil {
		return fmt.Errorf("hq: book %d messages: %w", len(msgs), err)
	}
	c.applied.Add(int64(res.Added))
	c.dups.Add(int64(res.Duplicates))
	c.aside.Add(int64(res.Aside))
	return last.Ack()
}
