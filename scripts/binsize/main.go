// Command binsize lists what each module (and the standard library's
// top-level packages) adds to a Go binary, from the symbol table:
//
//	go build -trimpath -o /tmp/posagent ./cmd/posagent   # not stripped: nm needs the symbols
//	go run ./scripts/binsize /tmp/posagent
//
// It runs `go tool nm -size` on the binary; each symbol's size counts for
// its package, grouped by module, when the symbol lies in a section with
// bytes in the file (the BSS, zeroed at start, is left out). Then the
// sections: the function tables (.gopclntab, which grows with the code)
// and what `make build` strips (-s -w: DWARF and the symbol table).
package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: binsize BINARY (built without -s -w)")
		os.Exit(2)
	}
	ef, err := elf.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "binsize:", err)
		os.Exit(1)
	}
	inFile := func(addr uint64) bool {
		for _, s := range ef.Sections {
			if s.Type != elf.SHT_NOBITS && s.Addr != 0 && addr >= s.Addr && addr < s.Addr+s.Size {
				return true
			}
		}
		return false
	}
	out, err := exec.Command("go", "tool", "nm", "-size", os.Args[1]).Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "binsize: go tool nm:", err)
		os.Exit(1)
	}
	sizes := map[string]int64{}
	var total int64
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		addr, aerr := strconv.ParseUint(f[0], 16, 64)
		if err != nil || aerr != nil || !inFile(addr) {
			continue
		}
		sizes[group(pkgOf(strings.Join(f[3:], " ")))] += n
		total += n
	}
	type row struct {
		name string
		n    int64
	}
	var rows []row
	for k, v := range sizes {
		rows = append(rows, row{k, v})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].n > rows[j].n })
	fmt.Printf("%8s  %5s  %s\n", "MB", "share", "module / std package (symbols: code, read-only data, data)")
	for _, r := range rows {
		if r.n < 20_000 {
			break
		}
		fmt.Printf("%8.2f  %4.1f%%  %s\n", float64(r.n)/1e6, 100*float64(r.n)/float64(total), r.name)
	}
	fmt.Printf("%8.2f  total of the symbols\n\nsections:\n", float64(total)/1e6)
	for _, s := range ef.Sections {
		if s.Type != elf.SHT_NOBITS && s.Size >= 100_000 {
			fmt.Printf("%8.2f  %s\n", float64(s.Size)/1e6, s.Name)
		}
	}
}

// pkgOf is the package path of a symbol name.
func pkgOf(s string) string {
	for _, pre := range []string{"type:.eq.", "type:.hash.", "type:", "go:itab.", "go:"} {
		if strings.HasPrefix(s, pre) {
			s = s[len(pre):]
			break
		}
	}
	s = strings.TrimLeft(s, "*([")
	slash := strings.LastIndex(s, "/")
	if dot := strings.Index(s[slash+1:], "."); dot >= 0 {
		return s[:slash+1+dot]
	}
	return s
}

// group is a package's module (its first path elements), or "std: X" for
// the standard library's top-level package X.
func group(p string) string {
	parts := strings.Split(p, "/")
	switch {
	case strings.HasPrefix(p, "github.com/posagent/posagent/"):
		return "posagent/" + parts[3]
	case strings.HasPrefix(p, "github.com/posagent/posagent"):
		return "posagent"
	case len(parts) >= 3 && (parts[0] == "github.com" || parts[0] == "golang.org"):
		return strings.Join(parts[:3], "/")
	case len(parts) >= 2 && strings.Contains(parts[0], "."):
		return strings.Join(parts[:2], "/")
	case strings.Contains(parts[0], "."):
		return parts[0]
	}
	return "std: " + parts[0]
}
