package config

import (
	"regexp"
	"sort"
	"strings"
)

// CheckFragment checks a fragment of a configuration file: the YAML head
// office pushes to a store or a lane (posagent-hq config set), and a lane
// receives. It is Check's checker on the fragment merged onto the
// defaults, without the environment: malformed YAML, duplicate keys,
// unknown keys and values of the wrong type, each with its line, and the
// rules between keys for the keys the fragment sets (a rule about a key it
// leaves out depends on the lane's own file: the lane checks the merged
// result before it applies it). A secret (a key the schema marks secret:
// the gateway's sign key, API tokens, PIN hashes, feed passwords) is a
// problem wherever it is written: secrets stay in each lane's own file.
//
// It returns the keys the fragment sets (leaves and list items such as
// "operators[0].name", in file order) and an *Error with Op "fragment"
// listing every problem, sorted by line.
func CheckFragment(file string, data []byte) ([]string, error) {
	if file == "" {
		file = "fragment"
	}
	cfg, src, err := loadData(file, data, nil)
	var le *Error
	if err != nil && (cfg == nil || !asError(err, &le)) {
		if asError(err, &le) {
			le.Op = "fragment" // malformed YAML
		}
		return nil, err
	}
	s := newSchema()
	set := setKeys(s, src)
	// What loading found is all about what the file wrote; the rules
	// between keys only about the keys it sets. A secret is refused
	// whatever its value.
	var problems []Problem
	written := append([]string(nil), set...)
	if le != nil {
		for _, p := range le.Problems {
			written = append(written, p.Key) // a duplicated key is not in set
			if !secretKey(s, p.Key) || strings.Contains(p.Msg, "written twice") {
				problems = append(problems, p)
			}
		}
	}
	for _, p := range cfg.Problems() {
		if _, ok := src.lines[p.Key]; !ok || secretKey(s, p.Key) {
			continue
		}
		p.Line = src.Line(p.Key)
		problems = append(problems, p)
	}
	told := map[string]bool{}
	for _, k := range written {
		if FleetLocalOnlyKey(k) && !told[k] {
			told[k] = true
			problems = append(problems, Problem{Key: k, Line: src.Line(k),
				Msg: k + " is set only in the lane's own file: head office cannot push it (it names the lane, its journal or whom it trusts)"})
			continue
		}
		if secretKey(s, k) && !told[k] {
			told[k] = true
			line := src.Line(k)
			if line == 0 {
				line = firstLine(problems, k)
			}
			problems = append(problems, secretProblem(k, line))
		}
	}
	if len(problems) == 0 {
		return set, nil
	}
	sort.SliceStable(problems, func(i, j int) bool {
		a, b := problems[i].Line, problems[j].Line
		if (a == 0) != (b == 0) {
			return b == 0
		}
		return a < b
	})
	return set, &Error{Op: "fragment", File: file, Problems: problems}
}

// firstLine is the line of the first problem about key.
func firstLine(problems []Problem, key string) int {
	for _, p := range problems {
		if p.Key == key {
			return p.Line
		}
	}
	return 0
}

func secretProblem(key string, line int) Problem {
	return Problem{Key: key, Line: line, Msg: key + " is a secret: it stays in each lane's own file and is never pushed from head office (remove it)"}
}

// SecretIn lists the keys of keys (as CheckFragment returns them) that are
// secrets.
func SecretIn(keys []string) []string {
	s := newSchema()
	var out []string
	for _, k := range keys {
		if secretKey(s, k) {
			out = append(out, k)
		}
	}
	return out
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}

var indexRe = regexp.MustCompile(`\[\d+\]`)

// setKeys lists the leaves the file wrote, in file order.
func setKeys(s *schema, src Sources) []string {
	var out []string
	for k := range src.lines {
		if l := leafOf(s, k); l != nil && l.item == nil && !strings.HasSuffix(k, "]") {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := src.lines[out[i]], src.lines[out[j]]
		if a != b {
			return a < b
		}
		return out[i] < out[j]
	})
	return out
}

// leafOf is the schema leaf of key: "printer.paper", a list's element
// "printer.copies[1]" (the list) or an item's field "operators[0].pin_hash".
func leafOf(s *schema, key string) *leaf {
	if l, ok := s.byPath[key]; ok {
		return l
	}
	bare := indexRe.ReplaceAllString(key, "[]")
	list, field, ok := cutItem(bare)
	if !ok {
		return nil
	}
	l, ok := s.byPath[list]
	if !ok {
		return nil
	}
	if field == "" {
		if l.item == nil {
			return l
		}
		return nil // a whole item: its fields are listed one by one
	}
	for i := range l.item {
		if l.item[i].path == field {
			return &l.item[i]
		}
	}
	return nil
}

// cutItem splits "operators[].pin_hash" into "operators" and "pin_hash"
// ("printer.copies[]" into "printer.copies" and "").
func cutItem(bare string) (list, field string, ok bool) {
	for i := 0; i+1 < len(bare); i++ {
		if bare[i] == '[' && bare[i+1] == ']' {
			rest := bare[i+2:]
			if len(rest) > 0 && rest[0] == '.' {
				rest = rest[1:]
			}
			return bare[:i], rest, true
		}
	}
	return "", "", false
}

// secretKey says whether key, possibly an item's field, is a secret.
func secretKey(s *schema, key string) bool {
	l := leafOf(s, key)
	return l != nil && l.secret
}
