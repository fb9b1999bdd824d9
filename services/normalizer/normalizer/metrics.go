package normalizer

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	removed  *prometheus.CounterVec
	empty    *prometheus.CounterVec
	ratio    prometheus.Histogram
	rules    *prometheus.CounterVec
	timeouts prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		removed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "newsflow", Name: "boilerplate_removed_bytes_total",
			Help: "Bytes of fetched pages that did not make it into the article text, by source site.",
		}, []string{"source"}),
		empty: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "newsflow", Name: "empty_extractions_total",
			Help: "Pages from which no article text could be extracted, by source site.",
		}, []string{"source"}),
		ratio: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: "newsflow", Name: "extraction_ratio",
			Help:    "Length of the extracted text divided by the length of the page.",
			Buckets: []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1},
		}),
		rules: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "newsflow", Name: "boilerplate_rule_hits_total",
			Help: "Articles in which a text-level boilerplate rule removed something, by rule.",
		}, []string{"rule"}),
		timeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: "newsflow", Name: "extraction_timeouts_total",
			Help: "Pages dead-lettered because extracting them took longer than -extract-timeout.",
		}),
	}
	reg.MustRegister(m.removed, m.empty, m.ratio, m.rules, m.timeouts)
	return m
}
