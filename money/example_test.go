package money_test

import (
	"fmt"

	"github.com/posagent/posagent/money"
)

func ExampleParse() {
	a, err := money.Parse("12.50", "CAD")
	fmt.Println(int64(a), err)
	_, err = money.Parse("12.505", "CAD")
	fmt.Println(err)
	// Output:
	// 1250 <nil>
	// amount "12.505": use at most two decimals, like 12.50
}

func ExampleAmount_Format() {
	fmt.Println(money.Amount(1250).Format("CAD"), money.Amount(-500).Format("CAD"), money.Amount(1250).Format("JPY"))
	// Output: 12.50 -5.00 1250
}

func ExampleAmount_WithCode() {
	fmt.Println(money.Amount(1250).WithCode("cad"))
	fmt.Println(money.Amount(1250).WithCode("KWD"))
	// Output:
	// 12.50 CAD
	// 1.250 KWD
}
