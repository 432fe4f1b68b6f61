package api

import (
	"net/http"
	"strconv"

	"github.com/posagent/posagent/agent/books"
	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/slip"
)

// reportRoutes registers the shift and report routes: opening and closing
// shifts and reconciling are the manager's; reading and printing reports
// are the POS's too.
func (s *Server) reportRoutes(d *frontDoor) {
	d.handle("GET /v1/shifts/current", readRoles, "", s.hShiftCurrent)
	d.handle("POST /v1/shifts/open", mgrRoles, "shift.open", s.hShiftOpen)
	d.handle("POST /v1/shifts/close", mgrRoles, "shift.close", s.hShiftClose)
	d.handle("GET /v1/reports/x", readRoles, "", s.hReportX)
	d.handle("POST /v1/reports/x/print", posRoles, "report.print", s.hReportXPrint)
	d.handle("GET /v1/reports/z", readRoles, "", s.hReportZList)
	d.handle("GET /v1/reports/z/{n}", readRoles, "", s.hReportZ)
	d.handle("POST /v1/reports/z/{n}/print", posRoles, "report.print", s.hReportZPrint)
	d.handle("GET /v1/reports/z/{n}/reconciliation", readRoles, "", s.hReconciliation)
	d.handle("POST /v1/reports/z/{n}/reconcile", mgrRoles, "report.reconcile", s.hReconcile)
}

type shiftRequest struct {
	Operator string `json:"operator"`
	// Print: print the Z report when the shift closes.
	Print bool `json:"print"`
}

func (s *Server) hShiftCurrent(w http.ResponseWriter, r *http.Request) {
	sh, err := s.books.CurrentShift()
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, map[string]any{"shift": sh})
}

func (s *Server) hShiftOpen(w http.ResponseWriter, r *http.Request) {
	var req shiftRequest
	if _, err := request(w, r, &req, true); err != nil {
		writeErr(w, err)
		return
	}
	sh, err := s.books.OpenShift(req.Operator)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 201, sh)
}

func (s *Server) hShiftClose(w http.ResponseWriter, r *http.Request) {
	var req shiftRequest
	if _, err := request(w, r, &req, true); err != nil {
		writeErr(w, err)
		return
	}
	rep, err := s.books.CloseShift(req.Operator, false)
	if err != nil {
		writeErr(w, err)
		return
	}
	if req.Print {
		if err := s.books.PrintReport(r.Context(), rep, false); err != nil {
			s.log.Warn("agent: Z report not printed (it is stored: print it again)", "z", rep.Z, "err", err)
		}
	}
	writeJSON(w, 201, rep)
}

func (s *Server) hReportX(w http.ResponseWriter, r *http.Request) {
	rep, err := s.books.XReport()
	if err != nil {
		writeErr(w, err)
		return
	}
	s.writeReport(w, r, rep)
}

func (s *Server) hReportXPrint(w http.ResponseWriter, r *http.Request) {
	rep, err := s.books.XReport()
	if err == nil {
		err = s.books.PrintReport(r.Context(), rep, false)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, rep)
}

func zNumber(r *http.Request) (uint64, error) {
	n, err := strconv.ParseUint(r.PathValue("n"), 10, 64)
	if err != nil || n == 0 {
		return 0, errf(operr.CodeInvalidField, "Z report number %q is not a positive integer", r.PathValue("n"))
	}
	return n, nil
}

func (s *Server) hReportZList(w http.ResponseWriter, r *http.Request) {
	zs, err := s.books.ZList(0)
	if err != nil {
		writeErr(w, err)
		return
	}
	if zs == nil {
		writeJSON(w, 200, map[string]any{"reports": []any{}})
		return
	}
	writeJSON(w, 200, map[string]any{"reports": zs})
}

func (s *Server) hReportZ(w http.ResponseWriter, r *http.Request) {
	n, err := zNumber(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	rep, _, err := s.books.ZReport(n)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.writeReport(w, r, rep)
}

func (s *Server) hReportZPrint(w http.ResponseWriter, r *http.Request) {
	n, err := zNumber(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	rep, _, err := s.books.ZReport(n)
	if err == nil {
		err = s.books.PrintReport(r.Context(), rep, true)
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, rep)
}

func (s *Server) hReconciliation(w http.ResponseWriter, r *http.Request) {
	n, err := zNumber(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	rc, err := s.books.LastReconciliation(n)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.writeReconciliation(w, r, rc)
}

func (s *Server) hReconcile(w http.ResponseWriter, r *http.Request) {
	n, err := zNumber(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	rc, err := s.books.Reconcile(r.Context(), n)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.writeReconciliation(w, r, rc)
}

// writeReport answers with ?format=json (default), csv or png (?paper=58mm
// for a 58 mm picture when no printer draws it).
func (s *Server) writeReport(w http.ResponseWriter, r *http.Request, rep *books.Report) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		writeJSON(w, 200, rep)
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Write(rep.CSV())
	case "png":
		s.writePNG(w, r, s.books.Printable(rep, false))
	default:
		writeErr(w, errf(CodeInvalidFormat, "format must be json, csv or png, got %q", f))
	}
}

func (s *Server) writeReconciliation(w http.ResponseWriter, r *http.Request, rc *books.Reconciliation) {
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
		writeJSON(w, 200, rc)
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Write(rc.CSV())
	case "png":
		s.writePNG(w, r, s.books.PrintableReconciliation(rc))
	default:
		writeErr(w, errf(CodeInvalidFormat, "format must be json, csv or png, got %q", f))
	}
}

func (s *Server) writePNG(w http.ResponseWriter, r *http.Request, pr slip.Report) {
	var b []byte
	var err error
	paper := r.URL.Query().Get("paper")
	if s.o.Reports != nil && paper == "" {
		b, err = s.o.Reports.RenderReport(pr)
	} else {
		width := "80mm"
		if paper == "58mm" || paper == "58" {
			width = "58mm"
		}
		if s.o.RenderReport == nil {
			err = errf(CodeNoRenderer, "report rendering for a paper width is not available in this build")
		} else {
			b, err = s.o.RenderReport(pr, width)
		}
	}
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(b)
}
