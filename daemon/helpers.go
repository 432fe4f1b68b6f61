package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/store"
)

// placardOf is the placard of merchant.static_qr and merchant.payment_links.
func placardOf(cfg *config.Config) printer.Placard {
	pl := printer.Placard{Merchant: cfg.Merchant.Name, StaticQR: cfg.Merchant.StaticQR}
	for _, l := range cfg.Merchant.PaymentLinks {
		pl.Links = append(pl.Links, printer.PlacardLink{Name: l.Name, URL: l.URL})
	}
	return pl
}

var _ api.PlacardPrinter = (*livePrinter)(nil)

// Placard is the current configuration's placard.
func (lp *livePrinter) Placard() printer.Placard {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return lp.gen.placard
}

// PrintPlacard prints a placard on the current printer, in its profile.
func (lp *livePrinter) PrintPlacard(ctx context.Context, pl printer.Placard) error {
	return lp.printDocument(ctx, "placards", func(p printer.Profile) []byte { return printer.EncodePlacard(pl, p) })
}

// RenderPlacard draws a placard as the current printer would print it.
func (lp *livePrinter) RenderPlacard(pl printer.Placard) ([]byte, error) {
	return printer.RenderPlacardPNG(pl, lp.profile())
}

// ShopLocation is merchant.timezone (validated by Load), else the system's.
func ShopLocation(cfg *config.Config) *time.Location {
	loc, err := cfg.Location()
	if err != nil {
		return time.Local
	}
	return loc
}

// reconcileRate maps reports.reconcile_rate (0: off) to the engine's
// option (negative: off).
func reconcileRate(cfg *config.Config) float64 {
	if cfg.Reports.ReconcileRate <= 0 {
		return -1
	}
	return cfg.Reports.ReconcileRate
}

// PrintReport prints a report on the current printer, in its profile.
func (lp *livePrinter) PrintReport(ctx context.Context, r printer.Report) error {
	return lp.printDocument(ctx, "reports", func(p printer.Profile) []byte { return printer.EncodeReport(r, p) })
}

// RenderReport draws a report as the current printer would print it.
func (lp *livePrinter) RenderReport(r printer.Report) ([]byte, error) {
	return printer.RenderReportPNG(r, lp.profile())
}

// printDocument prints what encode makes for the current printer's
// profile (a report, a placard), counted as a job so that a reload lets it
// finish on the printer it started on.
func (lp *livePrinter) printDocument(ctx context.Context, what string, encode func(printer.Profile) []byte) error {
	lp.mu.Lock()
	g := lp.gen
	g.jobs.Add(1)
	lp.mu.Unlock()
	defer g.jobs.Done()
	if g.prn == nil {
		return fmt.Errorf("printer: %s are printed on a printer the agent drives (not printer.kind none or bridge)", what)
	}
	return g.prn.Print(ctx, encode(g.prof))
}

// profile is the current printer's profile.
func (lp *livePrinter) profile() printer.Profile {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return lp.gen.prof
}

// duplicateWindow is agent.duplicate_window for the engine: 0 in the
// config is off, which the engine spells negative (its 0 is the default).
func duplicateWindow(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// engineRate is the display's view of the engine's exchange rate to CNY.
func engineRate(e *agent.Engine) func() (string, int64, time.Time, bool) {
	return func() (string, int64, time.Time, bool) {
		r := e.Rate()
		if r == nil {
			return "", 0, time.Time{}, false
		}
		return r.Currency, r.Rate, r.At, true
	}
}

// OpenJournal is the start path's journal: checked before it is used
// (store.Open reads it with bound checks, checks its invariants and its
// high-water mark, and writes nothing to a file that fails), with the
// warnings logged.
func OpenJournal(cfg *config.Config, log *slog.Logger) (*store.Store, error) {
	// Retention removes only what a Z report and a verified backup hold
	// (and the back-office feed acknowledged, when one registered).
	st, _, err := store.OpenReport(cfg.Store.Path, store.Options{Logger: log.With("part", "store"), GuardRetention: true})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// journalBackupHandler is GET /v1/journal/backup: a consistent copy of the
// journal from one read transaction, while payments go on.
func journalBackupHandler(st *store.Store, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", `attachment; filename="posagent-journal.db"`)
		_, err := st.WriteBackup(w, func(n int64) { w.Header().Set("Content-Length", strconv.FormatInt(n, 10)) })
		if err != nil {
			log.Error("journal backup over the API", "err", err) // the client sees a short body
		}
	})
}
