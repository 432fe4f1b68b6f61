package api

// Requests: reading a body within its bounds, decoding it strictly (exact
// keys, no duplicates, no nulls), the Idempotency-Key bound to it, and the
// JSON answers and errors.

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
	"strings"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/operr"
)

// MaxBody bounds every request body (413 beyond it).
const MaxBody = 64 << 10

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

type errBody struct {
	Error   apiErr         `json:"error"`
	Payment *agent.Payment `json:"payment,omitempty"`
}

type apiErr struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func writeErr(w http.ResponseWriter, err error) {
	status, code, msg := answer(err)
	writeJSON(w, status, errBody{Error: apiErr{string(code), msg}})
}

// readBody reads a bounded body (413 beyond MaxBody).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, errf(CodeBodyTooLarge, "request body is larger than %d KiB", MaxBody>>10)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return nil, errf(CodeBodyTimeout, "the request body did not arrive in time")
	}
	if err != nil {
		return nil, errf(CodeBadRequest, "reading the request body: %v", err)
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
		return errf(CodeInvalidJSON, "the request body is empty; a JSON object is required")
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
		return errf(CodeInvalidJSON, "the request body is not valid JSON: %v (at byte %d)", se, se.Offset)
	case errors.As(err, &te):
		te.Field = jsonPath(te.Field)
		code := operr.CodeInvalidField
		if te.Field == "amount" {
			code = operr.CodeInvalidAmount
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
		return errf(code, "%s must be %s, got %s", field, want, te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return errf(CodeInvalidJSON, "the request body is truncated JSON")
	default:
		return errf(CodeInvalidJSON, "the request body is not valid JSON: %v", err)
	}
	if dec.More() {
		return errf(CodeInvalidJSON, "the request body has data after the JSON object")
	}
	return nil
}

// jsonPath is a decoding error's field path without the names of
// embedded structs that encoding/json puts in it ("CreateRequest.amount"
// is "amount"): Go type names are capitalised, this API's keys never.
func jsonPath(p string) string {
	for {
		head, rest, ok := strings.Cut(p, ".")
		if !ok || head == "" || head[0] < 'A' || head[0] > 'Z' {
			return p
		}
		p = rest
	}
}

// jsonFields adds the JSON keys of struct type t to fields, with their
// types, those of an embedded struct without a tag too (encoding/json
// promotes them).
func jsonFields(t reflect.Type, fields map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
			jsonFields(f.Type, fields)
		case name != "" && name != "-":
			fields[name] = f.Type
		}
	}
}

// exactKeys checks the top level of a JSON object against the json tags
// of v's struct before encoding/json sees it, because encoding/json
// matches keys case-insensitively and lets a duplicate key win: an amount
// the POS did not mean. Every key must be a field's exact name, appear
// once, and not be null (no field of a request is nullable). A body that
// is not an object is left to the decoder's own error.
func exactKeys(body []byte, v any) error {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	return exactKeysOf(body, t, "")
}

// exactKeysOf is exactKeys for struct type t; a field that is itself a
// struct (the refund's "approval") is checked the same way, its keys
// named with the parent's ("approval.pin").
func exactKeysOf(body []byte, t reflect.Type, prefix string) error {
	fields := map[string]reflect.Type{}
	jsonFields(t, fields)
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
		ft, ok := fields[key]
		if !ok {
			for f := range fields {
				if strings.EqualFold(f, key) {
					return errf(CodeUnknownField, "field %q is not a field of this request (did you mean %q? keys are case-sensitive)", prefix+key, prefix+f)
				}
			}
			return errf(CodeUnknownField, "field %q is not a field of this request", prefix+key)
		}
		if seen[key] {
			return errf(CodeDuplicateField, "field %q appears more than once; send each field once", prefix+key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil
		}
		if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			code := operr.CodeInvalidField
			if key == "amount" {
				code = operr.CodeInvalidAmount
			}
			return errf(code, "field %q is null; give a value or leave the key out", prefix+key)
		}
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft.NumField() > 0 && ft.Field(0).Tag.Get("json") != "" {
			if err := exactKeysOf(raw, ft, prefix+key+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

// idemKey reads the Idempotency-Key header. required: a money-moving
// request without one is refused, because a POS that retries it after a
// time-out would otherwise move the money twice.
func idemKey(r *http.Request, body []byte, required bool) (agent.IdemKey, error) {
	k := r.Header.Get("Idempotency-Key")
	if k == "" {
		if required {
			return agent.IdemKey{}, errf(CodeIdempotencyKeyMissing,
				"%s %s moves money and needs an Idempotency-Key header (a unique string per intended operation, reused on every retry of it)", r.Method, r.URL.Path)
		}
		return agent.IdemKey{}, nil
	}
	if len(k) > 255 {
		return agent.IdemKey{}, errf(CodeInvalidIdempotencyKey, "Idempotency-Key is longer than 255 characters")
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", r.Method, r.URL.Path)
	h.Write(canonical(body))
	return agent.IdemKey{Key: k, Hash: hex.EncodeToString(h.Sum(nil))}, nil
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
func request(w http.ResponseWriter, r *http.Request, v any, optional bool) (agent.IdemKey, error) {
	return requestKey(w, r, v, optional, false)
}

// moneyRequest is request for the routes that move money: the
// Idempotency-Key is required.
func moneyRequest(w http.ResponseWriter, r *http.Request, v any, optional bool) (agent.IdemKey, error) {
	return requestKey(w, r, v, optional, true)
}

func requestKey(w http.ResponseWriter, r *http.Request, v any, optional, keyRequired bool) (agent.IdemKey, error) {
	body, err := readBody(w, r)
	if err != nil {
		return agent.IdemKey{}, err
	}
	ik, err := idemKey(r, body, keyRequired)
	if err != nil {
		return agent.IdemKey{}, err
	}
	if err := decodeBody(body, v, optional); err != nil {
		return agent.IdemKey{}, err
	}
	return ik, nil
}
