package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/devices"
	"github.com/posagent/posagent/drivers/serial"
	"github.com/posagent/posagent/drivers/usbhid"
	"github.com/posagent/posagent/scanner"
)

// newScanners checks each configured scanner and makes the set that runs
// them; their codes go to the engine's routing.
func newScanners(cfg *config.Config, log *slog.Logger, reg *devices.Registry, eng *agent.Engine) (*scannerSet, error) {
	for _, sc := range cfg.Scanners {
		if _, err := scannerSource(sc, cfg, log, reg.Set); err != nil {
			return nil, err
		}
	}
	return &scannerSet{cfg: cfg, log: log, setDevice: reg.Set, emit: func(ctx context.Context, s scanner.Scan) {
		if err := eng.Intake().HandleScan(ctx, agent.Scan(s)); err != nil {
			log.Warn("scan not taken", "scanner", s.Device, "err", err)
		}
	}}, nil
}

// scannerSet runs one source per configured scanner; a reload stops the
// scanners whose settings changed or that are gone and starts the new ones
// (a changed device path reopens). The others keep running untouched.
type scannerSet struct {
	cfg       *config.Config // the start's
	log       *slog.Logger
	setDevice func(agent.DeviceStatus)
	emit      func(ctx context.Context, s scanner.Scan)

	mu      sync.Mutex
	ctx     context.Context
	running map[string]*runningScanner
	wg      sync.WaitGroup
}

type runningScanner struct {
	cfg    config.Scanner
	cancel context.CancelFunc
	done   chan struct{}
}

// Run starts cfg's scanners and returns when ctx ends and every scanner
// has stopped.
func (s *scannerSet) Run(ctx context.Context) error {
	cfg := s.cfg
	s.mu.Lock()
	s.ctx, s.running = ctx, map[string]*runningScanner{}
	for _, sc := range cfg.Scanners {
		if err := s.startLocked(sc, cfg); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	s.mu.Unlock()
	<-ctx.Done()
	s.wg.Wait()
	return nil
}

func (s *scannerSet) Name() string { return "scanners" }
func (s *scannerSet) Close() error { return nil }

func (s *scannerSet) startLocked(sc config.Scanner, cfg *config.Config) error {
	src, err := scannerSource(sc, cfg, s.log, s.setDevice)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	rs := &runningScanner{cfg: sc, cancel: cancel, done: make(chan struct{})}
	s.running[sc.Name] = rs
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(rs.done)
		if err := src.Run(ctx, func(scan scanner.Scan) { s.emit(ctx, scan) }); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Warn("scanner stopped", "scanner", sc.Name, "err", err)
		}
	}()
	return nil
}

func (s *scannerSet) Prepare(old, new *config.Config) (Commit, error) {
	if sameKeys(old, new, "scanners[", "agent.dedup") {
		return nil, nil
	}
	for _, sc := range new.Scanners {
		if _, err := scannerSource(sc, new, s.log, s.setDevice); err != nil {
			return nil, err
		}
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.ctx == nil {
			return
		}
		want := map[string]config.Scanner{}
		for _, sc := range new.Scanners {
			want[sc.Name] = sc
		}
		for name, rs := range s.running {
			if sc, ok := want[name]; ok && sc == rs.cfg {
				delete(want, name) // unchanged: keeps running
				continue
			}
			rs.cancel()
			<-rs.done // the port is closed before it is opened again
			delete(s.running, name)
			if _, ok := want[name]; !ok {
				s.setDevice(agent.DeviceStatus{Kind: "scanner", Name: name, State: "removed"})
			}
		}
		for _, sc := range new.Scanners {
			if _, ok := want[sc.Name]; ok {
				if err := s.startLocked(sc, new); err != nil {
					s.log.Error("scanner not started after reload", "scanner", sc.Name, "err", err)
				}
			}
		}
	}, nil
}

// source is a running scanner: SerialSource or HIDSource.
type source interface {
	Run(ctx context.Context, emit func(scanner.Scan)) error
}

func scannerSource(sc config.Scanner, cfg *config.Config, log *slog.Logger, setDevice func(agent.DeviceStatus)) (source, error) {
	onState := func(s scanner.Status) {
		setDevice(agent.DeviceStatus{Kind: "scanner", Name: sc.Name, State: s.State, LastError: s.Err})
	}
	dedup := sc.Dedup
	if dedup == 0 {
		dedup = cfg.Agent.Dedup
	}
	dec := scanner.Decoding{KeepAIM: !sc.StripAIM, TabEnds: sc.Terminator == "tab", DedupWindow: dedup}
	// Serial framing always accepts CR, LF and CR LF (auto, cr, lf and crlf
	// alike); a scanner set to send no suffix is framed by an idle gap.
	if sc.Terminator == "none" {
		dec.IdleFlush = 50 * time.Millisecond
	}
	l := log.With("part", "scanner", "scanner", sc.Name)
	switch sc.Kind {
	case "serial":
		return &scanner.SerialSource{
			Name: sc.Name, Decoding: dec, Logger: l, OnState: onState,
			Port: serial.Config{Device: sc.Device, Baud: sc.Baud, Parity: sc.Parity, StopBits: sc.StopBits},
		}, nil
	case "hid":
		return &scanner.HIDSource{
			Name: sc.Name, Mode: sc.Mode, Decoding: dec, Logger: l, OnState: onState,
			Device: usbhid.Config{Selector: usbhid.Selector{VID: uint16(sc.VID), PID: uint16(sc.PID), Interface: sc.Interface}},
		}, nil
	case "bridge":
		return bridgeScanner{}, nil
	}
	return nil, fmt.Errorf("scanners %q: kind %q: use serial, hid or bridge", sc.Name, sc.Kind)
}

// bridgeScanner is a scanner Android owns: its scans arrive through the
// bridge (or POST /v1/scans), so there is nothing to run here.
type bridgeScanner struct{}

func (bridgeScanner) Run(ctx context.Context, _ func(scanner.Scan)) error {
	<-ctx.Done()
	return nil
}
