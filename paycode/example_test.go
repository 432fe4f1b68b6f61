package paycode_test

import (
	"fmt"

	"github.com/posagent/posagent/paycode"
)

func ExampleClassify() {
	for _, code := range []string{"134567890123456789", "6212345678901234567", "2812345678901234", "4006381333931"} {
		wallet, ok := paycode.Classify(code)
		fmt.Printf("%s %q %v\n", code, wallet, ok)
	}
	// Output:
	// 134567890123456789 "wechat" true
	// 6212345678901234567 "unionpay" true
	// 2812345678901234 "alipay" true
	// 4006381333931 "" false
}

func ExampleMask() {
	fmt.Println(paycode.Mask("134567890123456789"))
	// Output: 1345**********6789
}

func ExampleMaskIn() {
	fmt.Println(paycode.MaskIn("PAY:134567890123456789;ref=7"))
	fmt.Println(paycode.MaskIn("4006381333931")) // an EAN-13 stays as it is
	// Output:
	// PAY:1345**********6789;ref=7
	// 4006381333931
}

func ExampleBare() {
	code, sym, ok := paycode.Bare("]Q1134567890123456789\r")
	fmt.Println(code, sym, ok)
	// Output: 134567890123456789 ]Q1 true
}
