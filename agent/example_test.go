package agent_test

import (
	"fmt"

	"github.com/posagent/posagent/agent"
)

func ExampleCheckListen() {
	fmt.Println(agent.CheckListen("127.0.0.1:7420", ""))
	fmt.Println(agent.CheckListen("0.0.0.0:7420", "") != nil)
	fmt.Println(agent.CheckListen("0.0.0.0:7420", "a-long-random-token"))
	// Output:
	// <nil>
	// true
	// <nil>
}

func ExampleCanTransition() {
	fmt.Println(agent.CanTransition(agent.Processing, agent.InDoubt))
	fmt.Println(agent.CanTransition(agent.Succeeded, agent.Reversed)) // final never changes
	// Output:
	// true
	// false
}
