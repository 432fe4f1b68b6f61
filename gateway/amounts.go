package gateway

import (
	"fmt"
	"strconv"

	"github.com/posagent/posagent/gateway/internal/envelope"
)

// FeeKey is the answer field this client reads as a convenience fee the
// gateway added to the customer's total. OTTPay documents that an answer's
// amount may contain a convenience fee but does not name a field for it
// (unknown); a fee without this field is read from the surplus of the
// amount fields over amount + tip, up to FeeAllowance (our rule).
const FeeKey = "convenience_fee"

// FeeAllowance is the largest convenience fee accepted from an answer that
// does not name it: bps basis points of what was due (amount + tip), at
// least one unit of currency (100 cents), and nothing when bps is 0 (the
// default: a merchant account without a fee). An answer saying more was
// charged is not about this request and is unverified (our rule).
func FeeAllowance(due int64, bps int) int64 {
	if bps <= 0 {
		return 0
	}
	return max(100, due*int64(bps)/10000)
}

// AmountMatches reports whether an amount an answer or a call-back carries
// agrees with an order of amount plus tip: the amount alone (an echo of
// the request's amount), amount + tip, or amount + tip plus a convenience
// fee of at most FeeAllowance(bps).
func AmountMatches(got, amount, tip int64, bps int) bool {
	due := amount + max(tip, 0)
	return got == amount || got == due || got > due && got-due <= FeeAllowance(due, bps)
}

// amounts are what an answer says about the money, verified.
type amounts struct {
	tip, fee, total int64
	hasTip, hasFee  bool
}

// checkAmounts verifies the amount fields of an answer about an order
// sent with k.amount and (when k.hasTip) k.tip:
//
//	tip              equals the tip sent
//	convenience_fee  a non-negative integer
//	amount           amount, amount + tip, or amount + tip + fee
//	total_amount     amount + tip, or amount + tip + fee
//
// where fee is convenience_fee when the answer names it, else any surplus
// up to FeeAllowance. For an order whose tip is not known (STATUS_QUERY)
// the answer's own tip is used; without one, a tip is indistinguishable
// from a fee and only a fee-sized surplus is accepted.
func checkAmounts(k call, f envelope.Fields, feeBPS int) (amounts, error) {
	var a amounts
	num := func(key string) (int64, bool, error) {
		v, ok := f.Get(key)
		if !ok {
			return 0, false, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, true, fmt.Errorf("%s %q is not a non-negative integer", key, v)
		}
		return n, true, nil
	}
	var err error
	if a.tip, a.hasTip, err = num("tip"); err != nil {
		return a, err
	}
	answerTip := a.hasTip
	if a.hasTip && k.hasTip && a.tip != k.tip {
		return a, fmt.Errorf("tip %d, want %d", a.tip, k.tip)
	}
	if !a.hasTip && k.hasTip {
		a.tip, a.hasTip = k.tip, true
	}
	if a.fee, a.hasFee, err = num(FeeKey); err != nil {
		return a, err
	}
	due := k.amount + a.tip
	a.total = due
	confirmed := answerTip || a.tip == 0 // the answer says what the tip was
	for _, key := range []string{"total_amount", "amount"} {
		n, ok, err := num(key)
		if err != nil {
			return a, fmt.Errorf("%s %q is not an integer", key, f.Value(key))
		}
		if !ok || !k.hasAmount {
			continue
		}
		switch {
		case n == due:
			confirmed = true
		case key == "amount" && n == k.amount:
		case a.hasFee && n == due+a.fee:
			confirmed = true
		case !a.hasFee && n > due && n-due <= FeeAllowance(due, feeBPS):
			a.fee, confirmed = n-due, true
		default:
			if a.tip == 0 {
				return a, fmt.Errorf("%s %d, want %d", key, n, k.amount)
			}
			return a, fmt.Errorf("%s %d, want %d (amount %d, tip %d) or a convenience fee on top", key, n, due, k.amount, a.tip)
		}
		a.total = max(a.total, n)
		if !k.hasAmount {
			confirmed = true
		}
	}
	saysPaid := (k.action == ActionPassivePay || k.action == ActionStatusQuery) &&
		Classify(k.action, CodeSuccess, f.Value("order_status")) == Paid
	if !confirmed && k.hasAmount && saysPaid {
		// Only the request's amount echoed: whether the tip was charged
		// is not said (an answer is believed for what it says, no more).
		return a, fmt.Errorf("the answer echoes amount %d without the tip %d or a total: whether the tip was charged is not said", k.amount, a.tip)
	}
	return a, nil
}

func checkTip(tip int64) error {
	if tip < 0 {
		return fmt.Errorf("tip %d cents: must not be negative", tip)
	}
	return nil
}

// appendTip adds tip to the request's fields unless it is 0 (optional
// fields are left out rather than sent empty).
func appendTip(f envelope.Fields, tip int64) envelope.Fields {
	if tip == 0 {
		return f
	}
	return append(f, envelope.Field{Key: "tip", Value: strconv.FormatInt(tip, 10)})
}

// MaxSaleNum is the longest sale_num this client sends. OTTPay documents
// sale_num without a length (unknown); its example is 17 digits. Our rule:
// up to 32 characters among letters, digits and - _ . / #, the characters
// a POS's invoice numbers use and no merchant portal report mangles.
const MaxSaleNum = 32

// CheckSaleNum says why s cannot be sent as sale_num ("" is fine: none).
func CheckSaleNum(s string) error {
	if len(s) > MaxSaleNum {
		return fmt.Errorf("sale number %q is %d characters long; OTTPay's sale_num takes at most %d", s, len(s), MaxSaleNum)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_' || c == '.' || c == '/' || c == '#') {
			return fmt.Errorf("sale number %q has %q: OTTPay's sale_num takes letters, digits and - _ . / # only", s, c)
		}
	}
	return nil
}
