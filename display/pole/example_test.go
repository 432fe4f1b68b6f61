package pole_test

import (
	"fmt"

	"github.com/posagent/posagent/display/pole"
)

func ExampleDialect_Frame() {
	d, _ := pole.DialectByName("cd5220")
	fmt.Printf("%q\n", d.Frame([2]string{"TOTAL CAD 12.50", "PAID - THANK YOU"}))
	// Output:
	// "\x1bQATOTAL CAD 12.50     \r\x1bQBPAID - THANK YOU    \r"
}
