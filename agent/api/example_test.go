package api_test

import (
	"fmt"

	"github.com/posagent/posagent/agent/api"
)

func ExampleCheckListen() {
	fmt.Println(api.CheckListen("127.0.0.1:7420", ""))
	fmt.Println(api.CheckListen("0.0.0.0:7420", "") != nil)
	fmt.Println(api.CheckListen("0.0.0.0:7420", "a-long-random-token"))
	// Output:
	// <nil>
	// true
	// <nil>
}
