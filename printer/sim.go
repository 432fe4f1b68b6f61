package printer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/posagent/posagent/fonts"
)

// SimConfig is what `posagent printer-sim` runs with: a virtual network
// printer listening on Listen, writing each receipt to Dir.
type SimConfig struct {
	Listen   string // address to accept ESC/POS connections on
	Dir      string // receipt-NNNN.png/.txt/.bin (made when missing)
	Paper    string // 58mm or 80mm
	PaperOut bool   // status replies say paper out
	Mute     bool   // no status replies at all
	FontPath string // CJK font for Chinese in the PNGs ("": find one)
	Logger   *slog.Logger
	// OnReceipt is called for each receipt, after its files are written.
	OnReceipt func(VirtualReceipt)
}

// Sim is a virtual printer listening (StartSim); Run serves it.
type Sim struct {
	Profile Profile // the paper's
	// FontErr is why Chinese is left out of the PNGs (nil: a font was found).
	FontErr error
	v       *VirtualPrinter
	l       net.Listener
	cjk     *fonts.CJK
	cond    Condition
}

// StartSim checks c, makes the receipts' directory, loads the CJK font
// (without one Chinese is left out of the PNGs: FontErr says why) and
// listens.
func StartSim(c SimConfig) (*Sim, error) {
	prof, err := ProfileFor(c.Paper)
	if err != nil {
		return nil, fmt.Errorf("printer-sim: --paper: %w", err)
	}
	s := &Sim{Profile: prof, cond: Ready}
	switch {
	case c.PaperOut && c.Mute:
		return nil, errors.New("printer-sim: --paper-out and --mute exclude each other")
	case c.PaperOut:
		s.cond = PaperOut
	case c.Mute:
		s.cond = Mute
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("printer-sim: --out %s: %w", c.Dir, err)
	}
	if s.l, err = net.Listen("tcp", c.Listen); err != nil {
		return nil, fmt.Errorf("printer-sim: listen %s: %w", c.Listen, err)
	}
	if s.cjk, err = fonts.Load(c.FontPath); err != nil {
		s.FontErr, s.cjk = err, nil
	}
	s.v = NewVirtualPrinter(VirtualOptions{Dir: c.Dir, Width: prof.Dots, Condition: s.cond, Logger: c.Logger, CJK: s.cjk, OnReceipt: c.OnReceipt})
	return s, nil
}

// Addr is where the printer listens.
func (s *Sim) Addr() net.Addr { return s.l.Addr() }

// State words the printer's condition: ready, paper out, or mute.
func (s *Sim) State() string {
	switch s.cond {
	case PaperOut:
		return "paper out"
	case Mute:
		return "mute (no status replies)"
	}
	return "ready"
}

// Run serves connections until ctx ends, then closes the listener and the
// font.
func (s *Sim) Run(ctx context.Context) error {
	if s.cjk != nil {
		defer s.cjk.Close()
	}
	return s.v.Run(ctx, s.l)
}
