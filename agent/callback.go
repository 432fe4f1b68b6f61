package agent

import (
	"errors"
	"io"
	"net/http"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/store"
)

// callbackParser is what the engine needs to read an OTTPay call-back;
// *gateway.Client satisfies it (ParseCallback decrypts and verifies).
type callbackParser interface {
	ParseCallback(body []byte) (*gateway.Result, error)
}

// CallbackHandler serves OTTPay's call-backs (the call_back_url of qr
// orders). Polling stays the source of truth: a call-back is verified
// (digest, merchant id), matched to one of our orders and amounts, and then
// only makes that payment's pending queries due now, so a STATUS_QUERY
// confirms it. It is mounted outside the bearer-token check (OTTPay cannot
// carry our token); the digest is its authentication.
func (e *Engine) CallbackHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			writeErr(w, errf(405, "method_not_allowed", "call-backs are POSTed"))
			return
		}
		cp, ok := e.o.Gateway.(callbackParser)
		if !ok {
			writeErr(w, errf(404, "not_found", "this gateway sends no call-backs"))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
		if err != nil {
			writeErr(w, errf(413, "body_too_large", "call-back larger than %d bytes", MaxBody))
			return
		}
		res, err := cp.ParseCallback(body)
		if err != nil {
			e.log.Warn("agent: call-back refused", "err", err)
			writeErr(w, errf(400, "bad_callback", "call-back failed verification"))
			return
		}
		n, err := e.nudge(res.OrderID, res.Amount)
		if err != nil {
			e.log.Warn("agent: call-back refused", "order", res.OrderID, "err", err)
			writeErr(w, err)
			return
		}
		e.log.Info("agent: call-back verified; confirming by query", "order", res.OrderID, "jobs", n)
		writeJSON(w, http.StatusOK, map[string]string{"rsp_code": "SUCCESS"})
	})
}

// nudge makes the payment owning orderID poll now: its running flow (a qr
// payment being shown) and its outbox jobs (reconciliation) alike. amount, when not zero, must be the payment's.
func (e *Engine) nudge(orderID string, amount int64) (int, error) {
	n := 0
	err := e.st.Update(func(tx *store.Tx) error {
		id, err := tx.PaymentIDByOrder(orderID)
		if errors.Is(err, store.ErrNotFound) {
			return errf(404, "not_found", "no order %s", orderID)
		}
		if err != nil {
			return err
		}
		p, err := tx.Payment(id)
		if err != nil {
			return err
		}
		if amount != 0 && !gateway.AmountMatches(amount, p.Amount, p.Tip, e.o.FeeAllowanceBPS) && p.OrderID == orderID {
			return errf(400, "amount_mismatch", "call-back amount %d is not the order's %d (tip %d)", amount, p.Amount, p.Tip)
		}
		e.mu.Lock()
		if f := e.flows[id]; f != nil {
			select {
			case f.poke <- struct{}{}:
			default:
			}
			n++
		}
		e.mu.Unlock()
		jobs, err := e.dueNow(tx, id)
		n += jobs
		return err
	})
	if err != nil {
		return 0, err
	}
	e.kickOutbox()
	return n, nil
}
