package seal

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A code sealed for one payment opens for it alone, from the key file
// loaded again; once its key is destroyed it opens for nobody, and the
// key file no longer holds the key.
func TestSealOpenDestroy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "j.db.keys")
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	r, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Ensure(now); err != nil {
		t.Fatal(err)
	}
	sealed, err := r.Seal("134567890123456789", "pay_1")
	if err != nil || !strings.HasPrefix(sealed, "v1.1.") || strings.Contains(sealed, "134567890123456789") {
		t.Fatalf("sealed %q, %v", sealed, err)
	}
	again, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if code, err := again.Open(sealed, "pay_1"); err != nil || code != "134567890123456789" {
		t.Fatalf("open: %q %v", code, err)
	}
	if _, err := again.Open(sealed, "pay_2"); err == nil {
		t.Error("a code sealed for pay_1 opened for pay_2")
	}
	if id, err := again.Renew(now.Add(time.Hour), 24*time.Hour, false); err != nil || id != 0 {
		t.Fatalf("renew of a young key: %d %v", id, err)
	}
	if id, err := again.Renew(now.Add(25*time.Hour), 24*time.Hour, false); err != nil || id != 2 {
		t.Fatalf("renew of an old key: %d %v", id, err)
	}
	if d, k, err := again.Destroy(map[uint32]bool{1: true}); err != nil || len(d) != 0 || len(k) != 2 {
		t.Fatalf("destroy with key 1 needed: %v %v %v", d, k, err)
	}
	if d, k, err := again.Destroy(nil); err != nil || len(d) != 1 || d[0] != 1 || len(k) != 1 || k[0] != 2 {
		t.Fatalf("destroy: %v %v %v", d, k, err)
	}
	if _, err := again.Open(sealed, "pay_1"); !errors.Is(err, ErrKeyGone) {
		t.Errorf("open under a destroyed key: %v, want ErrKeyGone", err)
	}
	third, err := Load(path)
	if err != nil || third.Has(1) || !third.Has(2) {
		t.Fatalf("the key file after destroy: has 1 %v, has 2 %v, %v", third.Has(1), third.Has(2), err)
	}
}

// A key file that is not JSON, or holds a short key, is refused with a
// message naming the file.
func TestLoadRefusesBadFile(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"garbage": "{",
		"short":   `{"version":1,"keys":[{"id":1,"created":"2026-12-07T09:00:00Z","key":"AAAA"}]}`,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v, want an error naming the file", name, err)
		}
	}
}
