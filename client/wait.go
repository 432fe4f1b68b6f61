package client

import (
	"context"
	"time"
)

// Warning returns the payment's warning with code (WarningPossibleDuplicate),
// or nil.
func (p *Payment) Warning(code string) *Warning {
	var w *Warning
	for i := range p.Warnings {
		if p.Warnings[i].Code == code {
			w = &p.Warnings[i]
		}
	}
	return w
}

// WarningPossibleDuplicate is the warning of a payment that may repeat an
// earlier one that failed or is in doubt, for the same amount.
const WarningPossibleDuplicate = "possible_duplicate"

// WaitRefund reads payment p again every interval until its newest refund
// is final (succeeded or failed) or waits behind another refund of the
// payment, looking at most tries times in all (p itself is the first). It
// returns the payment as last read; the caller looks at its newest refund,
// which may still be pending when tries ran out.
func (c *Client) WaitRefund(ctx context.Context, p *Payment, tries int, interval time.Duration) (*Payment, error) {
	for i := 1; i < tries; i++ {
		if n := len(p.Refunds); n > 0 {
			if r := p.Refunds[n-1]; r.Behind != "" || r.State == "succeeded" || r.State == "failed" {
				return p, nil
			}
		}
		select {
		case <-ctx.Done():
			return p, ctx.Err()
		case <-time.After(interval):
		}
		np, err := c.Payment(ctx, p.ID)
		if err != nil {
			return p, err
		}
		p = np
	}
	return p, nil
}
