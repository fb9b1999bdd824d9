package normalizer

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/newsflow/newsflow/services/normalizer/extract"
	"github.com/newsflow/newsflow/stage"
)

type metrics struct {
	removed  *prometheus.CounterVec
	empty    *prometheus.CounterVec
	ratio    prometheus.Histogram
	rules    *prometheus.CounterVec
	timeouts prometheus.Counter
	methods  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
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
		methods: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "newsflow", Name: "extraction_method_total",
			Help: "Pages extracted, by the method that found their text: primary (readability after pruning), or a fallback when that fell short (unpruned, json-ld, article, density), flat (a page nested too deeply to parse), text (plain text).",
		}, []string{"method"}),
	}
	for _, method := range []string{extract.MethodPrimary, extract.MethodUnpruned, extract.MethodJSONLD,
		extract.MethodArticle, extract.MethodDensity, extract.MethodFlat, extract.MethodText} {
		m.methods.WithLabelValues(method)
	}
	if err := stage.Register(reg, m.removed, m.empty, m.ratio, m.rules, m.timeouts, m.methods); err != nil {
		return nil, err
	}
	return m, nil
}
