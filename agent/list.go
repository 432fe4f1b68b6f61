package agent

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/posagent/posagent/store"
)

// Lists and exports read the journal's indexes: a list by state reads that
// state's index from the cursor on, an export seeks to its first payment
// (ids are time-ordered), and both stop at what they return. The export
// streams: its memory does not grow with the number of payments.

func (e *Engine) hList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			writeErr(w, errf(400, "invalid_limit", "limit must be an integer from 1 to 500, got %q", v))
			return
		}
		limit = n
	}
	state := State(q.Get("state"))
	if state != "" && !validState(state) {
		writeErr(w, errf(400, "invalid_state_filter", "state %q is not a payment state", state))
		return
	}
	match, err := listFilter(q)
	if err != nil {
		writeErr(w, err)
		return
	}
	var out []*Payment
	more := false
	each := func(p *store.Payment) (bool, error) {
		if !match(p) {
			return true, nil
		}
		if len(out) == limit {
			more = true
			return false, nil
		}
		out = append(out, publicPayment(p))
		return true, nil
	}
	err = e.st.View(func(tx *store.Tx) error {
		if state != "" {
			return tx.PaymentsIn(state, true, q.Get("after"), each)
		}
		return tx.ForEachPayment(true, q.Get("after"), each)
	})
	if err != nil {
		writeErr(w, err)
		return
	}
	resp := map[string]any{"payments": out}
	if out == nil {
		resp["payments"] = []*Payment{}
	}
	if more {
		resp["next_after"] = out[len(out)-1].ID
	}
	writeJSON(w, 200, resp)
}

func validState(s State) bool {
	return slices.Contains(store.States, s)
}

// exportField is a member of the JSON export besides "payments", computed
// before the stream starts (so that its error can still be an answer).
type exportField struct {
	Name  string
	Value func() (any, error)
}

// parseExport reads GET /v1/export's since and format.
func parseExport(r *http.Request) (since time.Time, format string, err error) {
	q := r.URL.Query()
	if v := q.Get("since"); v != "" {
		t, perr := time.Parse(time.RFC3339, v)
		if perr != nil {
			t, perr = time.Parse("2006-01-02", v)
		}
		if perr != nil {
			return since, "", errf(400, "invalid_since", "since must be an RFC 3339 time or a date YYYY-MM-DD, got %q", v)
		}
		since = t
	}
	format = q.Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" {
		return since, "", errf(400, "invalid_format", "format must be csv or json, got %q", format)
	}
	return since, format, nil
}

// eachExported calls fn for each payment created at or after since, oldest
// first, starting at the first id that time can have.
func (e *Engine) eachExported(since time.Time, fn func(p *Payment) error) error {
	return e.st.View(func(tx *store.Tx) error {
		after := ""
		if !since.IsZero() {
			after = store.IDAt(since)
		}
		return tx.ForEachPayment(false, after, func(p *store.Payment) (bool, error) {
			if p.CreatedAt.Before(since) {
				return true, nil
			}
			return true, fn(publicPayment(p))
		})
	})
}

// writeExport streams the export: JSON exactly as writeJSON would write
// {"payments": [...], more...}, or CSV.
func (e *Engine) writeExport(w http.ResponseWriter, since time.Time, format string, more ...exportField) {
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="posagent-export.csv"`)
		cw := csv.NewWriter(w)
		cw.Write(append([]string{"id", "order_id", "reference", "mode", "wallet", "amount", "currency", "state", "error_code", "refunded", "created_at", "updated_at"},
			exportExtraColumns...))
		err := e.eachExported(since, func(p *Payment) error {
			ec := ""
			if p.Error != nil {
				ec = p.Error.Code
			}
			return cw.Write(append([]string{p.ID, p.OrderID, csvSafe(p.Reference), p.Mode, p.Wallet, strconv.FormatInt(p.Amount, 10), p.Currency,
				string(p.State), ec, strconv.FormatInt(p.Refunded, 10), p.CreatedAt.Format(time.RFC3339), p.UpdatedAt.Format(time.RFC3339)},
				exportExtras(p)...))
		})
		if err != nil {
			e.log.Error("agent: export: stopped", "err", err)
		}
		cw.Flush()
		return
	}
	// Members in key order, as encoding/json writes a map.
	type member struct {
		name string
		raw  []byte // nil: the payments
	}
	members := []member{{name: "payments"}}
	for _, f := range more {
		v, err := f.Value()
		if err != nil {
			writeErr(w, err)
			return
		}
		raw, err := json.MarshalIndent(v, "  ", "  ")
		if err != nil {
			writeErr(w, err)
			return
		}
		members = append(members, member{f.Name, raw})
	}
	slices.SortFunc(members, func(a, b member) int { return strings.Compare(a.name, b.name) })
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	bw := bufio.NewWriterSize(w, 32<<10)
	bw.WriteString("{\n")
	for i, m := range members {
		if i > 0 {
			bw.WriteString(",\n")
		}
		bw.WriteString("  " + strconv.Quote(m.name) + ": ")
		if m.raw != nil {
			bw.Write(m.raw)
			continue
		}
		n := 0
		err := e.eachExported(since, func(p *Payment) error {
			raw, err := json.MarshalIndent(p, "    ", "  ")
			if err != nil {
				return err
			}
			if n == 0 {
				bw.WriteString("[\n    ")
			} else {
				bw.WriteString(",\n    ")
			}
			n++
			_, err = bw.Write(raw)
			return err
		})
		if err != nil {
			// The answer has begun: end it unparseable rather than short.
			e.log.Error("agent: export: stopped", "err", err)
			bw.WriteString("\n  ERROR: the export stopped: " + strconv.Quote(err.Error()))
			bw.Flush()
			return
		}
		if n == 0 {
			bw.WriteString("[]")
		} else {
			bw.WriteString("\n  ]")
		}
	}
	bw.WriteString("\n}\n")
	bw.Flush()
}

// csvSafe keeps a spreadsheet from reading a POS reference as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
