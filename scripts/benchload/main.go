// Command benchload writes payments into a running posagent through its own
// local API, the way a POS does: each payment is one POST /v1/payments with
// an Idempotency-Key and a payment code (scan mode), answered by the
// in-process OTTPay simulator. scripts/bench-start uses it to build the
// journals it measures the start on (so they hold what the daemon writes:
// payments, events, idempotency keys with their stored answers, code uses,
// indexes).
//
//	go run ./scripts/benchload -api 127.0.0.1:7420 -n 20000 -c 16
//
// Amounts are chosen so that one payment in -decline-every (50) is declined
// and one in 20 carries a tip; every code is distinct (codes are
// single-use). Each new payment's commit reads the failed payments of the
// last 10 minutes (the possible-duplicate warning), so at hundreds of
// payments a second many declines slow the load down: bench-start builds
// its 100k journal with one decline in 1000.
//
//	go run ./scripts/benchload start -config C.yaml -api ADDR BIN [-wait-check]
//
// starts BIN run --config C.yaml and times it from exec until GET /healthz
// answers 200 (polled every millisecond), then reads what the process read
// until then (/proc/PID/io: rchar, syscr) and its memory (VmRSS, RssFile).
// With -wait-check it then samples VmRSS every 20 ms until the check while
// running has finished (GET /v1/status: journal.check.state), and 3 s
// later the idle RSS. It stops the process with SIGTERM and prints one line
// of key=value figures.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "start" {
		if err := measureStart(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "benchload start:", err)
			os.Exit(1)
		}
		return
	}
	api := flag.String("api", "127.0.0.1:7420", "the agent's API address")
	n := flag.Int("n", 1000, "payments to write")
	from := flag.Int("from", 0, "number of the first payment (codes and keys are derived from it)")
	c := flag.Int("c", 16, "concurrent clients")
	token := flag.String("token", "", "the POS token, when the agent has one")
	decline := flag.Int64("decline-every", 50, "one payment in this many is declined (0: none)")
	flag.Parse()
	if err := run(context.Background(), *api, *token, *from, *n, *c, *decline); err != nil {
		fmt.Fprintln(os.Stderr, "benchload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, api, token string, from, n, c int, decline int64) error {
	if n < 0 || c < 1 {
		return errors.New("-n must be >= 0 and -c >= 1")
	}
	cl := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: c}}
	var next, done atomic.Int64
	next.Store(int64(from))
	end := int64(from + n)
	start := time.Now()
	errs := make(chan error, c)
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= end {
					return
				}
				if err := pay(ctx, cl, api, token, i, decline); err != nil {
					errs <- fmt.Errorf("payment %d: %w", i, err)
					return
				}
				if d := done.Add(1); d%5000 == 0 {
					fmt.Fprintf(os.Stderr, "benchload: %d payments, %.0f/s\n", d, float64(d)/time.Since(start).Seconds())
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "benchload: %d payments in %s\n", done.Load(), time.Since(start).Round(time.Millisecond))
	return nil
}

// pay makes payment i: amount, tip and code derived from i.
func pay(ctx context.Context, cl *http.Client, api, token string, i, decline int64) error {
	amount := 500 + (i%400)*25 + 10 // cents 10, 35, 60, 85: SUCCESS at once
	if decline > 0 && i%decline == 7 {
		amount = 1201 // 01: declined
	}
	tip := int64(0)
	if i%20 == 3 {
		tip = 150
	}
	body := fmt.Sprintf(`{"amount":%d,"tip":%d,"mode":"scan","reference":"B-%d","auth_code":"13%016d"}`, amount, tip, i, i)
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, "POST", "http://"+api+"/v1/payments", bytes.NewBufferString(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("bench-%d", i))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := cl.Do(req)
		if err != nil {
			if attempt < 5 {
				time.Sleep(200 * time.Millisecond)
				continue // the same key: the agent answers the first result
			}
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == 201 || resp.StatusCode == 200:
			return nil
		case resp.StatusCode == 503 || resp.StatusCode == 429:
			if attempt < 20 {
				time.Sleep(100 * time.Millisecond)
				continue
			}
		}
		return fmt.Errorf("%d %s", resp.StatusCode, bytes.TrimSpace(b))
	}
}
