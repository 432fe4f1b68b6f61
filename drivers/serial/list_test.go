package serial

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestListPorts(t *testing.T) {
	dev, sys := t.TempDir(), t.TempDir()
	touch := func(p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"ttyACM0", "ttyUSB1", "ttyS0", "ttyS1", "ttyS2", "tty0"} {
		touch(filepath.Join(dev, n))
	}
	write := func(name, typ string) {
		p := filepath.Join(sys, "class", "tty", name, "type")
		touch(p)
		if err := os.WriteFile(p, []byte(typ+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ttyS0", "4") // a 16550A
	write("ttyS1", "0") // no UART behind it
	byID := filepath.Join(dev, "serial", "by-id")
	if err := os.MkdirAll(byID, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../ttyACM0", filepath.Join(byID, "usb-Honeywell_Xenon_123-if00")); err != nil {
		t.Fatal(err)
	}
	want := []PortInfo{
		{Path: filepath.Join(dev, "ttyACM0"), Kind: "usb-cdc", ByID: []string{filepath.Join(byID, "usb-Honeywell_Xenon_123-if00")}},
		{Path: filepath.Join(dev, "ttyS0"), Kind: "on-board"},
		{Path: filepath.Join(dev, "ttyUSB1"), Kind: "usb-serial"},
	}
	if got := ListPorts(dev, sys); !reflect.DeepEqual(got, want) {
		t.Errorf("ListPorts:\n got %+v\nwant %+v", got, want)
	}
	if got := ListPorts(filepath.Join(dev, "missing"), sys); len(got) != 0 {
		t.Errorf("missing /dev: %+v", got)
	}
}
