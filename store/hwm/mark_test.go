package hwm

import (
	"os"
	"path/filepath"
	"testing"
)

// TestMarkTornWrite: a torn write of one slot leaves the other.
func TestMarkTornWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.hwm")
	mf, err := Open(path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	mf.Write(Mark{JournalID: "a", Seq: 1, TxID: 3})
	mf.Write(Mark{JournalID: "a", Seq: 2, TxID: 4})
	go mf.Run()
	mf.Close()
	m, err := ReadMark(path)
	if err != nil || m.Seq != 2 {
		t.Fatalf("%+v %v", m, err)
	}
	f, _ := os.OpenFile(path, os.O_RDWR, 0)
	f.WriteAt([]byte("torn"), int64(m.Gen%2)*markSlot+10)
	f.Close()
	if m, err = ReadMark(path); err != nil || m.Seq != 1 {
		t.Fatalf("after a torn write: %+v %v", m, err)
	}
}
