// Command pkgstats prints, for every package of the module, its non-test
// and test lines, its exported names (top-level identifiers and methods of
// exported types) and how many packages of the module import it: the
// figures issue 24's before/after table is made of.
//
//	go run ./scripts/pkgstats [-over 4000] [dir]
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

type pkg struct {
	ImportPath   string
	Dir          string
	GoFiles      []string
	CgoFiles     []string
	TestGoFiles  []string
	XTestGoFiles []string
	Imports      []string
	Module       *struct{ Path string }
}

func main() {
	over := flag.Int("over", 0, "exit 1 when a package has more non-test lines than this (0: no limit)")
	flag.Parse()
	dir := "."
	if flag.NArg() > 0 {
		dir = flag.Arg(0)
	}
	pkgs, err := list(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pkgstats:", err)
		os.Exit(2)
	}
	importers := map[string]int{}
	for _, p := range pkgs {
		for _, imp := range p.Imports {
			importers[imp]++
		}
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].ImportPath < pkgs[j].ImportPath })
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprintf(w, "| package | non-test lines | test lines | exported names | importers |\n|---|---|---|---|---|\n")
	bad := 0
	for _, p := range pkgs {
		mod := p.Module.Path
		name := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, mod), "/")
		if name == "" {
			name = "."
		}
		src := append(append([]string{}, p.GoFiles...), p.CgoFiles...)
		n := lines(p.Dir, src)
		t := lines(p.Dir, append(append([]string{}, p.TestGoFiles...), p.XTestGoFiles...))
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d |\n", name, n, t, exported(p.Dir, src), importers[p.ImportPath])
		if *over > 0 && n > *over {
			bad++
		}
	}
	if bad > 0 {
		w.Flush()
		fmt.Fprintf(os.Stderr, "pkgstats: %d packages over %d non-test lines\n", bad, *over)
		os.Exit(1)
	}
}

func list(dir string) ([]pkg, error) {
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var pkgs []pkg
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			return nil, err
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

func lines(dir string, files []string) int {
	n := 0
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			continue
		}
		n += bytes.Count(b, []byte{'\n'})
	}
	return n
}

// exported counts the package's exported top-level names and the exported
// methods of its exported types.
func exported(dir string, files []string) int {
	fset := token.NewFileSet()
	n := 0
	for _, f := range files {
		af, err := parser.ParseFile(fset, filepath.Join(dir, f), nil, parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		for _, d := range af.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() {
					continue
				}
				if d.Recv == nil || recvExported(d.Recv) {
					n++
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							n++
						}
					case *ast.ValueSpec:
						for _, id := range s.Names {
							if id.IsExported() {
								n++
							}
						}
					}
				}
			}
		}
	}
	return n
}

func recvExported(r *ast.FieldList) bool {
	if len(r.List) == 0 {
		return false
	}
	t := r.List[0].Type
	for {
		switch x := t.(type) {
		case *ast.StarExpr:
			t = x.X
		case *ast.IndexExpr:
			t = x.X
		case *ast.IndexListExpr:
			t = x.X
		case *ast.Ident:
			return x.IsExported()
		default:
			return false
		}
	}
}
