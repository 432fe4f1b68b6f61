package scanner_test

import (
	"fmt"
	"time"

	"github.com/posagent/posagent/paycode"
	"github.com/posagent/posagent/scanner"
)

func ExampleKeyboardDecoder() {
	d := scanner.NewKeyboardDecoder(scanner.KeyboardOptions{})
	at := time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)
	report := func(mod, key byte) []byte { return []byte{mod, 0, key, 0, 0, 0, 0, 0} }
	// "A1" then Enter: Shift+a, release, 1, release, Enter.
	for _, r := range [][]byte{report(0x02, 0x04), report(0, 0), report(0, 0x1E), report(0, 0), report(0, 0x28)} {
		at = at.Add(5 * time.Millisecond)
		for _, raw := range d.Feed(r, at) {
			fmt.Println(raw.Data)
		}
	}
	// Output: A1
}

func ExampleSplitAIM() {
	code, sym := scanner.SplitAIM("]Q1134567890123456789")
	wallet, ok := paycode.Classify(code)
	fmt.Println(sym, paycode.Mask(code), wallet, ok)
	// Output: ]Q1 1345**********6789 wechat true
}

func ExampleLineFramer() {
	f := scanner.NewLineFramer(scanner.LineOptions{})
	var now time.Time
	for _, chunk := range []string{"69012345", "67892\r", "\n40063813", "33931\r\n"} {
		for _, raw := range f.Feed([]byte(chunk), now) {
			fmt.Println(raw.Data)
		}
	}
	// Output:
	// 6901234567892
	// 4006381333931
}
