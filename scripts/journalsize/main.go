// Command journalsize says where a journal's bytes go, per payment:
//
//	go run ./scripts/journalsize .bench/start-100000/posagent.db
//
// For each bucket: its records, their key and value bytes, and the pages
// it holds (branch, leaf and overflow pages, times the page size), each
// divided by the number of payments; then the file and its free pages. It
// opens the journal read-only (run it on a copy, or with the agent
// stopped: a running agent holds the lock).
package main

import (
	"fmt"
	"os"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

type row struct {
	name            string
	n, kv, pages    int64
	leafUse, leafSz int64
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: journalsize JOURNAL")
		os.Exit(2)
	}
	db, err := bolt.Open(os.Args[1], 0o400, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "journalsize:", err)
		os.Exit(1)
	}
	defer db.Close()
	ps := int64(db.Info().PageSize)
	var rows []row
	var file, payments int64
	err = db.View(func(tx *bolt.Tx) error {
		file = tx.Size()
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			r := row{name: string(name)}
			st := b.Stats()
			r.pages = int64(st.BranchPageN+st.BranchOverflowN+st.LeafPageN+st.LeafOverflowN) * ps
			r.leafUse, r.leafSz = int64(st.LeafInuse+st.BranchInuse), int64(st.LeafPageN+st.LeafOverflowN+st.BranchPageN+st.BranchOverflowN)*ps
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				r.n++
				r.kv += int64(len(k) + len(v))
			}
			if r.name == "payments" {
				payments = r.n
			}
			rows = append(rows, r)
			return nil
		})
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "journalsize:", err)
		os.Exit(1)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].pages > rows[j].pages })
	per := func(x int64) float64 {
		if payments == 0 {
			return 0
		}
		return float64(x) / float64(payments)
	}
	fmt.Printf("%d payments, file %.1f MB, %.0f bytes a payment\n", payments, float64(file)/1e6, per(file))
	fmt.Printf("%-14s %10s %12s %12s %12s %8s\n", "bucket", "records", "rec/payment", "bytes/pay", "pages B/pay", "fill")
	var tn, tkv, tp int64
	for _, r := range rows {
		fill := 0.0
		if r.leafSz > 0 {
			fill = float64(r.leafUse) / float64(r.leafSz)
		}
		fmt.Printf("%-14s %10d %12.2f %12.0f %12.0f %7.0f%%\n", r.name, r.n, per(r.n), per(r.kv), per(r.pages), 100*fill)
		tn, tkv, tp = tn+r.n, tkv+r.kv, tp+r.pages
	}
	fmt.Printf("%-14s %10d %12.2f %12.0f %12.0f\n", "total", tn, per(tn), per(tkv), per(tp))
	fmt.Printf("%-14s %10s %12s %12s %12.0f  (free pages, meta, freelist)\n", "rest of file", "", "", "", per(file-tp))
}
