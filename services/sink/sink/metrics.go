package sink

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	rows          *prometheus.CounterVec
	storeErrors   prometheus.Counter
	fetchToStored prometheus.Histogram
	freshness     prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
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
	}
	reg.MustRegister(m.rows, m.storeErrors, m.fetchToStored, m.freshness)
	return m
}
