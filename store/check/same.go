package check

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SameRecords compares every bucket of db, key, value and sequence, with
// the journal file at path (a copy of db: CompactFile, CompactNow).
func SameRecords(db *bolt.DB, path string) error {
	other, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer other.Close()
	return db.View(func(a *bolt.Tx) error {
		return other.View(func(b *bolt.Tx) error {
			var cmp func(name string, x, y *bolt.Bucket) error
			cmp = func(name string, x, y *bolt.Bucket) error {
				if y == nil {
					return fmt.Errorf("bucket %s missing", name)
				}
				if x.Sequence() != y.Sequence() {
					return fmt.Errorf("bucket %s: sequence %d, copy %d", name, x.Sequence(), y.Sequence())
				}
				cx, cy := x.Cursor(), y.Cursor()
				kx, vx := cx.First()
				ky, vy := cy.First()
				for ; kx != nil || ky != nil; kx, vx, ky, vy = nextPair(cx, cy) {
					if !bytes.Equal(kx, ky) || !bytes.Equal(vx, vy) {
						return fmt.Errorf("bucket %s: record %q differs", name, kx)
					}
					if vx == nil {
						if err := cmp(name+"/"+string(kx), x.Bucket(kx), y.Bucket(ky)); err != nil {
							return err
						}
					}
				}
				return nil
			}
			n := 0
			err := a.ForEach(func(name []byte, x *bolt.Bucket) error {
				n++
				return cmp(string(name), x, b.Bucket(name))
			})
			if err != nil {
				return err
			}
			m := 0
			b.ForEach(func([]byte, *bolt.Bucket) error { m++; return nil })
			if m != n {
				return fmt.Errorf("%d buckets, copy %d", n, m)
			}
			return nil
		})
	})
}

func nextPair(cx, cy *bolt.Cursor) (kx, vx, ky, vy []byte) {
	kx, vx = cx.Next()
	ky, vy = cy.Next()
	return
}
