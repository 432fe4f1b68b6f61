package api

import (
	"context"
	"net/http"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/slip"
)

// PlacardPrinter is an optional ability of the Reports printer (found by
// type assertion): the counter placard of the merchant's own OTTPay static
// QR and payment links (merchant.static_qr, merchant.payment_links). Those
// payments go to OTTPay directly and never pass through the agent: the
// placard is printed, nothing is journaled.
type PlacardPrinter interface {
	// Placard is the placard the configuration describes (Empty: none).
	Placard() slip.Placard
	PrintPlacard(ctx context.Context, p slip.Placard) error
	RenderPlacard(p slip.Placard) ([]byte, error)
}

// placardRoutes registers GET /v1/placard (the PNG, as printed) and POST
// /v1/placard/print. Neither moves money.
func (s *Server) placardRoutes(d *frontDoor) {
	d.handle("GET /v1/placard", readRoles, "", s.hPlacard)
	d.handle("POST /v1/placard/print", posRoles, "placard.print", s.hPlacardPrint)
}

// placard returns the configured placard, or the error to answer.
func (s *Server) placard() (PlacardPrinter, slip.Placard, error) {
	pp, ok := s.o.Reports.(PlacardPrinter)
	if !ok {
		return nil, slip.Placard{}, errf(operr.CodeNoPrinter, "no printer is configured to print the placard")
	}
	pl := pp.Placard()
	if pl.Empty() {
		return nil, pl, errf(CodeNoStaticQR, "no static QR or payment link is configured: set merchant.static_qr or merchant.payment_links")
	}
	return pp, pl, nil
}

func (s *Server) hPlacard(w http.ResponseWriter, r *http.Request) {
	if f := r.URL.Query().Get("format"); f != "" && f != "png" {
		writeErr(w, errf(CodeInvalidFormat, "format must be png, got %q", f))
		return
	}
	pp, pl, err := s.placard()
	if err != nil {
		writeErr(w, err)
		return
	}
	var b []byte
	switch paper := r.URL.Query().Get("paper"); paper {
	case "":
		b, err = pp.RenderPlacard(pl)
	case "58mm", "58":
		b, err = s.renderPlacard(pl, "58mm")
	case "80mm", "80":
		b, err = s.renderPlacard(pl, "80mm")
	default:
		err = errf(CodeInvalidPaper, "paper must be 58mm or 80mm, got %q", paper)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(b)
}

// renderPlacard draws the placard with Options.RenderPlacard.
func (s *Server) renderPlacard(pl slip.Placard, paper string) ([]byte, error) {
	if s.o.RenderPlacard == nil {
		return nil, errf(CodeNoRenderer, "placard rendering for a paper width is not available in this build")
	}
	return s.o.RenderPlacard(pl, paper)
}

// placardRequest is POST /v1/placard/print's body (empty).
type placardRequest struct{}

func (s *Server) hPlacardPrint(w http.ResponseWriter, r *http.Request) {
	var req placardRequest
	if _, err := request(w, r, &req, true); err != nil {
		writeErr(w, err)
		return
	}
	pp, pl, err := s.placard()
	if err != nil {
		writeErr(w, err)
		return
	}
	pctx, cancel := context.WithTimeout(r.Context(), s.o.PrintTimeout)
	defer cancel()
	if err := pp.PrintPlacard(pctx, pl); err != nil {
		writeErr(w, errf(operr.CodePrinterError, "the placard was not printed: %v", err))
		return
	}
	writeJSON(w, 200, map[string]any{"printed": true})
}
