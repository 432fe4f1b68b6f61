package ottsim

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"
)

// The defaults of a simulator on its own (posagent sim): the contract's
// test merchant and OTTPay's published test key (not a secret).
const (
	DefaultListen     = "127.0.0.1:7421"
	DefaultMerchantID = "ON00004652"
	TestSignKey       = "6698851A525C9433"
	DefaultURL        = "http://127.0.0.1:7421"
)

// Standalone is the simulator on a listener of its own (posagent sim).
type Standalone struct {
	Listen string // DefaultListen
	Options
}

// FillDefaults takes the merchant id and sign key from getenv
// (POSAGENT_GATEWAY_MERCHANT_ID, POSAGENT_GATEWAY_SIGN_KEY) when unset,
// else the test values.
func (s *Standalone) FillDefaults(getenv func(string) string) {
	if s.SignKey == "" {
		s.SignKey = getenv("POSAGENT_GATEWAY_SIGN_KEY")
	}
	if s.SignKey == "" {
		s.SignKey = TestSignKey
	}
	if s.MerchantID == "" {
		s.MerchantID = getenv("POSAGENT_GATEWAY_MERCHANT_ID")
	}
	if s.MerchantID == "" {
		s.MerchantID = DefaultMerchantID
	}
}

// Check refuses options out of range, naming the command's flags.
func (s *Standalone) Check() error {
	o, f := &s.Options, &s.Faults
	if o.TimeScale <= 0 {
		return fmt.Errorf("sim: --time-scale %v: must be more than 0 (1 is real time, 0.01 is 100x faster)", o.TimeScale)
	}
	for name, d := range map[string]time.Duration{"--paid-after": o.PaidAfter, "--close-after": o.CloseAfter,
		"--slow-reply": o.SlowReply, "--qr-timeout": o.QRTimeout} {
		if d <= 0 {
			return fmt.Errorf("sim: %s %v: must be positive", name, d)
		}
	}
	if f.ErrorRate < 0 || f.ErrorRate > 1 || f.DropRate < 0 || f.DropRate > 1 {
		return errors.New("sim: --error-rate and --drop-rate are shares between 0 and 1")
	}
	if f.LatencyMS < 0 {
		return fmt.Errorf("sim: --latency-ms %d: must be 0 or more", f.LatencyMS)
	}
	if s.BaseURL != "" {
		if u, err := url.Parse(s.BaseURL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return fmt.Errorf("sim: --base-url %q: want an http(s) URL such as http://192.168.1.20:7421", s.BaseURL)
		}
	}
	return nil
}

// Start listens and makes the simulator; base is where it answers
// (BaseURL, else http://LISTEN). Run it with sim.Run(ctx, l).
func (s *Standalone) Start() (sim *Sim, l net.Listener, base string, err error) {
	if l, err = net.Listen("tcp", s.Listen); err != nil {
		return nil, nil, "", fmt.Errorf("sim: listen %s: %w", s.Listen, err)
	}
	base = s.BaseURL
	if base == "" {
		base = "http://" + l.Addr().String()
	}
	return New(s.Options), l, base, nil
}
