package config

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong with a configuration: the key, the bad value
// (never for a secret) and what to do about it, in one sentence.
type Problem struct {
	Key  string // "printer.paper", "scanners[1].vid"; "" when about the file as a whole
	Line int    // line in the file when the problem is in the file, else 0
	Msg  string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
	}
	return p.Msg
}

// Error is what Load and Validate return: every problem found, at once.
type Error struct {
	Op       string // "load" or "validate"
	File     string // the file read, "" when none
	Problems []Problem
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	if len(e.Problems) == 1 {
		b.WriteString(e.Problems[0].String())
		return b.String()
	}
	fmt.Fprintf(&b, "%d problems:", len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n  ")
		b.WriteString(p.String())
	}
	return b.String()
}
