package sink

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/newsflow/newsflow/stage"
)

type metrics struct {
	rows          *prometheus.CounterVec
	storeErrors   prometheus.Counter
	fetchToStored prometheus.Histogram
	freshness     prometheus.Histogram
	batchSize     prometheus.Histogram
	commit        prometheus.Histogram
	duplicates    prometheus.Counter
	up            prometheus.Gauge
	deleted       prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "newsflow", Name: "store_rows_written_total",
			Help: "Articles handled by the sink, by outcome: inserted, updated, duplicate (already stored as is), stale (an older version than the stored one).",
		}, []string{"outcome"}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "newsflow", Name: "store_errors_total",
			Help: "Failed writes to the article store.",
		}),
		fetchToStored: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "newsflow", Name: "fetch_to_stored_seconds",
			Help:    "Time from fetching an article's page to storing the article (pipeline latency).",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 18),
		}),
		freshness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "newsflow", Name: "publication_to_stored_seconds",
			Help:    "Time from an article's publication to its storage (freshness).",
			Buckets: prometheus.ExponentialBuckets(1, 2.5, 16),
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "newsflow", Name: "store_batch_size",
			Help:    "Articles written per store transaction.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000},
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "newsflow", Name: "store_commit_duration_seconds",
			Help:    "Time to write and commit one batch of articles.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "newsflow", Name: "store_duplicates_skipped_total",
			Help: "Articles not written because the store already held them or a newer version (redeliveries).",
		}),
		up: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "newsflow", Name: "store_up",
			Help: "1 while the article store is reachable (the last write or check succeeded), else 0.",
		}),
		deleted: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "newsflow", Name: "store_rows_deleted_total",
			Help: "Articles deleted by retention (older than -store-max-age).",
		}),
	}
	if err := stage.Register(reg, m.rows, m.storeErrors, m.fetchToStored, m.freshness, m.batchSize, m.commit, m.duplicates, m.up, m.deleted); err != nil {
		return nil, err
	}
	return m, nil
}
