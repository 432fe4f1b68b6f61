package ottsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/internal/envelope"
	"github.com/posagent/posagent/money"
	"github.com/posagent/posagent/paycode"
)

// maxBody bounds a request body.
const maxBody = 64 << 10

// Handler serves POST /processV2 (the protocol), GET /_sim/ledger,
// GET and POST /_sim/faults, and GET or POST /_sim/pay/{order_id} (the
// customer opening a code_url).
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /processV2", s.serveProcess)
	mux.HandleFunc("GET /_sim/ledger", s.serveLedger)
	mux.HandleFunc("GET /_sim/faults", s.serveFaults)
	mux.HandleFunc("POST /_sim/faults", s.serveFaults)
	mux.HandleFunc("GET /_sim/pay/{order_id}", s.servePay)
	mux.HandleFunc("POST /_sim/pay/{order_id}", s.servePay)
	return mux
}

// reply is the answer to one processV2 request.
type reply struct {
	code, msg string
	data      envelope.Fields // nil: no data in the answer
	drop      bool            // close the connection instead of answering
	delay     time.Duration   // answer this late (already scaled)
}

func refuse(code, format string, args ...any) reply {
	return reply{code: code, msg: fmt.Sprintf(format, args...)}
}

func (s *Sim) serveProcess(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	s.mu.Lock()
	f := s.faults
	drop := f.DropRate > 0 && s.rng.Float64() < f.DropRate
	fail := !drop && f.ErrorRate > 0 && s.rng.Float64() < f.ErrorRate
	lost := !drop && !fail && f.LostRate > 0 && s.rng.Float64() < f.LostRate
	s.mu.Unlock()
	if !sleep(ctx, s.scaled(time.Duration(f.LatencyMS)*time.Millisecond)) {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return
	}
	var rep reply
	switch {
	case drop:
		rep = reply{drop: true}
		s.log.Info("ottsim: fault: connection dropped without acting")
	case fail:
		rep = refuse(gateway.CodeSystemError, "simulated system error (fault injection), nothing done")
	case len(body) > maxBody:
		rep = refuse(gateway.CodeParamError, "request body larger than %d bytes", maxBody)
	default:
		rep = s.process(r, body)
		if lost {
			rep.drop = true
			s.log.Info("ottsim: fault: acted, then the connection dropped before the answer")
		}
	}
	if rep.drop {
		panic(http.ErrAbortHandler) // the server closes the connection, no answer
	}
	if rep.delay > 0 && !sleep(ctx, rep.delay) {
		return
	}
	s.writeReply(w, rep)
}

func (s *Sim) writeReply(w http.ResponseWriter, rep reply) {
	env := envelope.ResponseEnvelope{RspCode: rep.code, RspMsg: rep.msg}
	if rep.data != nil {
		data, digest, err := envelope.Seal(rep.data, s.o.SignKey)
		if err != nil {
			env = envelope.ResponseEnvelope{RspCode: gateway.CodeSystemError, RspMsg: "simulator could not seal its answer"}
		} else {
			env.Data, env.MD5 = data, digest
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(env)
}

// process decrypts, verifies and acts on one request.
func (s *Sim) process(r *http.Request, body []byte) reply {
	var env envelope.RequestEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return refuse(gateway.CodeParamError, "request body is not a JSON envelope")
	}
	for _, req := range []struct{ name, v string }{
		{"action", env.Action}, {"version", env.Version}, {"merchant_id", env.MerchantID},
		{"data", env.Data}, {"md5", env.MD5},
	} {
		if req.v == "" {
			return refuse(gateway.CodeParamError, "%s is required", req.name)
		}
	}
	if env.Version != gateway.Version {
		return refuse(gateway.CodeParamInvalid, "version %q is not supported", env.Version)
	}
	if env.MerchantID != s.o.MerchantID {
		return refuse(gateway.CodeParamInvalid, "merchant_id %q does not exist", env.MerchantID)
	}
	f, err := envelope.Open(env.Data, env.MD5, s.o.SignKey)
	switch {
	case errors.Is(err, envelope.ErrBase64), errors.Is(err, envelope.ErrBlockSize):
		return refuse(gateway.CodeParamError, "data is malformed")
	case err != nil:
		return refuse(gateway.CodeFail, "signature verification failed")
	}
	var rep reply
	switch env.Action {
	case gateway.ActionPassivePay:
		rep = s.passivePay(f)
	case gateway.ActionActivePay:
		rep = s.activePay(r, f)
	case gateway.ActionStatusQuery:
		rep = s.statusQuery(f)
	case gateway.ActionRefund:
		rep = s.refund(f)
	case gateway.ActionExRateQuery:
		rep = s.exRate(f)
	default:
		rep = refuse(gateway.CodeParamInvalid, "action %q is not supported", env.Action)
	}
	attrs := []any{"action", env.Action, "rsp_code", rep.code}
	if v := f.Value("order_id"); v != "" {
		attrs = append(attrs, "order_id", v)
	}
	if v := f.Value("amount"); v != "" {
		attrs = append(attrs, "amount", v)
	}
	if v := f.Value("auth_code"); v != "" {
		attrs = append(attrs, "auth_code", paycode.Mask(v))
	}
	if rep.drop {
		attrs = append(attrs, "reply", "dropped")
	} else if rep.delay > 0 {
		attrs = append(attrs, "reply_delay", rep.delay)
	}
	s.log.Info("ottsim: request", attrs...)
	return rep
}

// required returns a PARAM_ERROR reply naming the first missing field.
func required(f envelope.Fields, names ...string) (reply, bool) {
	for _, n := range names {
		if v, ok := f.Get(n); !ok || v == "" {
			return refuse(gateway.CodeParamError, "%s is required", n), false
		}
	}
	return reply{}, true
}

func validOrderID(id string) bool {
	if id == "" || len(id) > 20 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// cents parses a positive amount of cents.
func cents(v string) (int64, bool) {
	if v == "" || len(v) > 12 {
		return 0, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n > 0
}

var walletOf = map[string]string{"WECHATPAY": "wechat", "ALIPAY": "alipay", "UNIONPAY": "unionpay"}

// newOrder checks the fields common to PASSIVEPAY and ACTIVEPAY.
func (s *Sim) newOrder(action string, f envelope.Fields) (*order, reply, bool) {
	id := f.Value("order_id")
	if !validOrderID(id) {
		return nil, refuse(gateway.CodeParamInvalid, "order_id %q: up to 20 letters and digits", id), false
	}
	amount, ok := cents(f.Value("amount"))
	if !ok {
		return nil, refuse(gateway.CodeParamInvalid, "amount %q: a positive integer of cents", f.Value("amount")), false
	}
	wallet, ok := walletOf[f.Value("biz_type")]
	if !ok {
		return nil, refuse(gateway.CodeParamInvalid, "biz_type %q: WECHATPAY, ALIPAY or UNIONPAY", f.Value("biz_type")), false
	}
	var tip int64
	if v, ok := f.Get("tip"); ok && v != "0" {
		if tip, ok = cents(v); !ok {
			return nil, refuse(gateway.CodeParamInvalid, "tip %q: an integer of cents", v), false
		}
	}
	saleNum := f.Value("sale_num")
	if len(saleNum) > gateway.MaxSaleNum {
		return nil, refuse(gateway.CodeParamInvalid, "sale_num %q: at most %d characters", saleNum, gateway.MaxSaleNum), false
	}
	return &order{
		Order: Order{OrderID: id, Action: action, Wallet: wallet, Amount: amount, Tip: tip, Fee: s.o.ConvenienceFee,
			SaleNum: saleNum, Status: gateway.StatusNotPay, Refunds: []Refund{}, CreatedAt: s.now().UTC()},
		digits: amount % 100,
	}, reply{}, true
}

// used reports whether id is taken by an order or a refund. mu held.
func (s *Sim) used(id string) bool {
	_, a := s.orders[id]
	_, b := s.refundOf[id]
	return a || b
}

func (s *Sim) add(o *order) { // mu held
	s.orders[o.OrderID] = o
	s.ids = append(s.ids, o.OrderID)
}

func (s *Sim) passivePay(f envelope.Fields) reply {
	if rep, ok := required(f, "order_id", "operator_id", "amount", "auth_code", "biz_type"); !ok {
		return rep
	}
	o, rep, ok := s.newOrder(gateway.ActionPassivePay, f)
	if !ok {
		return rep
	}
	code := f.Value("auth_code")
	if len(code) < 16 || len(code) > 32 || strings.Trim(code, "0123456789") != "" {
		return refuse(gateway.CodeParamInvalid, "auth_code is not a payment code")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used(o.OrderID) {
		return refuse(gateway.CodeOrderUsed, "order_id %s already used", o.OrderID)
	}
	now := s.now()
	if rep, ok := s.useCode(code, o.OrderID, now); !ok {
		return rep
	}
	o.AuthCode = code
	charge := func() { o.Status, o.Charged, o.paidAt = gateway.StatusSuccess, o.total(), now }
	data := func() envelope.Fields {
		d := withTip(envelope.Fields{
			{Key: "order_id", Value: o.OrderID},
			{Key: "order_status", Value: o.Status},
			{Key: "total_amount", Value: strconv.FormatInt(o.total(), 10)},
		}, o)
		if o.Status == gateway.StatusSuccess {
			d = append(d, envelope.Field{Key: "buyer_login_id", Value: "sim_" + o.Wallet + "_buyer"},
				envelope.Field{Key: "trade_time", Value: now.UTC().Format("20060102150405")},
				envelope.Field{Key: "bizpay_order_id", Value: o.walletTxn()})
		}
		return d
	}
	s.add(o)
	switch o.digits {
	case 1:
		o.Status = gateway.StatusFailure
		return reply{code: gateway.CodeFail, msg: "declined by the wallet (simulated: amount ends in 01)", data: data()}
	case 2:
		o.payAt = now.Add(s.scaled(s.o.PaidAfter))
		return reply{code: gateway.CodeProcessing, msg: "waiting for the customer to confirm (simulated: 02)", data: data()}
	case 3:
		o.closeAt = now.Add(s.scaled(s.o.CloseAfter))
		return reply{code: gateway.CodeProcessing, msg: "waiting for the customer to confirm (simulated: 03, never paid)", data: data()}
	case 4:
		charge()
		return reply{drop: true}
	case 5:
		charge()
		return refuse(gateway.CodeSystemError, "system error (simulated: 05, the order was charged)")
	case 6:
		charge()
		return reply{code: gateway.CodeSuccess, msg: "success", data: data(), delay: s.scaled(s.o.SlowReply)}
	}
	charge()
	return reply{code: gateway.CodeSuccess, msg: "success", data: data()}
}

func (s *Sim) activePay(r *http.Request, f envelope.Fields) reply {
	if rep, ok := required(f, "order_id", "operator_id", "amount", "biz_type", "call_back_url"); !ok {
		return rep
	}
	o, rep, ok := s.newOrder(gateway.ActionActivePay, f)
	if !ok {
		return rep
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used(o.OrderID) {
		return refuse(gateway.CodeOrderUsed, "order_id %s already used", o.OrderID)
	}
	now := s.now()
	base := s.baseURL
	if base == "" {
		base = "http://" + r.Host
	}
	codeURL := strings.TrimRight(base, "/") + "/_sim/pay/" + o.OrderID
	data := envelope.Fields{{Key: "order_id", Value: o.OrderID}, {Key: "code_url", Value: codeURL}}
	s.add(o)
	o.cbURL = f.Value("call_back_url")
	o.closeAt = now.Add(s.scaled(s.o.QRTimeout))
	switch o.digits {
	case 1:
		o.Status, o.closeAt = gateway.StatusFailure, time.Time{}
		return refuse(gateway.CodeFail, "ACTIVEPAY refused (simulated: amount ends in 01)")
	case 3:
		o.closeAt = now.Add(s.scaled(s.o.CloseAfter))
	case 4:
		return reply{drop: true}
	case 5:
		return refuse(gateway.CodeSystemError, "system error (simulated: 05, the order exists unpaid)")
	case 6:
		return reply{code: gateway.CodeSuccess, msg: "success", data: data, delay: s.scaled(s.o.SlowReply)}
	}
	return reply{code: gateway.CodeSuccess, msg: "success", data: data}
}

func (s *Sim) statusQuery(f envelope.Fields) reply {
	if rep, ok := required(f, "order_id"); !ok {
		return rep
	}
	id := f.Value("order_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.orders[id]; ok {
		s.settle(o, s.now())
		return reply{code: gateway.CodeSuccess, msg: "success", data: o.buyer(withTip(envelope.Fields{
			{Key: "order_id", Value: o.OrderID},
			{Key: "order_status", Value: o.Status},
			{Key: "amount", Value: strconv.FormatInt(o.Amount, 10)},
			{Key: "total_amount", Value: strconv.FormatInt(o.total(), 10)},
			{Key: "refund_amount", Value: strconv.FormatInt(o.Refunded, 10)},
			{Key: "bizpay_order_id", Value: o.walletTxn()},
		}, o))}
	}
	if _, ok := s.refundOf[id]; ok {
		// OTTPay documents STATUS_QUERY for payment orders only: a refund
		// shows on its original order (order_status, refund_amount).
		return refuse(gateway.CodeFail, "order %s not found (a refund is reported on its original order)", id)
	}
	return refuse(gateway.CodeFail, "order %s not found", id)
}

func (s *Sim) refund(f envelope.Fields) reply {
	if rep, ok := required(f, "ori_order_id", "refund_amt"); !ok {
		return rep
	}
	amount, ok := cents(f.Value("refund_amt"))
	if !ok {
		return refuse(gateway.CodeParamInvalid, "refund_amt %q: a positive integer of cents", f.Value("refund_amt"))
	}
	ori := f.Value("ori_order_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	id, given := f.Get("order_id")
	if !given || id == "" {
		s.nextRef++
		id = fmt.Sprintf("SIMRF%08d", s.nextRef)
	} else if !validOrderID(id) {
		return refuse(gateway.CodeParamInvalid, "order_id %q: up to 20 letters and digits", id)
	}
	if s.used(id) {
		return refuse(gateway.CodeOrderUsed, "order_id %s already used", id)
	}
	o, ok := s.orders[ori]
	if !ok {
		return refuse(gateway.CodeFail, "original order %s not found", ori)
	}
	s.settle(o, s.now())
	if o.Status != gateway.StatusSuccess && o.Status != gateway.StatusPartialRefunded {
		return refuse(gateway.CodeFail, "order %s cannot be refunded: it is %s", ori, o.Status)
	}
	if left := o.Charged - o.Refunded; amount > left {
		return refuse(gateway.CodeFail, "refund_amt %d exceeds the %d cents left to refund on %s", amount, left, ori)
	}
	o.Refunds = append(o.Refunds, Refund{OrderID: id, Amount: amount})
	o.Refunded += amount
	o.Status = gateway.StatusPartialRefunded
	if o.Refunded == o.Charged {
		o.Status = gateway.StatusFullyRefunded
	}
	s.refundOf[id] = ori
	return reply{code: gateway.CodeSuccess, msg: "success", data: envelope.Fields{
		{Key: "order_id", Value: id},
		{Key: "ori_order_id", Value: ori},
		{Key: "refund_amt", Value: strconv.FormatInt(amount, 10)},
	}}
}

func (s *Sim) exRate(f envelope.Fields) reply {
	if rep, ok := required(f, "fee_type"); !ok {
		return rep
	}
	ft := f.Value("fee_type")
	rate, ok := s.rates[ft]
	if !ok {
		return refuse(gateway.CodeParamInvalid, "fee_type %q is not supported", ft)
	}
	return reply{code: gateway.CodeSuccess, msg: "success", data: envelope.Fields{
		{Key: "fee_type", Value: ft},
		{Key: "rate", Value: strconv.FormatInt(rate, 10)},
	}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

type errorBody struct {
	Error string `json:"error"`
}

func (s *Sim) serveLedger(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Orders []Order `json:"orders"`
	}{s.Ledger()})
}

// faultsView is GET /_sim/faults: the faults plus when a downtime ends.
type faultsView struct {
	Faults
	DownUntil *time.Time `json:"down_until,omitempty"`
}

func (s *Sim) serveFaults(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		var f Faults
		dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{"faults: " + err.Error() +
				` (want {"latency_ms":0,"error_rate":0.0,"drop_rate":0.0,"down_for_ms":0})`})
			return
		}
		if err := f.validate(); err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{"faults: " + err.Error()})
			return
		}
		s.mu.Lock()
		running := s.running
		s.mu.Unlock()
		if f.DownForMS > 0 && !running {
			writeJSON(w, http.StatusConflict, errorBody{"faults: down_for_ms needs the simulator started by Run (posagent sim): there is no listener to close"})
			return
		}
		s.SetFaults(f)
	}
	s.mu.Lock()
	v := faultsView{Faults: s.faults}
	if !s.downUntil.IsZero() {
		t := s.downUntil.UTC()
		v.DownUntil = &t
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, v)
}

// servePay is the customer opening code_url (GET, a small HTML page) or
// `posagent sim pay` (POST, JSON).
func (s *Sim) servePay(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("order_id")
	err := s.Pay(id)
	var o *Order
	for _, x := range s.Ledger() {
		if x.OrderID == id {
			o = &x
			break
		}
	}
	if r.Method == http.MethodPost {
		status := http.StatusOK
		switch {
		case errors.Is(err, ErrUnknownOrder):
			status = http.StatusNotFound
		case err != nil:
			status = http.StatusConflict
		}
		out := struct {
			Error string `json:"error,omitempty"`
			Order *Order `json:"order,omitempty"`
		}{Order: o}
		if err != nil {
			out.Error = err.Error()
		}
		writeJSON(w, status, out)
		return
	}
	title, text := "Paid", "The simulated customer has paid."
	status := http.StatusOK
	switch {
	case errors.Is(err, ErrUnknownOrder):
		title, text, status = "Unknown order", "No order "+id+" at this simulator.", http.StatusNotFound
	case err != nil:
		title, text, status = "Not paid", err.Error(), http.StatusConflict
	case o != nil && o.Status == gateway.StatusNotPay:
		title, text = "Confirming", "The simulated customer is confirming the payment in the app; it will be paid shortly."
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	amount := ""
	if o != nil {
		amount = fmt.Sprintf("<p>%s %s (%s)</p>", html.EscapeString(o.Wallet), money.Amount(o.Amount), html.EscapeString(o.Status))
	}
	fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>OTTPay simulator: %s</title></head><body style="font-family:sans-serif;text-align:center;margin-top:3em">
<h1>%s</h1><p>Order %s</p>%s<p>%s</p></body></html>
`, html.EscapeString(title), html.EscapeString(title), html.EscapeString(id), amount, html.EscapeString(text))
}
