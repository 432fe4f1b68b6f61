package envelope

import (
	"bytes"
	"crypto/aes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"
)

// Errors of the pure envelope code. Open and the decoders wrap them, so
// callers can tell a corrupt message from a forged one with errors.Is.
// Like ErrNotSent and ErrUnverified they carry no package prefix: the
// client wraps them in an *Error, whose text starts "gateway: ACTION".
var (
	ErrBase64    = errors.New("data is not valid base64")
	ErrBlockSize = errors.New("ciphertext is not a whole number of 16-byte AES blocks")
	ErrPadding   = errors.New("bad PKCS#7 padding (wrong key or corrupt data)")
	ErrJSON      = errors.New("data is not a flat JSON object of string values")
	ErrDigest    = errors.New("digest does not match the data")
)

// Field is one business field of the encrypted data object. Values are
// always strings on the wire.
type Field struct {
	Key, Value string
}

// Fields is the plaintext data object in the order its keys are (or were)
// written. The order matters only for the ciphertext bytes, never for the
// digest, which sorts the keys.
type Fields []Field

// Get returns the value of key and whether it is present.
func (f Fields) Get(key string) (string, bool) {
	for _, kv := range f {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

// Value returns the value of key, or "" when it is absent.
func (f Fields) Value(key string) string {
	v, _ := f.Get(key)
	return v
}

// Map returns the fields as a map (a fresh copy).
func (f Fields) Map() map[string]string {
	m := make(map[string]string, len(f))
	for _, kv := range f {
		m[kv.Key] = kv.Value
	}
	return m
}

// DigestInput is the string the digest is computed over: the values of f
// concatenated in the byte order of their keys, with no separator.
func DigestInput(f Fields) string {
	idx := make([]int, len(f))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return f[idx[a]].Key < f[idx[b]].Key })
	var b strings.Builder
	for _, i := range idx {
		b.WriteString(f[i].Value)
	}
	return b.String()
}

// Digest is OTTPay's message digest: UPPER(hex(MD5(DigestInput(f)))).
func Digest(f Fields) string {
	sum := md5.Sum([]byte(DigestInput(f)))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// AESKey derives the AES-128 key of one message from that message's digest
// and the merchant's sign key: UPPER(hex(MD5(digest + signKey)))[8:24], the
// 16 hex characters used as 16 ASCII bytes.
func AESKey(digest, signKey string) []byte {
	sum := md5.Sum([]byte(digest + signKey))
	return []byte(strings.ToUpper(hex.EncodeToString(sum[:]))[8:24])
}

// MarshalFields writes f as compact JSON, keys in f's order, every value a
// string. Non-ASCII text is written as UTF-8 (not \u escapes), like the
// official test vector; only '"', '\\' and control characters are escaped.
func MarshalFields(f Fields) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, kv := range f {
		if i > 0 {
			b.WriteByte(',')
		}
		writeJSONString(&b, kv.Key)
		b.WriteByte(':')
		writeJSONString(&b, kv.Value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func writeJSONString(b *bytes.Buffer, s string) {
	const hexdigits = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				b.WriteString(`\ufffd`)
			} else {
				b.WriteString(s[i : i+size])
			}
			i += size
			continue
		}
		switch {
		case c == '"':
			b.WriteString(`\"`)
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\r':
			b.WriteString(`\r`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hexdigits[c>>4])
			b.WriteByte(hexdigits[c&0xf])
		default:
			b.WriteByte(c)
		}
		i++
	}
	b.WriteByte('"')
}

// UnmarshalFields reads a flat JSON object, keeping its key order. Values
// must be strings; a JSON number is accepted and kept as its literal text
// (the gateway is documented to send strings only). Nested objects, arrays,
// booleans, null, duplicate keys and trailing data are errors (ErrJSON).
func UnmarshalFields(b []byte) (Fields, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrJSON, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%w: not an object", ErrJSON)
	}
	var f Fields
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrJSON, err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%w: key is not a string", ErrJSON)
		}
		if seen[key] {
			return nil, fmt.Errorf("%w: duplicate key %q", ErrJSON, key)
		}
		seen[key] = true
		tok, err = dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrJSON, err)
		}
		var val string
		switch v := tok.(type) {
		case string:
			val = v
		case json.Number:
			val = v.String()
		default:
			return nil, fmt.Errorf("%w: value of %q is not a string", ErrJSON, key)
		}
		f = append(f, Field{key, val})
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return nil, fmt.Errorf("%w: %v", ErrJSON, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after the object", ErrJSON)
	}
	return f, nil
}

// Encrypt pads plain with PKCS#7 and encrypts it with AES-128-ECB.
func Encrypt(plain, key []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes key: %w", err)
	}
	n := aes.BlockSize - len(plain)%aes.BlockSize
	buf := make([]byte, len(plain)+n)
	copy(buf, plain)
	for i := len(plain); i < len(buf); i++ {
		buf[i] = byte(n)
	}
	for i := 0; i < len(buf); i += aes.BlockSize {
		block.Encrypt(buf[i:i+aes.BlockSize], buf[i:i+aes.BlockSize])
	}
	return buf, nil
}

// Decrypt reverses Encrypt: AES-128-ECB, then PKCS#7 padding is checked
// and removed. It returns ErrBlockSize or ErrPadding for bad input.
func Decrypt(ct, key []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("aes key: %w", err)
	}
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w (%d bytes)", ErrBlockSize, len(ct))
	}
	buf := make([]byte, len(ct))
	for i := 0; i < len(ct); i += aes.BlockSize {
		block.Decrypt(buf[i:i+aes.BlockSize], ct[i:i+aes.BlockSize])
	}
	n := int(buf[len(buf)-1])
	if n == 0 || n > aes.BlockSize {
		return nil, ErrPadding
	}
	for _, c := range buf[len(buf)-n:] {
		if int(c) != n {
			return nil, ErrPadding
		}
	}
	return buf[:len(buf)-n], nil
}

// Seal turns business fields into the envelope's data and md5 values:
// digest over the values, key from digest and sign key, AES of the compact
// JSON, Base64.
func Seal(f Fields, signKey string) (data, digest string, err error) {
	digest = Digest(f)
	ct, err := Encrypt(MarshalFields(f), AESKey(digest, signKey))
	if err != nil {
		return "", "", err
	}
	return base64.StdEncoding.EncodeToString(ct), digest, nil
}

// Open reads an envelope's data with the digest it came with: Base64,
// key from that digest, AES, padding, JSON, then the digest recomputed over
// the decrypted values must equal digest (ErrDigest otherwise). Nothing from
// a message that fails Open may be believed.
func Open(data, digest, signKey string) (Fields, error) {
	ct, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBase64, err)
	}
	plain, err := Decrypt(ct, AESKey(digest, signKey))
	if err != nil {
		return nil, err
	}
	f, err := UnmarshalFields(plain)
	if err != nil {
		return nil, err
	}
	if got := Digest(f); !strings.EqualFold(got, digest) || len(digest) != 32 {
		return nil, ErrDigest
	}
	return f, nil
}

// RequestEnvelope is the first, plain level of a processV2 request.
type RequestEnvelope struct {
	Action     string `json:"action"`
	Version    string `json:"version"`
	MerchantID string `json:"merchant_id"`
	TerminalNo string `json:"terminal_no,omitempty"`
	OperatorID string `json:"operator_id,omitempty"`
	Data       string `json:"data"`
	MD5        string `json:"md5"`
}

// ResponseEnvelope is the first, plain level of a processV2 response (and
// of a call-back, which adds merchant_id). RspCode and RspMsg are not
// covered by the digest: only Data is authenticated.
type ResponseEnvelope struct {
	RspCode    string `json:"rsp_code"`
	RspMsg     string `json:"rsp_msg,omitempty"`
	MerchantID string `json:"merchant_id,omitempty"`
	Data       string `json:"data,omitempty"`
	MD5        string `json:"md5,omitempty"`
}

// ParseResponseEnvelope reads a response body. It accepts the "rep_code"
// spelling one OTTPay page uses when "rsp_code" is absent.
func ParseResponseEnvelope(body []byte) (ResponseEnvelope, error) {
	var raw struct {
		ResponseEnvelope
		RepCode string `json:"rep_code"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return ResponseEnvelope{}, fmt.Errorf("response is not a JSON envelope: %w", err)
	}
	e := raw.ResponseEnvelope
	if e.RspCode == "" {
		e.RspCode = raw.RepCode
	}
	if e.RspCode == "" {
		return ResponseEnvelope{}, errors.New("response has no rsp_code")
	}
	return e, nil
}
