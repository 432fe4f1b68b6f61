package profile

import (
	"slices"
	"strings"
	"testing"
)

// TestTable: generic-linux first, names unique and found by Lookup, an
// unknown name not found, and every value under a dotted key.
func TestTable(t *testing.T) {
	names := Names()
	if len(names) == 0 || names[0] != "generic-linux" {
		t.Fatalf("names %v: want generic-linux first", names)
	}
	for i, n := range names {
		if slices.Index(names, n) != i {
			t.Errorf("profile %q twice", n)
		}
		p, ok := Lookup(n)
		if !ok || p.Name != n || p.Description == "" {
			t.Errorf("Lookup(%q) = %+v %v", n, p, ok)
		}
		for k := range p.Values {
			if !strings.Contains(k, ".") {
				t.Errorf("%s: value under %q, not a dotted key", n, k)
			}
		}
	}
	if _, ok := Lookup("sunmi"); ok {
		t.Error("Lookup of an unknown name found a profile")
	}
}

// TestCopies: what All or Lookup hands out is the caller's own: changing
// it changes nothing another caller reads.
func TestCopies(t *testing.T) {
	var name, key string
	for _, p := range All() {
		for k := range p.Values {
			name, key = p.Name, k
		}
	}
	if key == "" {
		t.Fatal("no profile has a value")
	}
	p, _ := Lookup(name)
	want := p.Values[key]
	p.Values[key] = "changed"
	All()[0].Notes = append(All()[0].Notes, "changed")
	if q, _ := Lookup(name); q.Values[key] != want {
		t.Errorf("%s %s = %v after a caller changed its copy, want %v", name, key, q.Values[key], want)
	}
}
