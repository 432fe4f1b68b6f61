package api

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/view"
	"github.com/posagent/posagent/store"
)

// Lists and exports read the journal's indexes: a list by state reads that
// state's index from the cursor on, an export seeks to its first payment
// (ids are time-ordered), and both stop at what they return. The export
// streams: its memory does not grow with the number of payments.

func (s *Server) hList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			writeErr(w, errf(CodeInvalidLimit, "limit must be an integer from 1 to 500, got %q", v))
			return
		}
		limit = n
	}
	lq := view.ListQuery{State: store.State(q.Get("state")), After: q.Get("after"), Limit: limit}
	if q.Has("reference") {
		ref := q.Get("reference")
		lq.Reference = &ref
	}
	if q.Has("find") {
		find := q.Get("find")
		lq.Find = &find
	}
	out, next, err := s.view.List(lq)
	if err != nil {
		writeErr(w, err)
		return
	}
	resp := map[string]any{"payments": out}
	if next != "" {
		resp["next_after"] = next
	}
	writeJSON(w, 200, resp)
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
			return since, "", errf(CodeInvalidSince, "since must be an RFC 3339 time or a date YYYY-MM-DD, got %q", v)
		}
		since = t
	}
	format = q.Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" {
		return since, "", errf(CodeInvalidFormat, "format must be csv or json, got %q", format)
	}
	return since, format, nil
}

// Exporter is what an export reads: the engine's journal (view.Reader),
// or a journal file read without an engine (view.Archive: posagent export
// --archive).
type Exporter interface {
	EachExported(since time.Time, fn func(p *agent.Payment) error) error
	AuditTrail(since time.Time, limit int) ([]view.AuditEntry, error)
	Location() *time.Location
}

// WriteExport writes what GET /v1/export?since=&format= answers, read
// from x, to w (format csv or json).
func WriteExport(w io.Writer, x Exporter, since time.Time, format string) error {
	if format == "csv" {
		return writeCSV(w, x, since)
	}
	members, err := exportMembers(since, exportField{"audit", func() (any, error) { return x.AuditTrail(since, 0) }})
	if err != nil {
		return err
	}
	return writeJSONExport(w, x, since, members)
}

// writeExport streams the export: JSON exactly as writeJSON would write
// {"payments": [...], more...}, or CSV.
func (s *Server) writeExport(w http.ResponseWriter, since time.Time, format string, more ...exportField) {
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="posagent-export.csv"`)
		if err := writeCSV(w, s.export(), since); err != nil {
			s.log.Error("agent: export: stopped", "err", err)
		}
		return
	}
	members, err := exportMembers(since, more...)
	if err != nil {
		writeErr(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	if err := writeJSONExport(w, s.export(), since, members); err != nil {
		s.log.Error("agent: export: stopped", "err", err)
	}
}

// exportMembers computes the members of the JSON export besides the
// payments (raw nil), in key order as encoding/json writes a map.
func exportMembers(since time.Time, more ...exportField) ([]exportMember, error) {
	members := []exportMember{{name: "payments"}}
	for _, f := range more {
		v, err := f.Value()
		if err != nil {
			return nil, err
		}
		raw, err := json.MarshalIndent(v, "  ", "  ")
		if err != nil {
			return nil, err
		}
		members = append(members, exportMember{f.Name, raw})
	}
	slices.SortFunc(members, func(a, b exportMember) int { return strings.Compare(a.name, b.name) })
	return members, nil
}

// writeJSONExport streams the JSON export; a failure once it has begun
// ends it unparseable rather than short.
func writeJSONExport(w io.Writer, x Exporter, since time.Time, members []exportMember) error {
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
		if err := writeExportPayments(bw, x, since); err != nil {
			bw.WriteString("\n  ERROR: the export stopped: " + strconv.Quote(err.Error()))
			bw.Flush()
			return err
		}
	}
	bw.WriteString("\n}\n")
	return bw.Flush()
}

// exportMember is one member of the JSON export; raw nil: the payments.
type exportMember struct {
	name string
	raw  []byte
}

// writeExportPayments streams the payments array of the JSON export.
func writeExportPayments(bw *bufio.Writer, x Exporter, since time.Time) error {
	n := 0
	err := x.EachExported(since, func(p *agent.Payment) error {
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
		return err
	}
	if n == 0 {
		bw.WriteString("[]")
	} else {
		bw.WriteString("\n  ]")
	}
	return nil
}

// writeCSV streams the export as CSV, one row per payment.
func writeCSV(w io.Writer, x Exporter, since time.Time) error {
	cw := csv.NewWriter(w)
	cw.Write(append([]string{"id", "order_id", "reference", "mode", "wallet", "amount", "currency", "state", "error_code", "refunded", "created_at", "updated_at"},
		exportExtraColumns...))
	err := x.EachExported(since, func(p *agent.Payment) error {
		ec := ""
		if p.Error != nil {
			ec = p.Error.Code
		}
		return cw.Write(append([]string{p.ID, p.OrderID, csvSafe(p.Reference), p.Mode, p.Wallet, strconv.FormatInt(p.Amount, 10), p.Currency,
			string(p.State), ec, strconv.FormatInt(p.Refunded, 10), p.CreatedAt.Format(time.RFC3339), p.UpdatedAt.Format(time.RFC3339)},
			exportExtras(p, x.Location())...))
	})
	cw.Flush()
	if err != nil {
		return err
	}
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a POS reference as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// exportExtraColumns are the CSV export's columns after the original
// twelve (added at the end so that a reader by position keeps working).
var exportExtraColumns = []string{"tip", "total", "fee", "buyer_login_id", "trade_time", "wallet_transaction_id", "cny_amount"}

func exportExtras(p *agent.Payment, loc *time.Location) []string {
	w := p.WalletSide
	if w == nil {
		w = &store.WalletSide{}
	}
	trade := w.TradeTime // as answered, when it is not a time
	if !w.TradeAt.IsZero() {
		trade = w.TradeAt.In(loc).Format(time.RFC3339) // in the shop's zone
	}
	n := func(v int64) string {
		if v == 0 {
			return ""
		}
		return strconv.FormatInt(v, 10)
	}
	return []string{strconv.FormatInt(p.Tip, 10), strconv.FormatInt(p.Total, 10), n(w.Fee),
		csvSafe(w.BuyerLoginID), csvSafe(trade), csvSafe(w.TransactionID), n(w.CNYAmount)}
}

// liveExport is the export of the running engine, in the books' time zone.
type liveExport struct {
	*view.Reader
	loc *time.Location
}

func (x liveExport) Location() *time.Location { return x.loc }

func (s *Server) export() Exporter { return liveExport{s.view, s.books.Location()} }
