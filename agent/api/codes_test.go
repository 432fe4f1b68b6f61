package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/operr"
)

// TestErrorCodesDocumented ties the error codes to the table under
// "## Errors" in docs/api.md: every code the engine or the API answers
// with is listed there with the status the API gives it, and every code
// listed there is one of them.
func TestErrorCodesDocumented(t *testing.T) {
	documented := docErrorCodes(t, "../../docs/api.md")
	answered := map[agent.Code]int{}
	for _, c := range operr.Codes() {
		answered[c] = kindStatus(c.Kind())
	}
	for c, st := range ownStatus {
		if _, dup := answered[c]; dup {
			t.Errorf("code %s is both the engine's (agent/operr) and the API's own (api/codes.go)", c)
		}
		answered[c] = st
	}
	for c, st := range answered {
		switch got, ok := documented[c]; {
		case !ok:
			t.Errorf("code %s (%d) is not in the error table of docs/api.md", c, st)
		case got != st:
			t.Errorf("docs/api.md lists code %s under %d; the API answers it with %d", c, got, st)
		}
	}
	for c, st := range documented {
		if _, ok := answered[c]; !ok {
			t.Errorf("docs/api.md lists code %s under %d, but no such code is answered (agent/operr, api/codes.go)", c, st)
		}
	}
}

// TestCodeConstantsHaveStatus: every Code constant declared in
// agent/operr/operr.go has a kind (it is in operr.Codes), and every one declared
// in api/codes.go has a status, so a constant added to a block without its
// table fails here rather than answering 500.
func TestCodeConstantsHaveStatus(t *testing.T) {
	engine := map[agent.Code]bool{}
	for _, c := range operr.Codes() {
		engine[c] = true
	}
	for _, c := range codeConstants(t, "../operr/operr.go") {
		if !engine[c] {
			t.Errorf("agent/operr/operr.go declares %s but gives it no kind (codeKinds)", c)
		}
	}
	for _, c := range codeConstants(t, "codes.go") {
		if _, ok := ownStatus[c]; !ok {
			t.Errorf("api/codes.go declares %s but gives it no status (ownStatus)", c)
		}
	}
	if len(engine) == 0 || len(ownStatus) == 0 {
		t.Fatal("no codes found")
	}
}

// TestKindStatus: each kind has its own status; an unknown kind is 500.
func TestKindStatus(t *testing.T) {
	want := map[agent.Kind]int{
		operr.KindInvalid: 400, operr.KindForbidden: 403, operr.KindNotFound: 404, operr.KindConflict: 409,
		operr.KindWrongState: 422, operr.KindInternal: 500, operr.KindUnavailable: 503, agent.Kind(200): 500,
	}
	for k, st := range want {
		if got := kindStatus(k); got != st {
			t.Errorf("kind %s: status %d, want %d", k, got, st)
		}
	}
	if st, code, _ := answer(os.ErrClosed); st != 500 || code != operr.CodeInternal {
		t.Errorf("a plain error is answered %d %s, want 500 internal", st, code)
	}
}

var (
	statusRow = regexp.MustCompile(`^\| (\d{3}) \| (.*)\|$`)
	codeInRow = regexp.MustCompile("`([a-z][a-z_]*)`")
	aside     = regexp.MustCompile(`\([^()]*\)`) // a note on a code, which may name settings
)

// docErrorCodes reads the status rows of the table under "## Errors": the
// codes are the words in backquotes outside parentheses.
func docErrorCodes(t *testing.T, path string) map[agent.Code]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Errors\n")
	if !ok {
		t.Fatalf("%s has no ## Errors section", path)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	out := map[agent.Code]int{}
	for _, line := range strings.Split(section, "\n") {
		m := statusRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		st, _ := strconv.Atoi(m[1])
		for _, c := range codeInRow.FindAllStringSubmatch(aside.ReplaceAllString(m[2], ""), -1) {
			if prev, dup := out[agent.Code(c[1])]; dup {
				t.Errorf("docs/api.md lists %s under %d and %d", c[1], prev, st)
			}
			out[agent.Code(c[1])] = st
		}
	}
	if len(out) == 0 {
		t.Fatalf("no codes found in the error table of %s", path)
	}
	return out
}

// codeConstants lists the values of the Code constants a file declares.
func codeConstants(t *testing.T, path string) []agent.Code {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []agent.Code
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, s := range g.Specs {
			vs := s.(*ast.ValueSpec)
			if !isCodeType(vs.Type) {
				continue
			}
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					out = append(out, agent.Code(s))
				}
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s declares no Code constants", path)
	}
	return out
}

func isCodeType(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name == "Code"
	case *ast.SelectorExpr:
		return x.Sel.Name == "Code"
	}
	return false
}
