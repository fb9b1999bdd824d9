package fetcher

import (
	"errors"
	"log/slog"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/newsflow/newsflow/services/fetcher/page"
	"github.com/newsflow/newsflow/services/fetcher/registry"
	"github.com/newsflow/newsflow/stage"
)

// Fetch kinds, the "kind" label.
const (
	kindFeed   = "feed"
	kindPage   = "page"
	kindRobots = "robots"
)

// Metrics are the fetcher's Prometheus metrics (listed in README.md). Label
// values come from small fixed sets; never a URL.
type Metrics struct {
	requests    *prometheus.CounterVec // kind, status_class
	bytes       *prometheus.CounterVec // kind
	notModified prometheus.Counter
	refused     *prometheus.CounterVec // reason
	polls       *prometheus.CounterVec // outcome
	discovered  prometheus.Counter

	errors       *prometheus.CounterVec // kind, class
	robotsDenied prometheus.Counter
	feeds        *prometheus.GaugeVec   // health
	feedErrors   *prometheus.CounterVec // source (feed host), class
	pollLag      prometheus.Histogram
	gaps         prometheus.Counter
	overdue      prometheus.Gauge
	overdueMax   prometheus.Gauge
	queued       prometheus.Gauge
	queueWait    prometheus.Histogram
	backlog      prometheus.Gauge
	held         prometheus.Gauge
	deferred     prometheus.Gauge
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered, for tests and tools).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
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
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "newsflow_fetch_errors_total",
			Help: "Failed fetches by kind (feed, page, robots) and class (dns, connect, tls, timeout, http_status, parse, policy, too_large, robots, host_busy, other).",
		}, []string{"kind", "class"}),
		robotsDenied: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "newsflow_robots_denied_total",
			Help: "Article pages not fetched because robots.txt disallows them.",
		}),
		feeds: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "newsflow_feeds",
			Help: "Registered feeds by health (healthy, backoff, failing).",
		}, []string{"health"}),
		feedErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "newsflow_feed_errors_total",
			Help: "Failed feed polls by feed host and error class.",
		}, []string{"source", "class"}),
		gaps: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "newsflow_feed_gaps_total",
			Help: "Repeat feed polls that found every listed item new: items may have scrolled out of the feed unseen between two polls (the feed's interval is halved at once).",
		}),
		pollLag: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "newsflow_feed_poll_lag_seconds",
			Help:    "How late a feed poll started after it was due.",
			Buckets: []float64{0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600},
		}),
		overdue: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "newsflow_feeds_overdue",
			Help: "Feeds due for a poll that has not started yet.",
		}),
		overdueMax: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "newsflow_feed_overdue_seconds",
			Help: "How long the most overdue feed has been waiting for its poll to start (0: none waiting).",
		}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "newsflow_fetch_queued",
			Help: "Requests (feeds and pages) waiting in their host's queue for politeness to allow them.",
		}),
		queueWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "newsflow_fetch_queue_wait_seconds",
			Help:    "How long a request waited in its host's queue before it was sent.",
			Buckets: []float64{0.01, 0.1, 0.5, 1, 5, 15, 60, 300},
		}),
		backlog: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "newsflow_fetch_pipeline_backlog",
			Help: "Articles waiting in the stages downstream, not yet stored, as last read by the fetcher (-max-backlog defers the pages of new feeds while it is high).",
		}),
		held: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "newsflow_feeds_held",
			Help: "Feeds due for their first poll held back because the stages downstream are at -max-backlog and the deferred pages at their cap.",
		}),
		deferred: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "newsflow_fetch_deferred_pages",
			Help: "Article pages listed at the first poll of a feed while the stages were at -max-backlog: known, waiting to be fetched as the backlog falls.",
		}),
	}
	// Create every series up front so that rates and alerts see zeros
	// instead of missing series.
	for _, kind := range []string{kindFeed, kindPage, kindRobots} {
		m.bytes.WithLabelValues(kind)
		for _, class := range []string{"2xx", "3xx", "4xx", "5xx", "error"} {
			m.requests.WithLabelValues(kind, class)
		}
		for _, class := range page.Classes() {
			m.errors.WithLabelValues(kind, class)
		}
	}
	for _, h := range []string{registry.Healthy, registry.Backoff, registry.Failing} {
		m.feeds.WithLabelValues(h)
	}
	for _, reason := range []string{ReasonTooLarge, ReasonContentType, ReasonScheme, ReasonRedirects, ReasonAddress} {
		m.refused.WithLabelValues(reason)
	}
	for _, outcome := range []string{pollOK, pollNotModified, pollFetchError, pollParseError} {
		m.polls.WithLabelValues(outcome)
	}
	if err := stage.Register(reg, m.requests, m.bytes, m.notModified, m.refused, m.polls, m.discovered,
		m.errors, m.robotsDenied, m.feeds, m.feedErrors, m.pollLag, m.gaps,
		m.overdue, m.overdueMax, m.queued, m.queueWait, m.backlog, m.held, m.deferred); err != nil {
		return nil, err
	}
	return m, nil
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
	if class := page.ErrorClass(err); class != "" && Reason(err) != ReasonCanceled {
		m.errors.WithLabelValues(kind, class).Inc()
	}
}

// feedFailed records a failed poll of a feed on source's per-feed panel.
// gapsFound counts a gap the poll that turned before into after found, and
// logs it with the feed's window.
func (m *Metrics) gapsFound(before, after FeedState, log *slog.Logger) {
	if after.Gaps <= before.Gaps {
		return
	}
	m.gaps.Inc()
	log.Warn("every listed item was new: items may have scrolled out of the feed unseen; polling more often",
		slog.Duration("window", after.Window), slog.Duration("interval", after.Interval))
}

func (m *Metrics) feedFailed(source, class string) {
	m.feedErrors.WithLabelValues(source, class).Inc()
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
