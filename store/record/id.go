package record

import "time"

// IDAt is the smallest payment id made at or after t (ids are
// "pay_" + 13 base-36 digits of Unix nanoseconds + 6 random characters).
func IDAt(t time.Time) string {
	n := t.UnixNano()
	if n < 0 {
		return "pay_"
	}
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 13)
	for i := 12; i >= 0; i-- {
		b[i] = digits[n%36]
		n /= 36
	}
	return "pay_" + string(b)
}
