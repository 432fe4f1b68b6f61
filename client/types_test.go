package client_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/agent/books"
	"github.com/posagent/posagent/agent/refund"
	"github.com/posagent/posagent/agent/view"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/feed"
	"github.com/posagent/posagent/store"
)

// fill sets every field of v (a pointer) to a value that is not zero:
// strings name their field, numbers are 7, times are one instant, a
// pointer, slice or map gets one element. Unexported fields and fields
// not in the JSON are left alone.
func fill(v reflect.Value, name string, depth int) {
	if depth > 8 {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), name, depth+1)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 12, 7, 9, 30, 0, 0, time.UTC)))
			return
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() || f.Tag.Get("json") == "-" {
				continue
			}
			fill(v.Field(i), f.Name, depth+1)
		}
	case reflect.Slice:
		if v.Type() == reflect.TypeFor[json.RawMessage]() {
			v.SetBytes([]byte(`{"filled":true}`))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), name, depth+1)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, name, depth+1)
		fill(e, name, depth+1)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		v.SetString("s-" + name)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	}
}

// TestTypesMatchTheAPI: the daemon's own answer types, every field set,
// encoded as the API encodes them, decode into the client's types with
// no field unknown, and the client's types encode them back the same: a
// field added to the API and not here (or the other way round) fails.
func TestTypesMatchTheAPI(t *testing.T) {
	// GET /v1/status is the engine's status with the API's and the feed's.
	type status struct {
		view.Status
		API  api.APIStatus `json:"api"`
		Feed *feed.Status  `json:"feed,omitempty"`
	}
	// POST /v1/config/reload (cmd/posagent's reloadResult).
	type reload struct {
		OK       bool             `json:"ok"`
		File     string           `json:"file,omitempty"`
		Applied  []config.Change  `json:"applied"`
		Restart  []config.Change  `json:"restart"`
		Problems []config.Problem `json:"problems,omitempty"`
		Error    string           `json:"error,omitempty"`
		Warnings []string         `json:"warnings,omitempty"`
	}
	for _, tc := range []struct {
		name       string
		api, local any
	}{
		{"payment", &agent.Payment{}, &client.Payment{}},
		{"event", &agent.Event{}, &client.Event{}},
		{"cart", &agent.Cart{}, &client.Cart{}},
		{"status", &status{}, &client.Status{}},
		{"shift", &store.Shift{}, &client.Shift{}},
		{"report", &books.Report{}, &client.Report{}},
		{"z record", &store.ZRecord{}, &client.ZRecord{}},
		{"reconciliation", &books.Reconciliation{}, &client.Reconciliation{}},
		{"audit entry", &view.AuditEntry{}, &client.AuditEntry{}},
		{"reload", &reload{}, &client.ReloadResult{}},
		{"create request", &agent.CreateRequest{}, &client.PaymentRequest{}},
		{"resolve request", &agent.ResolveRequest{}, &client.ResolveRequest{}},
		{"refund resolve request", &refund.ResolveRequest{}, &client.ResolveRequest{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fill(reflect.ValueOf(tc.api).Elem(), "", 0)
			want, err := json.Marshal(tc.api)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(want))
			dec.DisallowUnknownFields()
			if err := dec.Decode(tc.local); err != nil {
				t.Fatalf("the API's %s does not decode into %T: %v\n%s", tc.name, tc.local, err, want)
			}
			got, err := json.Marshal(tc.local)
			if err != nil {
				t.Fatal(err)
			}
			var w, g any
			json.Unmarshal(want, &w)
			json.Unmarshal(got, &g)
			if !reflect.DeepEqual(w, g) {
				t.Fatalf("%T does not carry the API's %s:\n api    %s\n client %s", tc.local, tc.name, want, got)
			}
		})
	}
}
