package check

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/posagent/posagent/store/record"
)

// checkLatest: each latest/ entry names a sequence already assigned.
func checkLatest(rep *Report, meta map[string][]byte, lastSeq uint64) {
	for k, v := range meta {
		if !strings.HasPrefix(k, record.LatestPrefix) {
			continue
		}
		if len(v) != 8 {
			rep.Findings = append(rep.Findings, Finding{Bucket: "meta", Key: printable([]byte(k)), Problem: "not an event sequence number", Damage: true})
		} else if seq := binary.BigEndian.Uint64(v); seq == 0 || seq > lastSeq {
			rep.Findings = append(rep.Findings, Finding{Bucket: "meta", Key: printable([]byte(k)), Problem: fmt.Sprintf("names event #%d, past the event sequence %d", seq, lastSeq), Damage: true})
		}
	}
}
