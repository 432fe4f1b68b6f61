package check

import (
	"bytes"
	"testing"
	"time"

	"github.com/posagent/posagent/store/hwm"
)

// TestReportWriteText pins the text of `posagent journal check` for a
// sound journal with a warning and a mark, a damaged one, and a missing
// file.
func TestReportWriteText(t *testing.T) {
	page := uint64(7)
	at := time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC)
	sound := &Report{Path: "/var/lib/posagent/posagent.db", Size: 65536, PageSize: 4096, Pages: 16, TxID: 42,
		Payments: 3, Open: 1, Orders: 3, Jobs: 2, IdemKeys: 3, Events: 9, LastSeq: 9,
		Mark:     &hwm.Mark{Seq: 9, TxID: 42, At: at},
		Findings: []Finding{{Bucket: "outbox", Problem: "a job names no payment"}}}
	damaged := &Report{Path: "d.db", Size: 8192, PageSize: 4096, Pages: 2, TxID: 3,
		Findings: []Finding{{Page: &page, Problem: "bad checksum", Damage: true}}}
	for _, tc := range []struct {
		name string
		rep  *Report
		want string
	}{
		{"sound", sound, "journal /var/lib/posagent/posagent.db: 64 KiB, 16 pages of 4096 bytes, transaction 42\n" +
			"  3 payments (1 open), 3 order ids, 2 outbox jobs, 3 idempotency keys, 9 events (last #9)\n" +
			"  high-water mark: event #9, transaction 42, written 2026-11-25T18:30:00Z\n" +
			"warn   " + sound.Findings[0].String() + "\n" +
			"result: sound\n"},
		{"damaged", damaged, "journal d.db: 8 KiB, 2 pages of 4096 bytes, transaction 3\n" +
			"  0 payments (0 open), 0 order ids, 0 outbox jobs, 0 idempotency keys, 0 events (last #0)\n" +
			"DAMAGE " + damaged.Findings[0].String() + "\n" +
			"result: DAMAGED. The agent will not start on this file and has not written to it.\n" +
			"  restore the newest backup:        posagent journal restore BACKUP.db\n" +
			"  or keep every readable record:    posagent journal salvage NEW.db && posagent journal restore NEW.db\n"},
		{"missing", &Report{Path: "x.db", Missing: true}, "journal x.db: no such file\nresult: sound\n"},
	} {
		var b bytes.Buffer
		tc.rep.WriteText(&b)
		if b.String() != tc.want {
			t.Errorf("%s:\n%s\nwant:\n%s", tc.name, b.String(), tc.want)
		}
	}
}

// TestSalvageWriteText pins the text of `posagent journal salvage`:
// buckets sorted, then what was lost and dropped.
func TestSalvageWriteText(t *testing.T) {
	sr := &SalvageReport{From: "a.db", To: "b.db", Copied: map[string]int{"payments": 5, "events": 12}, Rescued: 2,
		Lost: []Finding{{Bucket: "payments", Problem: "undecodable"}}, Dropped: []string{"outbox job 4 of a lost payment"}}
	var b bytes.Buffer
	sr.WriteText(&b)
	want := "salvaged a.db into b.db:\n  events     12 records\n  payments   5 records\n" +
		"  (2 of them found on pages whose parent page was lost)\n" +
		"LOST    " + sr.Lost[0].String() + "\nDROPPED outbox job 4 of a lost payment\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	(&SalvageReport{From: "a.db", To: "b.db"}).WriteText(&b)
	if want := "salvaged a.db into b.db:\nnothing was lost\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
