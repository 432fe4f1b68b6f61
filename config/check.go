package config

import (
	"errors"
	"sort"
	"strings"
)

// Check is Load and Validate together, as the daemon, `config check` and a
// reload use them: every problem in the file at once (duplicate and unknown
// keys, values of the wrong type, the profile, and the rules between keys),
// each with its line when the file sets the key, sorted by line. It returns
// an *Error with Op "check" when there is any problem. After malformed YAML
// or an unreadable file the *Config is nil, as with Load.
func Check(path string, env []string) (*Config, Sources, error) {
	return check(path, env, SearchPaths)
}

func check(path string, env []string, search []string) (*Config, Sources, error) {
	file, data, err := findFile(path, search)
	if err != nil {
		return nil, Sources{}, err
	}
	return checkData(file, data, env)
}

// CheckData is Check on the bytes of file (file "" with no data: defaults
// and the environment only).
func CheckData(file string, data []byte, env []string) (*Config, Sources, error) {
	return checkData(file, data, env)
}

func checkData(file string, data []byte, env []string) (*Config, Sources, error) {
	cfg, src, err := loadData(file, data, env)
	var le *Error
	if err != nil && (cfg == nil || !errors.As(err, &le)) {
		return cfg, src, err
	}
	var problems []Problem
	seen := map[string]bool{}
	if le != nil {
		problems = le.Problems
		for _, p := range problems {
			seen[p.Key] = true
		}
	}
	for _, p := range cfg.Problems() {
		if seen[p.Key] {
			// The key's value was refused while loading: what is checked now
			// is the default standing in for it.
			continue
		}
		p.Line = src.Line(p.Key)
		if p.Line == 0 {
			// A key the file leaves out (printer.address for kind network):
			// the line of the section it belongs in.
			p.Line = src.sectionLine(p.Key)
		}
		if src.Line(p.Key) == 0 {
			switch s := src.Of(p.Key); s.Kind {
			case FromEnv, FromProfile:
				p.Msg += " (the value comes from " + s.String() + ")"
			}
		}
		problems = append(problems, p)
	}
	if len(problems) == 0 {
		return cfg, src, nil
	}
	sort.SliceStable(problems, func(i, j int) bool {
		a, b := problems[i].Line, problems[j].Line
		if (a == 0) != (b == 0) {
			return b == 0 // problems with a line first, in file order
		}
		return a < b
	})
	return cfg, src, &Error{Op: "check", File: file, Problems: problems}
}

// sectionLine is the line of the nearest enclosing section the file writes
// ("printer:" for printer.address), 0 when none.
func (s Sources) sectionLine(key string) int {
	for i := strings.LastIndexByte(key, '.'); i > 0; i = strings.LastIndexByte(key, '.') {
		key = key[:i]
		if l, ok := s.lines[key]; ok {
			return l
		}
	}
	return 0
}
