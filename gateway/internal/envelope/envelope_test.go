package envelope

import (
	"bytes"
	"crypto/aes"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// Appendix A of OTTPay's documentation (docs/ottpay.md).
var (
	vectorFields = Fields{
		{"orderId", "1234567890"},
		{"idCardName", "张三"},
		{"idCardNum", "123456789012345678"},
		{"bankCardNum", "62000000000010"},
		{"mobile", "13711111111"},
		{"idCardType", "1"},
	}
	vectorJoined  = "62000000000010张三1234567890123456781137111111111234567890"
	vectorMD5     = "C12F9560769C2CB55E6954935B325916"
	vectorSignKey = "6698851A525C9433"
	vectorAESKey  = "EF1712FC070C2C21"
	vectorData    = "Y2+GoqBBPc6EJ9JzXRFoOziKd+DqWg5FiUZY1IYoVBVv0xfFznT9/qanMpiNEamEN2NM7J+hxoRn8VGSJImA2soeip9nYr+VJvTXe7D8j4aXiKyFipuPVCQLiCDg3jkJP+S2EezYMf7crqKY/YAni1CCeIwr2aJfFVT1vYhsWIm8t3eyPL//cY4kwombAKhE2gAdEFXz6gVvencz80aRWQ=="
)

func TestAppendixAVector(t *testing.T) {
	if got := DigestInput(vectorFields); got != vectorJoined {
		t.Errorf("joined = %q, want %q", got, vectorJoined)
	}
	if got := Digest(vectorFields); got != vectorMD5 {
		t.Errorf("md5 = %s, want %s", got, vectorMD5)
	}
	if got := string(AESKey(vectorMD5, vectorSignKey)); got != vectorAESKey {
		t.Errorf("AES key = %s, want %s", got, vectorAESKey)
	}
	data, digest, err := Seal(vectorFields, vectorSignKey)
	if err != nil {
		t.Fatal(err)
	}
	if data != vectorData || digest != vectorMD5 {
		t.Errorf("Seal = %s %s\nwant   %s %s", data, digest, vectorData, vectorMD5)
	}
	f, err := Open(vectorData, vectorMD5, vectorSignKey)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !reflect.DeepEqual(f, vectorFields) {
		t.Errorf("Open = %q, want %q (same keys, same order)", f, vectorFields)
	}
}

func TestDigest(t *testing.T) {
	cases := []struct {
		name   string
		f      Fields
		joined string
	}{
		{"empty", nil, ""},
		{"one", Fields{{"a", "x"}}, "x"},
		{"sorted by key not by value", Fields{{"b", "1"}, {"a", "2"}}, "21"},
		{"byte order: upper case before lower", Fields{{"a", "lower"}, {"B", "upper"}}, "upperlower"},
		{"byte order: underscore between cases", Fields{{"order_id", "1"}, {"orderId", "2"}, {"order", "3"}}, "321"},
		{"empty values add nothing", Fields{{"a", ""}, {"b", "v"}}, "v"},
		{"values only, no separators", Fields{{"amount", "1250"}, {"order_id", "A1"}}, "1250A1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := DigestInput(tc.f); got != tc.joined {
				t.Fatalf("joined %q, want %q", got, tc.joined)
			}
			sum := md5.Sum([]byte(tc.joined))
			if got, want := Digest(tc.f), strings.ToUpper(hex.EncodeToString(sum[:])); got != want {
				t.Fatalf("digest %s, want %s", got, want)
			}
		})
	}
	if Digest(nil) != "D41D8CD98F00B204E9800998ECF8427E" {
		t.Fatalf("digest of nothing = %s", Digest(nil))
	}
}

func TestMarshalFields(t *testing.T) {
	cases := []struct {
		f    Fields
		want string
	}{
		{nil, `{}`},
		{Fields{{"a", "1"}}, `{"a":"1"}`},
		{Fields{{"z", "1"}, {"a", "2"}}, `{"z":"1","a":"2"}`},
		{Fields{{"q", `say "hi"\`}}, `{"q":"say \"hi\"\\"}`},
		{Fields{{"c", "a\nb\tc\x01"}}, `{"c":"a\nb\tc\u0001"}`},
		{Fields{{"u", "张三 <&>"}}, `{"u":"张三 <&>"}`},
		{Fields{{"bad", "a\xffb"}}, `{"bad":"a\ufffdb"}`},
	}
	for _, tc := range cases {
		got := MarshalFields(tc.f)
		if string(got) != tc.want {
			t.Errorf("MarshalFields(%q) = %s, want %s", tc.f, got, tc.want)
		}
		back, err := UnmarshalFields(got)
		if err != nil {
			t.Errorf("UnmarshalFields(%s): %v", got, err)
			continue
		}
		if len(back) != len(tc.f) {
			t.Errorf("round trip of %s: %q", got, back)
		}
	}
}

func TestUnmarshalFields(t *testing.T) {
	good := []struct {
		in   string
		want Fields
	}{
		{`{}`, nil},
		{` {"b":"1", "a":"2"} `, Fields{{"b", "1"}, {"a", "2"}}},
		{`{"amount":1250}`, Fields{{"amount", "1250"}}},
		{`{"rate":5.15e8}`, Fields{{"rate", "5.15e8"}}},
		{`{"u":"\u5f20"}`, Fields{{"u", "张"}}},
	}
	for _, tc := range good {
		got, err := UnmarshalFields([]byte(tc.in))
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("UnmarshalFields(%s) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	bad := []string{``, `[]`, `"s"`, `{"a":"1"`, `{"a":{"b":"c"}}`, `{"a":["x"]}`, `{"a":true}`,
		`{"a":null}`, `{"a":"1","a":"2"}`, `{"a":"1"}{}`, `{"a":"1"} x`, `{1:"a"}`}
	for _, in := range bad {
		if _, err := UnmarshalFields([]byte(in)); !errors.Is(err, ErrJSON) {
			t.Errorf("UnmarshalFields(%s) err = %v, want ErrJSON", in, err)
		}
	}
}

func TestEncryptPadding(t *testing.T) {
	key := []byte(vectorAESKey)
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33} {
		plain := bytes.Repeat([]byte{'x'}, n)
		ct, err := Encrypt(plain, key)
		if err != nil {
			t.Fatal(err)
		}
		if want := (n/16 + 1) * 16; len(ct) != want {
			t.Errorf("%d bytes -> %d of ciphertext, want %d (PKCS#7 always pads)", n, len(ct), want)
		}
		back, err := Decrypt(ct, key)
		if err != nil || !bytes.Equal(back, plain) {
			t.Errorf("round trip of %d bytes: %q %v", n, back, err)
		}
	}
}

// rawECB encrypts whole blocks with no padding, to forge bad padding.
func rawECB(t *testing.T, plain, key []byte) []byte {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(plain))
	for i := 0; i < len(plain); i += 16 {
		b.Encrypt(out[i:i+16], plain[i:i+16])
	}
	return out
}

func TestDecryptErrors(t *testing.T) {
	key := []byte(vectorAESKey)
	block := func(tail ...byte) []byte {
		b := bytes.Repeat([]byte{'a'}, 16-len(tail))
		return rawECB(t, append(b, tail...), key)
	}
	cases := []struct {
		name string
		ct   []byte
		want error
	}{
		{"empty", nil, ErrBlockSize},
		{"short", make([]byte, 15), ErrBlockSize},
		{"not whole blocks", make([]byte, 33), ErrBlockSize},
		{"pad byte 0", block(0), ErrPadding},
		{"pad byte 17", block(17), ErrPadding},
		{"pad bytes disagree", block(1, 2, 3), ErrPadding},
		{"pad 3 but only two 3s", block('b', 3, 3), ErrPadding},
	}
	for _, tc := range cases {
		if _, err := Decrypt(tc.ct, key); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	if got, err := Decrypt(block(2, 2), key); err != nil || len(got) != 14 {
		t.Errorf("good padding 2: %q %v", got, err)
	}
	if got, err := Decrypt(rawECB(t, bytes.Repeat([]byte{16}, 16), key), key); err != nil || len(got) != 0 {
		t.Errorf("a whole block of padding: %q %v", got, err)
	}
	if _, err := Encrypt([]byte("x"), []byte("short")); err == nil {
		t.Error("Encrypt with a 5-byte key: no error")
	}
}

func TestOpenErrors(t *testing.T) {
	f := Fields{{"order_id", "A1"}, {"amount", "100"}}
	data, digest, err := Seal(f, vectorSignKey)
	if err != nil {
		t.Fatal(err)
	}
	// Valid ciphertext under the key of another digest: decrypts, but
	// the recomputed digest differs.
	other := Digest(Fields{{"x", "y"}})
	ct, _ := Encrypt(MarshalFields(f), AESKey(other, vectorSignKey))
	forged := base64.StdEncoding.EncodeToString(ct)
	notJSON, _ := Encrypt([]byte("hello"), AESKey(digest, vectorSignKey))

	cases := []struct {
		name               string
		data, digest, sign string
		want               error
	}{
		{"not base64", "%%%", digest, vectorSignKey, ErrBase64},
		{"base64 of 5 bytes", base64.StdEncoding.EncodeToString([]byte("12345")), digest, vectorSignKey, ErrBlockSize},
		{"empty data", "", digest, vectorSignKey, ErrBlockSize},
		{"digest mismatch", forged, other, vectorSignKey, ErrDigest},
		{"not JSON inside", base64.StdEncoding.EncodeToString(notJSON), digest, vectorSignKey, ErrJSON},
		{"lower-case digest of the wrong length", data, strings.ToLower(digest)[:31], vectorSignKey, nil},
	}
	for _, tc := range cases {
		_, err := Open(tc.data, tc.digest, tc.sign)
		if tc.want == nil {
			if err == nil {
				t.Errorf("%s: no error", tc.name)
			}
			continue
		}
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	// Wrong sign key: the key differs, so padding, JSON or digest fails.
	if _, err := Open(data, digest, "0000000000000000"); err == nil {
		t.Error("Open with the wrong sign key: no error")
	}
	if got, err := Open(data, strings.ToLower(digest), vectorSignKey); err == nil {
		t.Errorf("a lower-case md5 derives another AES key, so it must not open: %q", got)
	}
	if got, err := Open(data, digest, vectorSignKey); err != nil || !reflect.DeepEqual(got, f) {
		t.Errorf("Open good: %q %v", got, err)
	}
}

func TestParseResponseEnvelope(t *testing.T) {
	e, err := ParseResponseEnvelope([]byte(`{"rep_code":"FAIL","rsp_msg":"x"}`))
	if err != nil || e.RspCode != "FAIL" {
		t.Errorf("rep_code spelling: %+v %v", e, err)
	}
	e, err = ParseResponseEnvelope([]byte(`{"rsp_code":"SUCCESS","rep_code":"FAIL"}`))
	if err != nil || e.RspCode != "SUCCESS" {
		t.Errorf("rsp_code wins: %+v %v", e, err)
	}
	for _, in := range []string{``, `{}`, `[1]`, `{"rsp_msg":"no code"}`, `<html>`} {
		if _, err := ParseResponseEnvelope([]byte(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func FuzzOpen(f *testing.F) {
	f.Add(vectorData, vectorMD5, vectorSignKey)
	f.Add("", "", "")
	f.Add("%%%", vectorMD5, vectorSignKey)
	f.Add(base64.StdEncoding.EncodeToString(make([]byte, 32)), vectorMD5, "k")
	f.Fuzz(func(t *testing.T, data, digest, key string) {
		fields, err := Open(data, digest, key)
		if err != nil {
			return
		}
		if Digest(fields) != strings.ToUpper(digest) {
			t.Fatalf("Open accepted %q with digest %s, recomputed %s", fields, digest, Digest(fields))
		}
	})
}

func FuzzUnmarshalFields(f *testing.F) {
	f.Add([]byte(`{"a":"1","b":"2"}`))
	f.Add([]byte(`{"u":"张三","n":12}`))
	f.Add([]byte(`{"a":{"b":1}}`))
	f.Add([]byte(`{"a":"\ud800"}`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) {
		fields, err := UnmarshalFields(b)
		if err != nil {
			if !errors.Is(err, ErrJSON) {
				t.Fatalf("error %v does not wrap ErrJSON", err)
			}
			return
		}
		again, err := UnmarshalFields(MarshalFields(fields))
		if err != nil {
			t.Fatalf("re-reading our own output of %q: %v", fields, err)
		}
		for i := range fields {
			if utf8.ValidString(fields[i].Key) && utf8.ValidString(fields[i].Value) && fields[i] != again[i] {
				t.Fatalf("round trip changed %q to %q", fields[i], again[i])
			}
		}
	})
}

func FuzzDigest(f *testing.F) {
	f.Add("order_id", "A1", "amount", "100", "auth_code", "134567890123456789")
	f.Add("", "", "", "", "", "")
	f.Add("b", "x", "B", "y", "_", "z")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2, k3, v3 string) {
		a := Fields{{k1, v1}, {k2, v2}, {k3, v3}}
		b := Fields{{k3, v3}, {k1, v1}, {k2, v2}}
		d := Digest(a)
		if len(d) != 32 || strings.ToUpper(d) != d {
			t.Fatalf("digest %q is not 32 upper-case hex", d)
		}
		if k1 != k2 && k2 != k3 && k1 != k3 && Digest(b) != d {
			t.Fatalf("digest depends on field order: %q vs %q", a, b)
		}
		if len(DigestInput(a)) != len(v1)+len(v2)+len(v3) {
			t.Fatalf("joined input has separators: %q", DigestInput(a))
		}
		// Seal then Open gives the same fields back (valid UTF-8, unique keys).
		for _, s := range []string{k1, v1, k2, v2, k3, v3} {
			if !utf8.ValidString(s) {
				return // MarshalFields replaces invalid UTF-8
			}
		}
		if k1 == k2 || k2 == k3 || k1 == k3 {
			return
		}
		data, digest, err := Seal(a, "sign")
		if err != nil {
			t.Fatal(err)
		}
		back, err := Open(data, digest, "sign")
		if err != nil || !reflect.DeepEqual(back, a) {
			t.Fatalf("Seal/Open round trip: %q %v, want %q", back, err, a)
		}
	})
}

func BenchmarkSeal(b *testing.B) {
	f := Fields{{"order_id", "P20261125183000ABCD"}, {"operator_id", "0000000696"}, {"amount", "1250"},
		{"auth_code", "134567890123456789"}, {"biz_type", "WECHATPAY"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Seal(f, vectorSignKey); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenVerify(b *testing.B) {
	f := Fields{{"order_id", "P20261125183000ABCD"}, {"order_status", "success"}, {"total_amount", "1250"},
		{"buyer_login_id", "sim_wechat_buyer"}, {"trade_time", "20261125183000"}}
	data, digest, err := Seal(f, vectorSignKey)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Open(data, digest, vectorSignKey); err != nil {
			b.Fatal(err)
		}
	}
}
