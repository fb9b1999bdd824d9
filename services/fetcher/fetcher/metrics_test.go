package fetcher

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/fetcher/page"
)

// The names dashboards and alerts use (README.md, "Metrics").
func TestMetricNames(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	mustMetrics(t, reg).feedFailed("news.example", page.ClassDNS)
	families, err := reg.Gather()
	require.NoError(t, err)
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				require.Contains(t, []string{"kind", "status_class", "reason", "outcome", "class", "health", "source"}, l.GetName())
			}
		}
	}
	require.Equal(t, []string{
		"newsflow_articles_discovered_total",
		"newsflow_feed_errors_total",
		"newsflow_feed_gaps_total",
		"newsflow_feed_overdue_seconds",
		"newsflow_feed_poll_lag_seconds",
		"newsflow_feed_polls_total",
		"newsflow_feeds",
		"newsflow_feeds_held",
		"newsflow_feeds_overdue",
		"newsflow_fetch_bytes_total",
		"newsflow_fetch_deferred_pages",
		"newsflow_fetch_errors_total",
		"newsflow_fetch_not_modified_total",
		"newsflow_fetch_pipeline_backlog",
		"newsflow_fetch_queue_wait_seconds",
		"newsflow_fetch_queued",
		"newsflow_fetch_refused_total",
		"newsflow_fetch_requests_total",
		"newsflow_robots_denied_total",
	}, slices.Sorted(slices.Values(names)))
}

func TestStatusClass(t *testing.T) {
	tests := []struct {
		resp *page.Response
		err  error
		want string
	}{
		{&page.Response{Status: 200}, nil, "2xx"},
		{&page.Response{Status: 304, NotModified: true}, nil, "3xx"},
		{nil, fmt.Errorf("get: %w: %w", page.ErrPermanent, &page.StatusError{Code: 404}), "4xx"},
		{nil, fmt.Errorf("get: %w: %w", page.ErrTransient, &page.StatusError{Code: 503}), "5xx"},
		{nil, fmt.Errorf("get: %w: %w", page.ErrPermanent, page.ErrTooLarge), "error"},
		{nil, errors.New("connection refused"), "error"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			require.Equal(t, tt.want, statusClass(tt.resp, tt.err))
		})
	}
}
