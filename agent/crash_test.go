package agent

const childEnv = "POSAGENT_CRASH_CHILD"

func crashChild() int { return 0 }
