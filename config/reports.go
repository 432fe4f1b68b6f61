package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Reports configures shifts, X and Z reports and the reconciliation of a
// closed shift with the gateway.
type Reports struct {
	// CloseAt is the local time of day (HH:MM, merchant.timezone) at which
	// a shift still open is closed with its Z report; "" never.
	CloseAt string `key:"close_at"`
	// ReconcileRate is how many STATUS_QUERY a second the reconciliation
	// after a Z report sends (jittered); 0 turns it off.
	ReconcileRate float64 `key:"reconcile_rate"`
}

// Location is the shop's time zone: merchant.timezone, or the system's
// when it is empty.
func (c *Config) Location() (*time.Location, error) {
	if c.Merchant.Timezone == "" {
		return time.Local, nil
	}
	loc, err := time.LoadLocation(c.Merchant.Timezone)
	if err != nil {
		return nil, fmt.Errorf("config: merchant.timezone %q: %w", c.Merchant.Timezone, err)
	}
	return loc, nil
}

func (c *Config) validateReports(v *validator) {
	if tz := c.Merchant.Timezone; tz != "" {
		if _, err := time.LoadLocation(tz); err != nil || strings.EqualFold(tz, "local") {
			v.add("merchant.timezone", "merchant.timezone %q is not an IANA time zone: use a name like America/Toronto or Asia/Shanghai, or \"\" for the system's", tz)
		}
	}
	if at := c.Reports.CloseAt; at != "" {
		h, m, ok := strings.Cut(at, ":")
		hh, err1 := strconv.Atoi(h)
		mm, err2 := strconv.Atoi(m)
		if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 23 || mm < 0 || mm > 59 || len(m) != 2 {
			v.add("reports.close_at", "reports.close_at %q is not a time of day: use HH:MM in 24-hour local time, like \"03:00\", or \"\" to never close a shift by itself", at)
		}
	}
	if r := c.Reports.ReconcileRate; r < 0 || r > 50 {
		v.add("reports.reconcile_rate", "reports.reconcile_rate %v: use between 0 (off) and 50 queries a second (OTTPay is shared: 5 is kind)", r)
	}
}
