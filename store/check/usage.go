package check

import bolt "go.etcd.io/bbolt"

// Usage is how a journal file's bytes are used.
type Usage struct {
	FileBytes int64 `json:"file_bytes"` // the file as bbolt sees it
	LiveBytes int64 `json:"live_bytes"` // every record's key and value
	FreeBytes int64 `json:"free_bytes"` // free pages, reused by later commits
	// Buckets is LiveBytes by bucket.
	Buckets map[string]int64 `json:"buckets"`
}

// Measure measures the journal db: one read transaction over every
// record (store.Store.Usage on the open journal).
func Measure(db *bolt.DB) (Usage, error) {
	var u Usage
	err := db.View(func(tx *bolt.Tx) error {
		u.FileBytes = tx.Size()
		u.Buckets = map[string]int64{}
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			n := int64(len(name)) + liveBytes(b)
			u.Buckets[string(name)] = n
			u.LiveBytes += n
			return nil
		})
	})
	st := db.Stats()
	u.FreeBytes = max(int64(st.FreeAlloc), int64(st.FreePageN)*int64(db.Info().PageSize))
	return u, err
}

// liveBytes is the bytes of b's keys and values, nested buckets included.
func liveBytes(b *bolt.Bucket) int64 {
	var n int64
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		n += int64(len(k) + len(v))
		if v == nil {
			if sub := b.Bucket(k); sub != nil {
				n += liveBytes(sub)
			}
		}
	}
	return n
}
