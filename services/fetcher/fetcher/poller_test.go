package fetcher

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
)

func TestPollOncePublishesNewItemsOnce(t *testing.T) {
	e := newEnv(t)
	cfg := PollerConfig{Feeds: []string{e.site.feed("harbour.xml")}}
	p := e.poller(t, cfg)

	stats, err := p.PollOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, Stats{FeedsPolled: 1, ItemsSeen: 3, New: 3, Published: 3}, stats)
	want := []string{
		"SITE/articles/ferry.html",
		"SITE/articles/fish-market.html",
		"SITE/articles/sea-wall.html",
	}
	require.Equal(t, want, e.pub.canonicalURLs(e.site.URL))

	// Same poller: the feed answers 304, nothing is fetched or published.
	stats, err = p.PollOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, Stats{FeedsPolled: 1, FeedsNotModified: 1}, stats)
	require.Equal(t, int32(1), e.site.notModified.Load())

	// A restarted fetcher has no feed state, gets the whole feed again, and
	// finds every item in the shared seen bucket.
	restarted := e.poller(t, cfg)
	stats, err = restarted.PollOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, Stats{FeedsPolled: 1, ItemsSeen: 3, SkippedSeen: 3}, stats)

	require.Len(t, e.pub.published(), 3)
	require.Equal(t, 1, e.site.hits("/articles/ferry.html"))
}

func TestPollOnceArticle(t *testing.T) {
	e := newEnv(t)
	feedURL := e.site.feed("harbour.xml")
	p := e.poller(t, PollerConfig{Feeds: []string{feedURL}})
	before := time.Now()
	_, err := p.PollOnce(t.Context())
	require.NoError(t, err)

	byPath := map[string]*newsflowv1.Article{}
	for _, a := range e.pub.published() {
		byPath[strings.TrimPrefix(a.CanonicalUrl, e.site.URL)] = a
	}
	host := strings.TrimPrefix(e.site.URL, "http://")
	host = host[:strings.LastIndex(host, ":")]

	tests := []struct {
		path, wantURL, wantTitle, wantCharset, wantBody string
		wantPublished                                   time.Time
	}{
		{"/articles/ferry.html", "/articles/ferry.html", "Ferry timetable changes from Monday", "utf-8", "ten minutes earlier", time.Date(2025, 6, 2, 6, 30, 0, 0, time.UTC)},
		// The fetched URL keeps the tracking parameters the feed gave.
		{"/articles/sea-wall.html", "/articles/sea-wall.html?utm_source=rss&utm_medium=feed", "Council approves new sea wall", "utf-8", "nine to two", time.Time{}},
		{"/articles/fish-market.html", "/articles/fish-market.html#comments", "Fish market reopens", "windows-1252", "The café by the market", time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			a := byPath[tt.path]
			require.NotNil(t, a, "published %v", byPath)
			canonical := e.site.URL + tt.path
			require.Equal(t, newsflowv1.ArticleID(canonical), a.Id)
			require.Equal(t, canonical, a.CanonicalUrl)
			require.Equal(t, e.site.URL+tt.wantURL, a.Url, "url is the link as fetched")
			require.Equal(t, feedURL, a.Feed)
			require.Equal(t, host, a.Source)
			sum := sha256.Sum256([]byte(pageBody(t, a)))
			require.Equal(t, hex.EncodeToString(sum[:]), a.ContentHash)

			f := a.Fetch
			require.EqualValues(t, 200, f.Status)
			require.Equal(t, "text/html", f.ContentType)
			require.Equal(t, tt.wantCharset, f.Charset)
			require.Contains(t, pageBody(t, a), tt.wantBody)
			require.Equal(t, `"`+strings.TrimPrefix(tt.path, "/articles/")+`"`, f.Etag)
			require.Equal(t, "Mon, 02 Jun 2025 07:00:00 GMT", f.LastModified)
			require.Equal(t, tt.wantTitle, f.FeedTitle)
			require.WithinDuration(t, before, f.FetchedAt.AsTime(), time.Minute)
			if tt.wantPublished.IsZero() {
				require.Nil(t, f.FeedPublishedAt)
			} else {
				require.Equal(t, tt.wantPublished, f.FeedPublishedAt.AsTime())
			}

			require.Len(t, a.Trace, 1)
			span := a.Trace[0]
			require.Equal(t, "fetcher", span.Stage)
			require.False(t, span.ReceivedAt.AsTime().Before(before.Truncate(time.Microsecond)))
			require.False(t, span.FinishedAt.AsTime().Before(span.ReceivedAt.AsTime()))
		})
	}
}

func TestPollOnceFailures(t *testing.T) {
	e := newEnv(t)
	e.site.flakyFailures.Store(1)
	reg := prometheus.NewPedanticRegistry()
	metrics := mustMetrics(t, reg)
	cfg := PollerConfig{Feeds: []string{e.site.feed("trouble.xml"), e.site.feed("harbour.xml")}, Metrics: metrics}
	p := e.poller(t, cfg)

	stats, err := p.PollOnce(t.Context())
	require.NoError(t, err)
	// ferry.html is listed by both feeds: fetched and published once.
	require.Equal(t, Stats{
		FeedsPolled: 2, ItemsSeen: 7, New: 6, SkippedSeen: 1, Published: 3,
		Failed: map[string]int{ReasonTransient: 1, ReasonPermanent: 1, ReasonTooLarge: 1},
	}, stats)
	require.Equal(t, 1, e.site.hits("/articles/ferry.html"))
	require.Equal(t, 1.0, testutil.ToFloat64(metrics.refused.WithLabelValues(ReasonTooLarge)))
	require.Equal(t, 1.0, testutil.ToFloat64(metrics.requests.WithLabelValues(kindPage, "5xx")))
	require.Equal(t, 1.0, testutil.ToFloat64(metrics.requests.WithLabelValues(kindPage, "4xx")))
	require.Equal(t, 3.0, testutil.ToFloat64(metrics.requests.WithLabelValues(kindPage, "2xx")))
	require.Equal(t, 2.0, testutil.ToFloat64(metrics.requests.WithLabelValues(kindFeed, "2xx")))
	require.Equal(t, 2.0, testutil.ToFloat64(metrics.polls.WithLabelValues(pollOK)))
	require.Equal(t, 6.0, testutil.ToFloat64(metrics.discovered))

	// The trouble feed had a transient failure, so its validators were not
	// kept: it is fetched whole again and the flaky page is retried. The
	// permanent failures are tried again too, since they were never marked
	// seen. The healthy feed answers 304.
	stats, err = p.PollOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, Stats{
		FeedsPolled: 2, FeedsNotModified: 1, ItemsSeen: 4, New: 3, SkippedSeen: 1, Published: 1,
		Failed: map[string]int{ReasonPermanent: 1, ReasonTooLarge: 1},
	}, stats)
	require.Contains(t, e.pub.canonicalURLs(e.site.URL), "SITE/articles/flaky.html")
	require.Equal(t, 2, e.site.hits("/articles/flaky.html"))
	require.Equal(t, 2.0, testutil.ToFloat64(metrics.refused.WithLabelValues(ReasonTooLarge)))
	require.Equal(t, 1.0, testutil.ToFloat64(metrics.notModified))

	// Nothing transient is left, so now the trouble feed's validators stick.
	stats, err = p.PollOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, 2, stats.FeedsNotModified)
	require.Len(t, e.pub.published(), 4)

	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)
}

func TestPollOnceFeedFailures(t *testing.T) {
	e := newEnv(t)
	metrics := mustMetrics(t, nil)
	p := e.poller(t, PollerConfig{
		Feeds:   []string{e.site.feed("broken.xml"), e.site.feed("down.xml"), e.site.feed("missing.xml")},
		Metrics: metrics,
	})
	stats, err := p.PollOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, Stats{
		FeedsPolled: 3,
		FeedsFailed: map[string]int{ReasonParse: 1, ReasonTransient: 1, ReasonPermanent: 1},
	}, stats)
	require.Equal(t, 2.0, testutil.ToFloat64(metrics.polls.WithLabelValues(pollFetchError)))
	require.Equal(t, 1.0, testutil.ToFloat64(metrics.polls.WithLabelValues(pollParseError)))
	for _, class := range []string{"2xx", "4xx", "5xx"} {
		require.Equal(t, 1.0, testutil.ToFloat64(metrics.requests.WithLabelValues(kindFeed, class)), class)
	}
}

func TestPollOncePublishFailureIsRetried(t *testing.T) {
	e := newEnv(t)
	failing := true
	e.pub.fail = func(a *newsflowv1.Article) bool {
		return failing && strings.HasSuffix(a.CanonicalUrl, "/sea-wall.html")
	}
	p := e.poller(t, PollerConfig{Feeds: []string{e.site.feed("harbour.xml")}})

	stats, err := p.PollOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, 2, stats.Published)
	require.Equal(t, map[string]int{ReasonPublish: 1}, stats.Failed)

	e.pub.mu.Lock()
	failing = false
	e.pub.mu.Unlock()
	stats, err = p.PollOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, Stats{FeedsPolled: 1, ItemsSeen: 3, New: 1, SkippedSeen: 2, Published: 1}, stats)
}

func TestPollOnceCanceled(t *testing.T) {
	e := newEnv(t)
	p := e.poller(t, PollerConfig{Feeds: []string{e.site.feed("harbour.xml")}})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	stats, err := p.PollOnce(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.Zero(t, stats.Published)
	require.Empty(t, e.pub.published())
}

func TestRun(t *testing.T) {
	e := newEnv(t)
	e.site.flakyFailures.Store(2)
	p := e.poller(t, PollerConfig{Feeds: []string{e.site.feed("trouble.xml")}, Interval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	// ferry.html at once; flaky.html after two failed polls.
	require.Eventually(t, func() bool { return len(e.pub.published()) >= 2 }, 10*time.Second, 10*time.Millisecond,
		"published %v", e.pub.canonicalURLs(e.site.URL))
	cancel()
	require.NoError(t, <-done)
	require.Equal(t, []string{"SITE/articles/ferry.html", "SITE/articles/flaky.html"}, e.pub.canonicalURLs(e.site.URL))
	require.GreaterOrEqual(t, e.site.hits("/feeds/trouble.xml"), 3)
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     PollerConfig
		wantErr []string
	}{
		{"good", PollerConfig{Feeds: []string{"https://example.com/feed.xml"}, Interval: time.Minute, Concurrency: 2}, nil},
		{"defaults are fine", PollerConfig{Feeds: []string{"https://example.com/feed.xml"}}, nil},
		{"everything wrong", PollerConfig{Feeds: []string{"ftp://example.com/feed", "/relative"}, Interval: -1, Concurrency: -3},
			[]string{`"ftp://example.com/feed"`, `"/relative"`, "interval -1ns is negative", "concurrency -3 is negative"}},
		{"no feeds", PollerConfig{}, []string{"no feeds"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == nil {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, want := range tt.wantErr {
				require.ErrorContains(t, err, want)
			}
		})
	}
}
