package record

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Payment records are stored compressed (those that seal a code
// excepted: store.Tx.PutPayment): a payment is some 830 bytes of
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

const (
	PackFlate1 = 0x01 // the tag of a packed payment (payDict)
	PackFlate2 = 0x02 // the tag of a packed event (evDict)
	// packLevel: DEFLATE's default level; with the dictionary most of the
	// time (some 60 µs a payment, BenchmarkPackPayment) is its hashing.
	packLevel = flate.DefaultCompression
)

var (
	// ErrPacked: a packed record that does not unpack (damage).
	ErrPacked = errors.New("packed record damaged")
	// payDict is the dictionary of PackFlate1: the fields of a payment in
	// the order PutPayment writes them, with typical values (most used
	// last: DEFLATE's nearer matches cost fewer bits).
	payDict = []byte(`{"id":"pay_0dnecere1va37y1d0ji","order_id":"P261207080403RUDX63F","amount":1000,"state":"pending","auto":true,"error":{"code":"","message":""},"history":[{"state":"pending","at":"2026-12-07T08:04:03.505153919Z"}],"operator":"","approved_by":"","behind":"","sent_at":"","ambiguous":"","retry_of":"","resolution":{"outcome":"not_paid","reason":"","operator":"","at":"","confirmed":true,"contradicted":"","unanswered":true,"checked_at":""},"refunded":0,"paid_late":true,"cancel_requested":true,"reason":"waiting_for_customer","attempts":1,"duplicate_of":"pay_","tip":0,"gateway_operator":"","code_url":"https://","qr_expires_at":"","auth_code_sealed":"v1.1.","error":{"code":"USERPAYING","message":"declined"},` +
		`"answer":{"action":"STATUS_QUERY","sent":true,"answered":true,"rsp_code":"FAIL","order_status":"failed","outcome":"failed","at":"2026-12-07T08:04:03.640377993Z"},"history":[{"state":"queued","at":"2026-12-07T08:04:03.505153919Z","retries":1},{"state":"in_doubt","at":"2026-12-07T08:04:03.648534609Z"},{"state":"failed","at":"2026-12-07T08:04:03.648534609Z"}],"wallet":"alipay","wallet_side":{"buyer_login_id":"","trade_time":"20261207080403","transaction_id":"2026120722001","total":1000}}` +
		`{"id":"pay_0dnecere2evfxlw3g6l","order_id":"P261207080403GE1OV5M","reference":"B-1000","mode":"scan","wallet":"wechat","amount":5460,"currency":"CAD","state":"succeeded","auth_code_masked":"1300**********4998","code_at":"2026-12-07T08:04:03.505168557Z","created_at":"2026-12-07T08:04:03.505168557Z","updated_at":"2026-12-07T08:04:03.649436183Z","history":[{"state":"processing","at":"2026-12-07T08:04:03.50608042Z"},{"state":"succeeded","at":"2026-12-07T08:04:03.649436183Z"}],"refunds":[],"last_outcome":"paid","answer":{"action":"PASSIVEPAY","sent":true,"answered":true,"rsp_code":"SUCCESS","order_status":"success","outcome":"paid","at":"2026-12-07T08:04:03.640377993Z"},"shift":1,"wallet_side":{"buyer_login_id":"","trade_time":"20261207080403","transaction_id":"4200020261207088805476469124","total":5460}}`)
	// evDict is the dictionary of PackFlate2, for events: an audit entry,
	// a payment.updated event and a delta of one (eventdelta.go).
	evDict = []byte(`{"seq":5003,"kind":"payment.updated","at":"2026-12-07T08:03:49.272516615Z","ops":["{",[1,1],"5003,",[3,5],"49.272516615Z\",",[9,21],"\"succeeded\",",[31,11],"49.272516615Z\",",[43,9],",{",[29,1],"\"succeeded\",",[5,3],"49.272516615Z\"}],",[53,4],"0,\"gateway_answer\":{\"action\":\"PASSIVEPAY\",\"sent\":true,\"answered\":true,\"rsp_code\":\"SUCCESS\",\"order_status\":\"success\",\"outcome\":\"paid\",",[5,3],"49.269686134Z\"},\"wallet_side\":{\"buyer_login_id\":\"\",\"trade_time\":\"20261207080349\",\"transaction_id\":\"4200020261207405100580154464\",",[25,1],"2385}}}"]}` +
		`{"seq":5001,"kind":"api.audit","at":"2026-12-07T08:03:49.266790169Z","audit":{"action":"payment.create","method":"POST","path":"/v1/payments","credential":"local","client":"127.0.0.1","amount":1201,"status":201,"result":"declined"}}` +
		`{"seq":5002,"kind":"payment.updated","at":"2026-12-07T08:03:49.268938263Z","payment":{"id":"pay_0dnecekum9e2sutsiv7","order_id":"P261207080349N60GYBR","reference":"B-1685","mode":"scan","wallet":"wechat","amount":2635,"tip":0,"total":2635,"currency":"CAD","state":"processing","error":null,"auth_code_masked":"1300**********1685","created_at":"2026-12-07T08:03:49.268487556Z","updated_at":"2026-12-07T08:03:49.268938263Z","history":[{"state":"processing","at":"2026-12-07T08:03:49.268938263Z"}],"refunds":[],"refunded":0}}`)
	payCodec = newCodec(PackFlate1, payDict)
	evCodec  = newCodec(PackFlate2, evDict)
)

// codec packs records with one dictionary under one tag.
//
// Its writers and readers are kept in small free lists, not sync.Pools: a
// DEFLATE writer is some 750 KB (its hash chains), which a pool lets go at
// every collection (and, under the race detector, at a quarter of its Puts
// at random), so that a pack would often allocate and fill a new one.
// Records are packed inside write transactions, one at a time: one kept
// writer serves every pack (another pack at the same time makes its own).
type codec struct {
	tag     byte
	dict    []byte
	writers chan *flate.Writer
	readers chan io.ReadCloser
}

// keptWriters and keptReaders are how many idle writers and readers
// (some 45 KB each; reads run side by side) a codec keeps.
const (
	keptWriters = 1
	keptReaders = 4
)

func newCodec(tag byte, dict []byte) *codec {
	return &codec{tag: tag, dict: dict,
		writers: make(chan *flate.Writer, keptWriters), readers: make(chan io.ReadCloser, keptReaders)}
}

// writer returns an idle writer, or a new one.
func (c *codec) writer() *flate.Writer {
	select {
	case w := <-c.writers:
		return w
	default:
	}
	w, err := flate.NewWriterDict(io.Discard, packLevel, c.dict)
	if err != nil {
		panic(err) // only for a bad level
	}
	return w
}

// idle keeps w for the next pack, unless keptWriters are kept already.
func (c *codec) idle(w *flate.Writer) {
	select {
	case c.writers <- w:
	default:
	}
}

// reader returns an idle reader reset to read body, or a new one.
func (c *codec) reader(body []byte) (io.ReadCloser, error) {
	select {
	case r := <-c.readers:
		return r, r.(flate.Resetter).Reset(bytes.NewReader(body), c.dict)
	default:
		return flate.NewReaderDict(bytes.NewReader(body), c.dict), nil
	}
}

// idleReader keeps r for the next unpack, unless keptReaders are kept.
func (c *codec) idleReader(r io.ReadCloser) {
	select {
	case c.readers <- r:
	default:
	}
}

// PackPayment returns what to store for a payment's JSON: packed, or the
// JSON itself when packing does not make it smaller.
func PackPayment(js []byte) []byte { return payCodec.pack(js) }

// UnpackPayment returns a stored payment's JSON.
func UnpackPayment(v []byte) ([]byte, error) { return payCodec.unpack(v) }

// PackEvent and UnpackEvent are the same for events: every stored event
// (whole or a delta) is read through UnpackEvent.
func PackEvent(js []byte) []byte { return evCodec.pack(js) }

// UnpackEvent returns a stored event's JSON (whole or a delta).
func UnpackEvent(v []byte) ([]byte, error) { return evCodec.unpack(v) }

// pack returns what to store for a record's JSON: packed, or the JSON
// itself when packing does not make it smaller.
func (c *codec) pack(js []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(js)/3 + 8)
	buf.WriteByte(c.tag)
	w := c.writer()
	defer c.idle(w)
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

// unpack returns a stored record's JSON.
func (c *codec) unpack(v []byte) ([]byte, error) {
	if len(v) == 0 || v[0] != c.tag {
		return v, nil // JSON (or not: the decoder says so)
	}
	if len(v) < 1+4 {
		return nil, fmt.Errorf("%w: %d bytes", ErrPacked, len(v))
	}
	body, sum := v[1:len(v)-4], binary.BigEndian.Uint32(v[len(v)-4:])
	r, err := c.reader(body)
	defer c.idleReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrPacked, err)
	}
	// A record is a few KB at most; a stream that inflates beyond 1 MiB
	// is damage, not a payment.
	js, err := io.ReadAll(io.LimitReader(r, 1<<20+1))
	if err != nil || len(js) > 1<<20 {
		return nil, fmt.Errorf("%w: %v", ErrPacked, err)
	}
	if crc32.ChecksumIEEE(js) != sum {
		return nil, fmt.Errorf("%w: checksum", ErrPacked)
	}
	return js, nil
}

// Unpacked returns the JSON of every packed record found in b (the bytes
// of a journal file, live pages and free ones alike), so that the file can
// be searched as if its records were plain: what a packed record holds
// (a payment code that should never be there, in clear) is not hidden by
// the packing. A packed record is recognised by its tag, a DEFLATE stream
// that ends, and the checksum after it.
func Unpacked(b []byte) [][]byte {
	var out [][]byte
	readers := map[*codec]io.ReadCloser{}
	for i := 0; i+5 < len(b); i++ {
		var c *codec
		switch b[i] {
		case PackFlate1:
			c = payCodec
		case PackFlate2:
			c = evCodec
		default:
			continue
		}
		br := bytes.NewReader(b[i+1:])
		r, ok := readers[c]
		if ok {
			r.(flate.Resetter).Reset(br, c.dict)
		} else {
			r = flate.NewReaderDict(br, c.dict)
			readers[c] = r
		}
		js, err := io.ReadAll(io.LimitReader(r, 1<<20))
		if err != nil || len(js) == 0 {
			continue
		}
		end := len(b) - br.Len() // the stream read byte by byte: it ends here
		if end+4 > len(b) || binary.BigEndian.Uint32(b[end:end+4]) != crc32.ChecksumIEEE(js) {
			continue
		}
		out = append(out, js)
		i = end + 3
	}
	return out
}
