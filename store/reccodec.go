package store

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
)

// Payment records are stored compressed (those that seal a code
// excepted: PutPayment): a payment is some 830 bytes of
// JSON, most of it field names, states and stamps that every payment
// repeats; DEFLATE with a preset dictionary (a typical payment, payDict)
// stores it in some 150 (bench.md). A packed record is
//
//	0x01 | DEFLATE(json, payDict) | CRC-32 (IEEE, big-endian) of json
//
// A JSON record starts with '{', so the first byte tells the two apart,
// and records written before this (or by salvage from them) read as they
// are. The checksum makes any damage to a packed record an unreadable
// record (a changed byte of plain JSON could go unseen). payDict is part
// of the format: it never changes; another dictionary takes another tag.

const packFlate1 = 0x01

var (
	errPacked = errors.New("packed record damaged")
	// payDict is the dictionary of packFlate1: the fields of a payment in
	// the order PutPayment writes them, with typical values (most used
	// last: DEFLATE's nearer matches cost fewer bits).
	payDict = []byte(`{"id":"pay_0dnecere1va37y1d0ji","order_id":"P261207080403RUDX63F","amount":1000,"state":"pending","auto":true,"error":{"code":"","message":""},"history":[{"state":"pending","at":"2026-12-07T08:04:03.505153919Z"}],"operator":"","approved_by":"","behind":"","sent_at":"","ambiguous":"","retry_of":"","resolution":{"outcome":"not_paid","reason":"","operator":"","at":"","confirmed":true,"contradicted":"","unanswered":true,"checked_at":""},"refunded":0,"paid_late":true,"cancel_requested":true,"reason":"waiting_for_customer","attempts":1,"duplicate_of":"pay_","tip":0,"gateway_operator":"","code_url":"https://","qr_expires_at":"","auth_code_sealed":"v1.1.","error":{"code":"USERPAYING","message":"declined"},` +
		`"answer":{"action":"STATUS_QUERY","sent":true,"answered":true,"rsp_code":"FAIL","order_status":"failed","outcome":"failed","at":"2026-12-07T08:04:03.640377993Z"},"history":[{"state":"queued","at":"2026-12-07T08:04:03.505153919Z","retries":1},{"state":"in_doubt","at":"2026-12-07T08:04:03.648534609Z"},{"state":"failed","at":"2026-12-07T08:04:03.648534609Z"}],"wallet":"alipay","wallet_side":{"buyer_login_id":"","trade_time":"20261207080403","transaction_id":"2026120722001","total":1000}}` +
		`{"id":"pay_0dnecere2evfxlw3g6l","order_id":"P261207080403GE1OV5M","reference":"B-1000","mode":"scan","wallet":"wechat","amount":5460,"currency":"CAD","state":"succeeded","auth_code_masked":"1300**********4998","code_at":"2026-12-07T08:04:03.505168557Z","created_at":"2026-12-07T08:04:03.505168557Z","updated_at":"2026-12-07T08:04:03.649436183Z","history":[{"state":"processing","at":"2026-12-07T08:04:03.50608042Z"},{"state":"succeeded","at":"2026-12-07T08:04:03.649436183Z"}],"refunds":[],"last_outcome":"paid","answer":{"action":"PASSIVEPAY","sent":true,"answered":true,"rsp_code":"SUCCESS","order_status":"success","outcome":"paid","at":"2026-12-07T08:04:03.640377993Z"},"shift":1,"wallet_side":{"buyer_login_id":"","trade_time":"20261207080403","transaction_id":"4200020261207088805476469124","total":5460}}`)
	packWriters = sync.Pool{New: func() any {
		w, err := flate.NewWriterDict(io.Discard, flate.BestCompression, payDict)
		if err != nil {
			panic(err) // only for a bad level
		}
		return w
	}}
	packReaders = sync.Pool{New: func() any { return flate.NewReaderDict(bytes.NewReader(nil), payDict) }}
)

// packPayment returns what to store for a payment's JSON: packed, or the
// JSON itself when packing does not make it smaller.
func packPayment(js []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(js)/3 + 8)
	buf.WriteByte(packFlate1)
	w := packWriters.Get().(*flate.Writer)
	defer packWriters.Put(w)
	w.Reset(&buf)
	if _, err := w.Write(js); err != nil || w.Close() != nil {
		return js
	}
	buf.Write(binary.BigEndian.AppendUint32(nil, crc32.ChecksumIEEE(js)))
	if buf.Len() >= len(js) {
		return js
	}
	return buf.Bytes()
}

// unpackPayment returns a stored payment's JSON.
func unpackPayment(v []byte) ([]byte, error) {
	if len(v) == 0 || v[0] != packFlate1 {
		return v, nil // JSON (or not: the decoder says so)
	}
	if len(v) < 1+4 {
		return nil, fmt.Errorf("%w: %d bytes", errPacked, len(v))
	}
	body, sum := v[1:len(v)-4], binary.BigEndian.Uint32(v[len(v)-4:])
	r := packReaders.Get().(io.ReadCloser)
	defer packReaders.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(body), payDict); err != nil {
		return nil, fmt.Errorf("%w: %v", errPacked, err)
	}
	// A record is a few KB at most; a stream that inflates beyond 1 MiB
	// is damage, not a payment.
	js, err := io.ReadAll(io.LimitReader(r, 1<<20+1))
	if err != nil || len(js) > 1<<20 {
		return nil, fmt.Errorf("%w: %v", errPacked, err)
	}
	if crc32.ChecksumIEEE(js) != sum {
		return nil, fmt.Errorf("%w: checksum", errPacked)
	}
	return js, nil
}
