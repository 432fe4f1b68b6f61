package configtext

import (
	"errors"
	"fmt"
	"io"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/config/profile"
)

// WriteCheck runs config.Check on the file at path (or the search path) and
// writes its outcome for a technician, as `posagent config check` prints
// it: the warnings, then "ok (FILE, profile P)" or every problem. It
// reports whether the configuration is sound; err is what kept it from
// being read at all (malformed YAML, an unreadable file).
func WriteCheck(w io.Writer, path string, env []string) (ok bool, err error) {
	_, src, err := config.Check(path, env)
	for _, wmsg := range src.Warnings {
		fmt.Fprintln(w, "warning:", wmsg)
	}
	var ce *config.Error
	if errors.As(err, &ce) {
		where := src.File
		if where == "" {
			where = "defaults and environment"
		}
		fmt.Fprintf(w, "%s: %d problem(s):\n", where, len(ce.Problems))
		for _, p := range ce.Problems {
			fmt.Fprintln(w, "  "+p.String())
		}
		return false, nil
	}
	if err != nil {
		return false, err
	}
	file := src.File
	if file == "" {
		file = "no file: defaults"
	}
	fmt.Fprintf(w, "ok (%s, profile %s)\n", file, src.Profile)
	return true, nil
}

// LoadReport is config.Load for `config show` and `config diff`: with problems in
// its keys the rest still loads, and those problems are returned to be
// listed after it (WriteProblems); any other error is returned.
func LoadReport(path string, env []string) (*config.Config, config.Sources, []config.Problem, error) {
	cfg, src, err := config.Load(path, env)
	var ce *config.Error
	if err != nil && (cfg == nil || !errors.As(err, &ce)) {
		return nil, config.Sources{}, nil, err
	}
	if ce != nil {
		return cfg, src, ce.Problems, nil
	}
	return cfg, src, nil, nil
}

// WriteProblems writes each problem as a "# problem:" line, after the
// YAML of show or diff, and reports whether there was any.
func WriteProblems(w io.Writer, problems []config.Problem) bool {
	for _, p := range problems {
		fmt.Fprintln(w, "# problem:", p.String())
	}
	return len(problems) > 0
}

// WriteProfiles lists the device profiles, each with its notes, as
// `posagent config profiles` prints them.
func WriteProfiles(w io.Writer) {
	for _, p := range profile.All() {
		fmt.Fprintf(w, "%s: %s\n", p.Name, p.Description)
		for _, n := range p.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
}
