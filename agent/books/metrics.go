package books

import (
	"encoding/json"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posagent/posagent/store"
)

// The books' gauges and counters, read from the journal at scrape time.
// Names and labels are the dashboard's and the alert rules' contract
// (deploy/; cmd/posagent/deploy_test.go checks it on a real scrape).
var (
	descZReports      = prometheus.NewDesc("posagent_z_reports", "Number of the last Z report.", nil, nil)
	descReconMismatch = prometheus.NewDesc("posagent_reconciliation_mismatches", "Differences with the gateway found by the last reconciliation of a Z report.", []string{"z"}, nil)
	descReconUnanswer = prometheus.NewDesc("posagent_reconciliation_unanswered", "Orders the last reconciliation got no believable answer for.", []string{"z"}, nil)
)

// Collector is the books' metrics: the last Z report's number and what
// the last reconciliation found.
func (b *Books) Collector() prometheus.Collector { return collector{b} }

type collector struct{ b *Books }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descZReports
	ch <- descReconMismatch
	ch <- descReconUnanswer
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	var lastZ, reconZ uint64
	var rc Reconciliation
	c.b.st.View(func(tx *store.Tx) error {
		lastZ = tx.LastZ()
		var data []byte
		if reconZ, data = tx.LastReconciliation(); data != nil {
			json.Unmarshal(data, &rc)
		}
		return nil
	})
	z := strconv.FormatUint(reconZ, 10)
	ch <- prometheus.MustNewConstMetric(descZReports, prometheus.CounterValue, float64(lastZ))
	ch <- prometheus.MustNewConstMetric(descReconMismatch, prometheus.GaugeValue, float64(len(rc.Mismatches)), z)
	ch <- prometheus.MustNewConstMetric(descReconUnanswer, prometheus.GaugeValue, float64(rc.Unanswered), z)
}
