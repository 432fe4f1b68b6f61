package api

import (
	"log/slog"
	"net/http"

	"github.com/posagent/posagent/agent/operr"
	"github.com/posagent/posagent/gateway"
)

// CallbackParser reads an OTTPay call-back; *gateway.Client satisfies it
// (ParseCallback decrypts and verifies).
type CallbackParser interface {
	ParseCallback(body []byte) (*gateway.Result, error)
}

// OrderPoller makes the payment owning an order poll now; *agent.Engine
// satisfies it.
type OrderPoller interface {
	PollOrderNow(orderID string, amount int64) (int, error)
}

// CallbackHandler serves OTTPay's call-backs (the call_back_url of qr
// orders). Polling stays the source of truth: a call-back is verified
// (digest, merchant id), matched to one of our orders and amounts, and then
// only makes that payment's pending queries due now, so a STATUS_QUERY
// confirms it. It goes in Options.Callback: behind the front door, without
// the bearer-token check (OTTPay cannot carry our token); the digest is
// its authentication.
// cp nil: this gateway sends no call-backs (404).
func CallbackHandler(n OrderPoller, cp CallbackParser, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			writeErr(w, errf(CodeMethodNotAllowed, "call-backs are POSTed"))
			return
		}
		if cp == nil {
			writeErr(w, errf(operr.CodeNotFound, "this gateway sends no call-backs"))
			return
		}
		body, err := readBody(w, r) // 413 too large, 408 too slow
		if err != nil {
			writeErr(w, err)
			return
		}
		res, err := cp.ParseCallback(body)
		if err != nil {
			log.Warn("agent: call-back refused", "err", err)
			writeErr(w, errf(CodeBadCallback, "call-back failed verification"))
			return
		}
		woke, err := n.PollOrderNow(res.OrderID, res.Amount)
		if err != nil {
			log.Warn("agent: call-back refused", "order", res.OrderID, "err", err)
			writeErr(w, err)
			return
		}
		log.Info("agent: call-back verified; confirming by query", "order", res.OrderID, "jobs", woke)
		writeJSON(w, http.StatusOK, map[string]string{"rsp_code": "SUCCESS"})
	})
}
