package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"time"
)

// Now is the cursor of Events for "what happens from now on".
const Now = ^uint64(0)

// Reconnection waits of Events: the first, and the longest.
const (
	reconnectMin = 100 * time.Millisecond
	reconnectMax = 5 * time.Second
)

// Events yields the events after sequence number after (0: every event
// the journal keeps; Now: from now on), then each new one as it happens
// (GET /v1/events, Server-Sent Events). It ends when ctx ends or the loop
// breaks.
//
// When the stream breaks (the daemon restarts, the network fails) the
// error is yielded and, if the loop goes on, Events reconnects with
// Last-Event-ID set to the last event it yielded, so that nothing is
// missed or repeated. An answer no retry can change (401, 403, a cursor
// beyond the journal: an *Error with a 4xx status other than 408 and 429)
// is yielded and ends the sequence.
//
// A display token sees the events of a customer screen from now on only.
func (c *Client) Events(ctx context.Context, after uint64) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		cursor := after
		wait := reconnectMin
		for ctx.Err() == nil {
			got, err := c.streamOnce(ctx, &cursor, yield)
			if errors.Is(err, errStop) || ctx.Err() != nil {
				return
			}
			if got {
				wait = reconnectMin
			}
			if err == nil {
				err = io.ErrUnexpectedEOF // the daemon closed the stream (idle, a reload, a stop)
			}
			if !yield(Event{}, fmt.Errorf("client: event stream: %w", err)) || permanent(err) {
				return
			}
			var ae *Error
			pause := wait
			if errors.As(err, &ae) && ae.RetryAfter > 0 {
				pause = ae.RetryAfter
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
			wait = min(2*wait, reconnectMax)
		}
	}
}

// errStop: the loop over Events broke.
var errStop = errors.New("stop")

// permanent reports whether a retry cannot change the answer.
func permanent(err error) bool {
	var ae *Error
	return errors.As(err, &ae) && ae.StatusCode >= 400 && ae.StatusCode < 500 && ae.StatusCode != 408 && ae.StatusCode != 429
}

// streamOnce reads one connection of the stream, advancing *cursor past
// each event yielded. got: at least one event came.
func (c *Client) streamOnce(ctx context.Context, cursor *uint64, yield func(Event, error) bool) (got bool, err error) {
	path := "/v1/events"
	if *cursor != Now {
		path += "?after=" + strconv.FormatUint(*cursor, 10)
	}
	resp, err := c.do(ctx, call{method: "GET", path: path, stream: true}, nil)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var data strings.Builder
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, ": posagent events after "):
			// The first line names where the stream starts: a stream
			// opened at Now resumes from there.
			if n, err := strconv.ParseUint(strings.TrimPrefix(line, ": posagent events after "), 10, 64); err == nil && *cursor == Now {
				*cursor = n
			}
		case strings.HasPrefix(line, "data:"):
			data.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
		case line == "" && data.Len() > 0:
			ev, err := decodeEvent(data.String())
			data.Reset()
			if err != nil {
				return got, err
			}
			got = true
			*cursor = ev.Seq
			if !yield(ev, nil) {
				return got, errStop
			}
		}
	}
	return got, sc.Err()
}

// decodeEvent reads one event's data: the event's JSON.
func decodeEvent(data string) (Event, error) {
	var ev Event
	if err := json.Unmarshal([]byte(data), &ev); err != nil {
		return Event{}, fmt.Errorf("client: an event that is not the expected JSON: %w", err)
	}
	ev.Data = json.RawMessage(data)
	return ev, nil
}
