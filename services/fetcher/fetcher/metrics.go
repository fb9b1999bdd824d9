package fetcher

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/newsflow/newsflow/services/fetcher/page"
)

// Fetch kinds, the "kind" label.
const (
	kindFeed = "feed"
	kindPage = "page"
)

// Metrics are the fetcher's Prometheus metrics (names in DESIGN.md). Label
// values come from small fixed sets; never a URL.
type Metrics struct {
	requests    *prometheus.CounterVec // kind, status_class
	bytes       *prometheus.CounterVec // kind
	notModified prometheus.Counter
	refused     *prometheus.CounterVec // reason
	polls       *prometheus.CounterVec // outcome
	discovered  prometheus.Counter
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered, for tests and tools).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "newsflow_fetch_requests_total",
			Help: "HTTP requests made by the fetcher, by kind (feed, page) and status class (2xx..5xx, error).",
		}, []string{"kind", "status_class"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "newsflow_fetch_bytes_total",
			Help: "Body bytes fetched (after decoding to UTF-8), by kind.",
		}, []string{"kind"}),
		notModified: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "newsflow_fetch_not_modified_total",
			Help: "Conditional feed requests answered 304 Not Modified.",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "newsflow_fetch_refused_total",
			Help: "Fetches refused by the fetcher's own rules, by reason.",
		}, []string{"reason"}),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "newsflow_feed_polls_total",
			Help: "Feed polls by outcome (ok, not_modified, fetch_error, parse_error).",
		}, []string{"outcome"}),
		discovered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "newsflow_articles_discovered_total",
			Help: "Feed items not seen before, queued for fetching.",
		}),
	}
	// Create every series up front so that rates and alerts see zeros
	// instead of missing series.
	for _, kind := range []string{kindFeed, kindPage} {
		m.bytes.WithLabelValues(kind)
		for _, class := range []string{"2xx", "3xx", "4xx", "5xx", "error"} {
			m.requests.WithLabelValues(kind, class)
		}
	}
	for _, reason := range []string{ReasonTooLarge, ReasonContentType, ReasonScheme, ReasonRedirects} {
		m.refused.WithLabelValues(reason)
	}
	for _, outcome := range []string{pollOK, pollNotModified, pollFetchError, pollParseError} {
		m.polls.WithLabelValues(outcome)
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.bytes, m.notModified, m.refused, m.polls, m.discovered)
	}
	return m
}

// Feed poll outcomes, the "outcome" label.
const (
	pollOK          = "ok"
	pollNotModified = "not_modified"
	pollFetchError  = "fetch_error"
	pollParseError  = "parse_error"
)

// fetched records one request: resp on success, err otherwise.
func (m *Metrics) fetched(kind string, resp *page.Response, err error) {
	m.requests.WithLabelValues(kind, statusClass(resp, err)).Inc()
	if resp != nil {
		m.bytes.WithLabelValues(kind).Add(float64(len(resp.Body)))
		if resp.NotModified {
			m.notModified.Inc()
		}
	}
	if reason := Reason(err); isRefusal(reason) {
		m.refused.WithLabelValues(reason).Inc()
	}
}

func statusClass(resp *page.Response, err error) string {
	code := 0
	var se *page.StatusError
	switch {
	case err == nil && resp != nil:
		code = resp.Status
	case errors.As(err, &se):
		code = se.Code
	}
	if code < 200 || code > 599 {
		return "error"
	}
	return strconv.Itoa(code/100) + "xx"
}
