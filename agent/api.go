package agent

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/posagent/posagent/scanner"
	"github.com/posagent/posagent/store"
)

// MaxBody bounds every request body (413 beyond it).
const MaxBody = 64 << 10

// CheckListen refuses a non-loopback listen address without a token
// (contract: loopback needs no credentials; anything else requires api.token).
func CheckListen(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("agent: api.listen %q: %v (want host:port, e.g. 127.0.0.1:7420)", addr, err)
	}
	if isLoopback(host) || token != "" {
		return nil
	}
	where := host
	if where == "" {
		where = "every interface"
	}
	return fmt.Errorf("agent: api.listen %s listens on %s, not loopback: set api.token (or POSAGENT_API_TOKEN) so that requests must carry Authorization: Bearer <token>, or listen on 127.0.0.1", addr, where)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

type errBody struct {
	Error   apiErr   `json:"error"`
	Payment *Payment `json:"payment,omitempty"`
}

type apiErr struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeErr(w http.ResponseWriter, err error) {
	var oe *opError
	if !errors.As(err, &oe) {
		oe = &opError{Status: 500, Code: "internal", Message: err.Error()}
	}
	writeJSON(w, oe.Status, errBody{Error: apiErr{oe.Code, oe.Message}})
}

// readBody reads a bounded body (413 beyond MaxBody).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, errf(413, "body_too_large", "request body is larger than %d KiB", MaxBody>>10)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil, errf(408, "body_timeout", "the request body did not arrive in time")
	}
	if err != nil {
		return nil, errf(400, "bad_request", "reading the request body: %v", err)
	}
	return b, nil
}

// decodeBody decodes a JSON object strictly: unknown fields, wrong types
// and trailing data are 400s naming the problem. optional: an empty body
// is allowed (v keeps its zero value).
func decodeBody(body []byte, v any, optional bool) error {
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return errf(400, "invalid_json", "the request body is empty; a JSON object is required")
	}
	if err := exactKeys(body, v); err != nil {
		return err
	}
	// exactKeys has refused every key that is not a field (unknown_field),
	// by structure; DisallowUnknownFields stays as a backstop whose error
	// (encoding/json has no type for it) is plain invalid_json.
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
	case errors.As(err, &se):
		return errf(400, "invalid_json", "the request body is not valid JSON: %v (at byte %d)", se, se.Offset)
	case errors.As(err, &te):
		code := "invalid_field"
		if te.Field == "amount" {
			code = "invalid_amount"
		}
		want := te.Type.String()
		switch te.Type.Kind().String() {
		case "int64":
			want = "an integer number of cents"
		case "string":
			want = "a string"
		}
		field := te.Field
		if field == "" {
			field = "the body"
		}
		return errf(400, code, "%s must be %s, got %s", field, want, te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errf(400, "invalid_json", "the request body is truncated JSON")
	default:
		return errf(400, "invalid_json", "the request body is not valid JSON: %v", err)
	}
	if dec.More() {
		return errf(400, "invalid_json", "the request body has data after the JSON object")
	}
	return nil
}

// exactKeys checks the top level of a JSON object against the json tags
// of v's struct before encoding/json sees it, because encoding/json
// matches keys case-insensitively and lets a duplicate key win: an amount
// the POS did not mean. Every key must be a field's exact name, appear
// once, and not be null (no field of a request is nullable). A body that
// is not an object is left to the decoder's own error.
func exactKeys(body []byte, v any) error {
	fields := map[string]bool{}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			fields[name] = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil // the decoder says what is wrong
		}
		key, _ := tok.(string)
		if !fields[key] {
			for f := range fields {
				if strings.EqualFold(f, key) {
					return errf(400, "unknown_field", "field %q is not a field of this request (did you mean %q? keys are case-sensitive)", key, f)
				}
			}
			return errf(400, "unknown_field", "field %q is not a field of this request", key)
		}
		if seen[key] {
			return errf(400, "duplicate_field", "field %q appears more than once; send each field once", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil
		}
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			code := "invalid_field"
			if key == "amount" {
				code = "invalid_amount"
			}
			return errf(400, code, "field %q is null; give a value or leave the key out", key)
		}
	}
	return nil
}

// idemKey reads the Idempotency-Key header. required: a money-moving
// request without one is refused, because a POS that retries it after a
// time-out would otherwise move the money twice.
func idemKey(r *http.Request, body []byte, required bool) (IdemKey, error) {
	k := r.Header.Get("Idempotency-Key")
	if k == "" {
		if required {
			return IdemKey{}, errf(400, "idempotency_key_required",
				"%s %s moves money and needs an Idempotency-Key header (a unique string per intended operation, reused on every retry of it)", r.Method, r.URL.Path)
		}
		return IdemKey{}, nil
	}
	if len(k) > 255 {
		return IdemKey{}, errf(400, "invalid_idempotency_key", "Idempotency-Key is longer than 255 characters")
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", r.Method, r.URL.Path)
	h.Write(canonical(body))
	return IdemKey{Key: k, Hash: hex.EncodeToString(h.Sum(nil))}, nil
}

// canonical is the form of a body that an Idempotency-Key is bound to: a
// JSON object with its keys sorted and no insignificant space, so that the
// same request with its keys in another order is the same request. Numbers
// keep their literal text. A manager's approval (a PIN) is left out: it is
// not part of what is asked, and no hash of a PIN is kept. A body that is
// not a JSON object is taken as it is (the decoder refuses it anyway).
func canonical(body []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil || dec.More() || m == nil {
		return bytes.TrimSpace(body)
	}
	delete(m, "approval")
	out, err := json.Marshal(m)
	if err != nil {
		return bytes.TrimSpace(body)
	}
	return out
}

// request reads the body, its idempotency key and decodes it.
func request(w http.ResponseWriter, r *http.Request, v any, optional bool) (IdemKey, error) {
	return requestKey(w, r, v, optional, false)
}

// moneyRequest is request for the routes that move money: the
// Idempotency-Key is required.
func moneyRequest(w http.ResponseWriter, r *http.Request, v any, optional bool) (IdemKey, error) {
	return requestKey(w, r, v, optional, true)
}

func requestKey(w http.ResponseWriter, r *http.Request, v any, optional, keyRequired bool) (IdemKey, error) {
	body, err := readBody(w, r)
	if err != nil {
		return IdemKey{}, err
	}
	ik, err := idemKey(r, body, keyRequired)
	if err != nil {
		return IdemKey{}, err
	}
	if err := decodeBody(body, v, optional); err != nil {
		return IdemKey{}, err
	}
	return ik, nil
}

func (e *Engine) hCreate(w http.ResponseWriter, r *http.Request) {
	var req CreateRequest
	ik, err := moneyRequest(w, r, &req, false)
	if err != nil {
		writeErr(w, err)
		return
	}
	op, err := e.operator(req.Operator)
	if err != nil {
		writeErr(w, err)
		return
	}
	req.Operator, req.GatewayOperator = op.ID, op.GatewayID
	noteOf(r).operator, noteOf(r).amount = op.ID, req.Amount
	p, replayed, err := e.CreatePayment(r.Context(), req, ik)
	if err != nil {
		writeErr(w, err)
		return
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/v1/payments/"+p.ID)
	if p.State == Failed && p.Error != nil && p.Error.Code == "gateway_unreachable" {
		writeJSON(w, 503, errBody{Error: apiErr{p.Error.Code, p.Error.Message}, Payment: p})
		return
	}
	writeJSON(w, 201, p)
}

func (e *Engine) hGet(w http.ResponseWriter, r *http.Request) {
	p, err := e.Payment(r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, p)
}

func (e *Engine) hCode(w http.ResponseWriter, r *http.Request) {
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
		writeErr(w, errf(400, "invalid_code", `code is required: {"code":"<payment code>"}`))
		return
	}
	p, err := e.GiveCode(r.Context(), r.PathValue("id"), code, ik)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, p)
}

func (e *Engine) hCancel(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	ik, err := moneyRequest(w, r, &req, true)
	if err != nil {
		writeErr(w, err)
		return
	}
	p, err := e.Cancel(r.Context(), r.PathValue("id"), ik)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, p)
}

func (e *Engine) hResolve(w http.ResponseWriter, r *http.Request) {
	var req ResolveRequest
	ik, err := moneyRequest(w, r, &req, false)
	if err != nil {
		writeErr(w, err)
		return
	}
	p, err := e.Resolve(r.PathValue("id"), req, ik)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, p)
}

func (e *Engine) hReceipt(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	if _, err := request(w, r, &req, true); err != nil {
		writeErr(w, err)
		return
	}
	p, err := e.Reprint(r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 202, p)
}

func (e *Engine) hReceiptPNG(w http.ResponseWriter, r *http.Request) {
	p, err := e.payment(r.PathValue("id"))
	if err != nil {
		writeErr(w, err)
		return
	}
	if e.o.RenderReceipt == nil {
		writeErr(w, errf(404, "no_renderer", "receipt rendering is not available in this build"))
		return
	}
	png, err := e.o.RenderReceipt(e.Receipt(p, false))
	if err != nil {
		writeErr(w, fmt.Errorf("agent: render receipt %s: %w", p.ID, err))
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Write(png)
}

func (e *Engine) hScan(w http.ResponseWriter, r *http.Request) {
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
		writeErr(w, errf(400, "invalid_code", `code is required: {"code":"..."}`))
		return
	}
	if req.Device == "" {
		req.Device = "api"
	}
	if err := e.HandleScan(r.Context(), scanner.Scan{Code: req.Code, Symbology: req.Symbology, Device: req.Device, At: e.now()}); err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 202, map[string]any{"accepted": true})
}

// Status is GET /v1/status.
type Status struct {
	Version       string         `json:"version"`
	StartedAt     time.Time      `json:"started_at"`
	UptimeSeconds float64        `json:"uptime_seconds"`
	Devices       []DeviceStatus `json:"devices"`
	Gateway       GatewayStatus  `json:"gateway"`
	Outbox        OutboxStatus   `json:"outbox"`
	Journal       JournalStatus  `json:"journal"`
	OpenPayments  int            `json:"open_payments"`
	Cart          *Cart          `json:"cart"`
	// InDoubt lists the payments whose outcome the gateway has not told
	// yet: they keep being reconciled, or a manager resolves them by hand.
	InDoubt []InDoubtPayment `json:"in_doubt"`
	Clock   ClockStatus      `json:"clock"`
	// StoreErrors counts journal errors in background steps since start.
	StoreErrors int `json:"store_errors"`
	// API is how the local API is reached and protected.
	API APIStatus `json:"api"`
}

// APIStatus is the api part of /v1/status.
type APIStatus struct {
	// Open: no tokens are configured; loopback callers have every role.
	Open bool `json:"open"`
	// Roles lists the roles that have a token.
	Roles []Role `json:"roles"`
	// TLSFingerprint is the SHA-256 fingerprint of the API's certificate,
	// for a POS to pin ("" without TLS).
	TLSFingerprint string `json:"tls_fingerprint,omitempty"`
	Socket         string `json:"socket,omitempty"`
}

// InDoubtPayment is one in-doubt payment in /v1/status.
type InDoubtPayment struct {
	ID         string  `json:"id"`
	OrderID    string  `json:"order_id"`
	Amount     int64   `json:"amount"`
	AgeSeconds float64 `json:"age_seconds"`
}

// ClockStatus says whether the wall clock is believed.
type ClockStatus struct {
	Plausible bool   `json:"plausible"`
	Problem   string `json:"problem,omitempty"`
	Jumps     int    `json:"jumps"` // jumps against the monotonic clock since start
}

// OutboxStatus is the outbox part of /v1/status.
type OutboxStatus struct {
	Depth            int            `json:"depth"`
	OldestAgeSeconds float64        `json:"oldest_age_seconds"`
	ByKind           map[string]int `json:"by_kind"`
	LastError        string         `json:"last_error,omitempty"`
}

// JournalStatus is the journal part of /v1/status.
type JournalStatus struct {
	Path      string `json:"path"`
	SizeBytes int64  `json:"size_bytes"`
	LastSeq   uint64 `json:"last_event_seq"`
	// Backup: the newest verified backup (age_seconds -1: none yet).
	Backup store.BackupStatus `json:"backup"`
	// Check: how far the journal was checked (damaged: new payments refused).
	Check store.CheckStatus `json:"check"`
}

// Status reports the engine's state.
func (e *Engine) Status() Status {
	now := e.now()
	s := Status{Version: e.o.Version, StartedAt: e.realOrigin.UTC(), UptimeSeconds: e.mono().Seconds(),
		Devices: e.Devices(), Gateway: e.gw.status(), Outbox: e.outboxStatus(now), Cart: e.CurrentCart(),
		Journal: e.journalStatus(), API: e.apiStatus()}
	problem := e.clockProblem()
	e.mu.Lock()
	s.OpenPayments = len(e.active)
	var doubt []string
	for id, a := range e.active {
		if a.state == InDoubt {
			doubt = append(doubt, id)
		}
	}
	s.Clock = ClockStatus{Plausible: problem == "", Problem: problem, Jumps: e.jumps}
	s.StoreErrors = e.storeErrs
	e.mu.Unlock()
	sort.Strings(doubt)
	s.InDoubt = []InDoubtPayment{}
	e.st.View(func(tx *store.Tx) error {
		for _, id := range doubt {
			if p, err := tx.Payment(id); err == nil && p.State == InDoubt {
				s.InDoubt = append(s.InDoubt, InDoubtPayment{ID: p.ID, OrderID: p.OrderID, Amount: p.Amount, AgeSeconds: e.ageOf(p.CreatedAt).Seconds()})
			}
		}
		return nil
	})
	return s
}

// outboxStatus reads the outbox's counters (store.Tx.OutboxSummary), not
// its jobs.
func (e *Engine) outboxStatus(now time.Time) OutboxStatus {
	o := OutboxStatus{ByKind: map[string]int{}}
	e.st.View(func(tx *store.Tx) error {
		sum, err := tx.OutboxSummary()
		o.Depth, o.ByKind, o.LastError = sum.Depth, sum.ByKind, sum.LastError
		if age := now.Sub(sum.Oldest).Seconds(); sum.Depth > 0 && age > 0 {
			o.OldestAgeSeconds = age
		}
		return err
	})
	return o
}

func (e *Engine) hStatus(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, e.Status()) }

func (e *Engine) hSync(w http.ResponseWriter, r *http.Request) {
	n, err := e.Sync()
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 202, map[string]any{"jobs": n})
}

func (e *Engine) hCartGet(w http.ResponseWriter, r *http.Request) {
	c := e.CurrentCart()
	if c == nil {
		c = &Cart{Currency: e.o.Currency}
	}
	writeJSON(w, 200, c)
}

func (e *Engine) hCartPut(w http.ResponseWriter, r *http.Request) {
	var c Cart
	if _, err := request(w, r, &c, false); err != nil {
		writeErr(w, err)
		return
	}
	out, err := e.SetCart(c)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, out)
}

// hCartTip: the customer's tip choice from the display's touch screen (or
// the cashier's): {"percent": 15} or {"tip": 0}.
func (e *Engine) hCartTip(w http.ResponseWriter, r *http.Request) {
	var ch TipChoice
	if _, err := request(w, r, &ch, false); err != nil {
		writeErr(w, err)
		return
	}
	out, err := e.ChooseTip(ch)
	if err != nil {
		writeErr(w, err)
		return
	}
	writeJSON(w, 200, out)
}

func (e *Engine) hCartDelete(w http.ResponseWriter, r *http.Request) {
	if err := e.ClearCart(); err != nil {
		writeErr(w, err)
		return
	}
	w.WriteHeader(204)
}

// hExport: GET /v1/export?since=T&format=csv|json, payments created at or
// after T (RFC 3339 or YYYY-MM-DD; default: all), oldest first.
func (e *Engine) hExport(w http.ResponseWriter, r *http.Request) {
	since, format, err := parseExport(r)
	if err != nil {
		writeErr(w, err)
		return
	}
	e.writeExport(w, since, format, exportField{"audit", func() (any, error) { return e.AuditTrail(since, 0) }})
}
