package hq

import (
	"github.com/prometheus/client_golang/prometheus"
)

// The fleet's metrics: one series per lane, labelled merchant, store, lane.
var (
	laneLabels     = []string{"merchant", "store", "lane"}
	mLaneUp        = prometheus.NewDesc("posagent_hq_lane_up", "1 when the lane's last heartbeat is fresher than the stale limit (three missed), else 0.", laneLabels, nil)
	mLaneInfo      = prometheus.NewDesc("posagent_hq_lane_info", "The lane's software version (always 1).", append(laneLabels, "software"), nil)
	mHeartbeatAge  = prometheus.NewDesc("posagent_hq_lane_heartbeat_age_seconds", "Seconds since the lane's last heartbeat arrived at head office.", laneLabels, nil)
	mConfigApplied = prometheus.NewDesc("posagent_hq_lane_config_version", "The highest configuration version the lane applied for its store's key (level store) and its own (level lane); 0 none.", append(laneLabels, "level"), nil)
	mConfigPub     = prometheus.NewDesc("posagent_hq_lane_config_published_version", "The configuration version head office published for the lane's store (level store) and for the lane (level lane); 0 none.", append(laneLabels, "level"), nil)
	mConfigStaged  = prometheus.NewDesc("posagent_hq_lane_config_staged_version", "A version the lane staged for its next restart or maintenance window; 0 none.", laneLabels, nil)
	mRefused       = prometheus.NewDesc("posagent_hq_lane_bundle_refused", "1 when the lane refused a bundle it has not since superseded with a version applied.", laneLabels, nil)
	mGateway       = prometheus.NewDesc("posagent_hq_lane_gateway_reachable", "1 when the lane reaches the payment gateway.", laneLabels, nil)
	mOutboxDepth   = prometheus.NewDesc("posagent_hq_lane_outbox_depth", "Follow-ups waiting in the lane's outbox.", laneLabels, nil)
	mOutboxAge     = prometheus.NewDesc("posagent_hq_lane_outbox_oldest_age_seconds", "Age of the oldest follow-up waiting in the lane's outbox.", laneLabels, nil)
	mInDoubt       = prometheus.NewDesc("posagent_hq_lane_payments_in_doubt", "Payments in doubt on the lane.", laneLabels, nil)
	mFeedLag       = prometheus.NewDesc("posagent_hq_lane_feed_lag_events", "Journal events the lane's feed has not delivered.", laneLabels, nil)
	mFeedLagS      = prometheus.NewDesc("posagent_hq_lane_feed_lag_seconds", "Age of the oldest event the lane's feed has not delivered.", laneLabels, nil)
	mClockOK       = prometheus.NewDesc("posagent_hq_lane_clock_ok", "1 when the lane's clock is plausible.", laneLabels, nil)
	mJournalOK     = prometheus.NewDesc("posagent_hq_lane_journal_ok", "0 when the lane's journal check found damage.", laneLabels, nil)
	mBackupAge     = prometheus.NewDesc("posagent_hq_lane_backup_age_seconds", "Age of the lane's last verified backup (-1 none).", laneLabels, nil)
	mProblems      = prometheus.NewDesc("posagent_hq_lane_problems", "How many problems head office sees on the lane (posagent-hq fleet ls lists them).", laneLabels, nil)
	mPublished     = prometheus.NewDesc("posagent_hq_config_published_version", "The version of the bundle published under each key of the bundles' bucket (lane \"\" for a store's).", laneLabels, nil)
)

// Collector exports the fleet view to Prometheus.
func (f *Fleet) Collector() prometheus.Collector { return fleetCollector{f} }

type fleetCollector struct{ f *Fleet }

func (c fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{mLaneUp, mLaneInfo, mHeartbeatAge, mConfigApplied, mConfigPub, mConfigStaged, mRefused, mGateway,
		mOutboxDepth, mOutboxAge, mInDoubt, mFeedLag, mFeedLagS, mClockOK, mJournalOK, mBackupAge, mProblems, mPublished} {
		ch <- d
	}
}

// boolGauge is a gauge of a condition: 1 for true, 0 for false.
func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (c fleetCollector) Collect(ch chan<- prometheus.Metric) {
	for _, l := range c.f.View() {
		h := l.Heartbeat
		lv := []string{l.Lane.Merchant, l.Lane.Store, l.Lane.Lane}
		g := func(d *prometheus.Desc, v float64, extra ...string) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, append(append([]string(nil), lv...), extra...)...)
		}
		g(mLaneUp, boolGauge(l.State == LaneUp))
		g(mHeartbeatAge, l.AgeSeconds)
		g(mProblems, float64(len(l.Problems)))
		g(mConfigPub, float64(l.Published.Store), "store")
		g(mConfigPub, float64(l.Published.Lane), "lane")
		if h.Format == 0 {
			continue // never a readable heartbeat
		}
		g(mLaneInfo, 1, h.Software)
		g(mConfigApplied, float64(h.Config.Store), "store")
		g(mConfigApplied, float64(h.Config.Lane), "lane")
		g(mConfigStaged, float64(h.Config.Staged))
		g(mRefused, boolGauge(h.Refusal != nil && !refusalSuperseded(*h.Refusal, h)))
		g(mGateway, boolGauge(h.Gateway == "ok"))
		g(mOutboxDepth, float64(h.OutboxDepth))
		g(mOutboxAge, float64(h.OutboxOldestS))
		g(mInDoubt, float64(h.InDoubt))
		g(mFeedLag, float64(h.FeedLag))
		g(mFeedLagS, float64(h.FeedLagS))
		g(mClockOK, boolGauge(h.ClockOK))
		g(mJournalOK, boolGauge(h.JournalCheck != "damaged"))
		g(mBackupAge, float64(h.BackupAgeS))
	}
	for _, p := range c.f.PublishedBundles() {
		if p.Version == 0 {
			continue // does not read
		}
		ch <- prometheus.MustNewConstMetric(mPublished, prometheus.GaugeValue, float64(p.Version), p.Target.Merchant, p.Target.Store, p.Target.Lane)
	}
}
