package record

import (
	"bytes"
	"os"
	"testing"
)

// BenchmarkPackPayment and BenchmarkUnPackPayment: the cost of packing
// a payment record (each write) and of reading one back (each read).
func BenchmarkPackPayment(b *testing.B) {
	js, _ := os.ReadFile("testdata/payment-packed.json")
	js = bytes.TrimSpace(js)
	js = bytes.Replace(js, []byte("o_buyer"), []byte("other_buyer_x"), 1)
	var n int
	for range b.N {
		n = len(PackPayment(js))
	}
	b.ReportMetric(float64(n), "bytes")
}
func BenchmarkUnPackPayment(b *testing.B) {
	js, _ := os.ReadFile("testdata/payment-packed.json")
	v := PackPayment(bytes.TrimSpace(js))
	for range b.N {
		UnpackPayment(v)
	}
}
