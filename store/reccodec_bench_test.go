package store

import (
	"bytes"
	"os"
	"testing"
)

// BenchmarkPackPayment and BenchmarkUnpackPayment: the cost of packing
// a payment record (each write) and of reading one back (each read).
func BenchmarkPackPayment(b *testing.B) {
	js, _ := os.ReadFile("testdata/payment-packed.json")
	js = bytes.TrimSpace(js)
	js = bytes.Replace(js, []byte("o_buyer"), []byte("other_buyer_x"), 1)
	var n int
	for range b.N {
		n = len(packPayment(js))
	}
	b.ReportMetric(float64(n), "bytes")
}
func BenchmarkUnpackPayment(b *testing.B) {
	js, _ := os.ReadFile("testdata/payment-packed.json")
	v := packPayment(bytes.TrimSpace(js))
	for range b.N {
		unpackPayment(v)
	}
}
