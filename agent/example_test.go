package agent_test

import (
	"fmt"

	"github.com/posagent/posagent/agent"
)

func ExampleCanTransition() {
	fmt.Println(agent.CanTransition(agent.Processing, agent.InDoubt))
	fmt.Println(agent.CanTransition(agent.Succeeded, agent.Reversed)) // final never changes
	// Output:
	// true
	// false
}
