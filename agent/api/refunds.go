package api

import (
	"net/http"

	"github.com/posagent/posagent/agent/refund"
)

// hResolveRefund settles an in-doubt refund by hand (a manager, with the
// merchant portal in hand): {"outcome": "made"|"not_made", "reason": ...}.
func (s *Server) hResolveRefund(w http.ResponseWriter, r *http.Request) {
	var req refund.ResolveRequest
	ik, err := moneyRequest(w, r, &req, false)
	if err != nil {
		writeErr(w, err)
		return
	}
	p, err := s.eng.ResolveRefund(r.PathValue("id"), r.PathValue("refund"), req, ik)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, p)
}

// hRetryRefund makes again, in one step, a refund proven not made: the
// same amount, operator and approval, under a new refund order id.
func (s *Server) hRetryRefund(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	ik, err := moneyRequest(w, r, &req, true)
	if err != nil {
		writeErr(w, err)
		return
	}
	p, err := s.eng.RetryRefund(r.Context(), r.PathValue("id"), r.PathValue("refund"), ik)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 201, p)
}
