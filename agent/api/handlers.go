package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/agent/view"
)

// hCreate: POST /v1/payments. A tip above tips.max_percent of the amount
// needs a manager's "approval" (tips.go).
func (d *frontDoor) hCreate(w http.ResponseWriter, r *http.Request) {
	s := d.s
	var req struct {
		agent.CreateRequest
		Approval *Approval `json:"approval"`
	}
	ik, err := moneyRequest(w, r, &req, false)
	if err != nil {
		writeErr(w, err)
		return
	}
	op, err := s.operator(callerOf(r), req.Operator)
	if err != nil {
		writeErr(w, err)
		return
	}
	req.Operator, req.GatewayOperator = op.ID, op.GatewayID
	noteOf(r).operator, noteOf(r).amount, noteOf(r).tip = op.ID, req.Amount, req.Tip
	if req.TipApprover, err = d.tipApprover(r, req.Approval); err != nil {
		writeErr(w, err)
		return
	}
	p, replayed, err := s.eng.CreatePayment(r.Context(), req.CreateRequest, ik)
	if err != nil {
		writeErr(w, err)
		return
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/v1/payments/"+p.ID)
	if p.State == agent.Failed && p.Error != nil && p.Error.Code == "gateway_unreachable" {
		writeJSON(w, 503, errBody{Error: apiErr{p.Error.Code, p.Error.Message}, Payment: p})
		return
	}
	writeJSON(w, 201, p)
}

func (s *Server) hGet(w http.ResponseWriter, r *http.Request) {
	p, err := s.eng.Payment(r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, p)
}

func (s *Server) hCode(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code     string `json:"code"`
		AuthCode string `json:"auth_code"`
	}
	ik, err := moneyRequest(w, r, &req, false)
	if err != nil {
		writeErr(w, err)
		return
	}
	code := req.Code
	if code == "" {
		code = req.AuthCode
	}
	if code == "" {
		writeErr(w, errf(operr.CodeInvalidCode, `code is required: {"code":"<payment code>"}`))
		return
	}
	p, err := s.eng.GiveCode(r.Context(), r.PathValue("id"), code, ik)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, p)
}

func (s *Server) hCancel(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	ik, err := moneyRequest(w, r, &req, true)
	if err != nil {
		writeErr(w, err)
		return
	}
	p, err := s.eng.Cancel(r.Context(), r.PathValue("id"), ik)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, p)
}

func (s *Server) hResolve(w http.ResponseWriter, r *http.Request) {
	var req agent.ResolveRequest
	ik, err := moneyRequest(w, r, &req, false)
	if err != nil {
		writeErr(w, err)
		return
	}
	p, err := s.eng.Resolve(r.PathValue("id"), req, ik)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, p)
}

func (s *Server) hReceipt(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if _, err := request(w, r, &req, true); err != nil {
		writeErr(w, err)
		return
	}
	p, err := s.eng.Reprint(r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 202, p)
}

func (s *Server) hReceiptPNG(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rc, err := s.eng.ReceiptFor(id)
	if err != nil {
		writeErr(w, err)
		return
	}
	if s.o.RenderReceipt == nil {
		writeErr(w, errf(CodeNoRenderer, "receipt rendering is not available in this build"))
		return
	}
	png, err := s.o.RenderReceipt(rc)
	if err != nil {
		writeErr(w, fmt.Errorf("api: render receipt %s: %w", id, err))
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(png)
}

func (s *Server) hScan(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code      string `json:"code"`
		Symbology string `json:"symbology"`
		Device    string `json:"device"`
	}
	if _, err := request(w, r, &req, false); err != nil {
		writeErr(w, err)
		return
	}
	if strings.TrimSpace(req.Code) == "" {
		writeErr(w, errf(operr.CodeInvalidCode, `code is required: {"code":"..."}`))
		return
	}
	if req.Device == "" {
		req.Device = "api"
	}
	if err := s.eng.Intake().HandleScan(r.Context(), agent.Scan{Code: req.Code, Symbology: req.Symbology, Device: req.Device, At: s.now()}); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 202, map[string]any{"accepted": true})
}

// status is GET /v1/status: the engine's, and how the API is reached.
type status struct {
	view.Status
	API APIStatus `json:"api"`
	// Feed is the journal's feed (absent when feed.enabled is off).
	Feed any `json:"feed,omitempty"`
}

func (s *Server) hStatus(w http.ResponseWriter, r *http.Request) {
	st := status{Status: s.view.Status(), API: s.apiStatus()}
	if s.o.Feed != nil {
		st.Feed = s.o.Feed.FeedStatus()
	}
	writeJSON(w, 200, st)
}

func (s *Server) hSync(w http.ResponseWriter, r *http.Request) {
	n, err := s.eng.Sync()
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 202, map[string]any{"jobs": n})
}

func (s *Server) hCartGet(w http.ResponseWriter, r *http.Request) {
	c := s.eng.Intake().CurrentCart()
	if c == nil {
		c = &agent.Cart{Currency: s.eng.Currency()}
	}
	writeJSON(w, 200, c)
}

// hCartPut: PUT /v1/cart. A tip above tips.max_percent of the amount
// needs a manager's "approval" (tips.go).
func (d *frontDoor) hCartPut(w http.ResponseWriter, r *http.Request) {
	var req struct {
		agent.Cart
		Approval *Approval `json:"approval"`
	}
	if _, err := request(w, r, &req, false); err != nil {
		writeErr(w, err)
		return
	}
	noteOf(r).amount, noteOf(r).tip = req.Amount, req.Tip
	var err error
	if req.TipApprover, err = d.tipApprover(r, req.Approval); err != nil {
		writeErr(w, err)
		return
	}
	out, err := d.s.eng.Intake().SetCart(req.Cart)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, out)
}

func (s *Server) hCartDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.eng.Intake().ClearCart(); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(204)
}

// hExport: GET /v1/export?since=T&format=csv|json, payments created at or
// after T (RFC 3339 or YYYY-MM-DD; default: all), oldest first.
func (s *Server) hExport(w http.ResponseWriter, r *http.Request) {
	since, format, err := parseExport(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	s.writeExport(w, since, format, exportField{"audit", func() (any, error) { return s.view.AuditTrail(since, 0) }})
}
