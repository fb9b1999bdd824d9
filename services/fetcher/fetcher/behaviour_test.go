package fetcher

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/fetcher/page"
	"github.com/newsflow/newsflow/services/fetcher/robots"
	"github.com/newsflow/newsflow/services/fetcher/seen"
	"github.com/newsflow/newsflow/stage/natstest"
)

// wildSite misbehaves in every way the fetcher must survive.
func wildSite(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var updated atomic.Int32 // bumps the <updated> of /feeds/updating.xml
	mux := http.NewServeMux()
	rss := func(w http.ResponseWriter, items ...string) {
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>/</link>%s</channel></rss>`, strings.Join(items, ""))
	}
	item := func(link, date string) string {
		return fmt.Sprintf(`<item><title>x</title><link>%s</link><pubDate>%s</pubDate></item>`, link, date)
	}
	mux.HandleFunc("/feeds/limited.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "7200")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	mux.HandleFunc("/feeds/broken.xml", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	})
	mux.HandleFunc("/feeds/loop.xml", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/feeds/loop.xml", http.StatusFound)
	})
	mux.HandleFunc("/feeds/slow.xml", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/feeds/cached.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=7200")
		rss(w)
	})
	mux.HandleFunc("/home.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><head><link rel="alternate" type="application/atom+xml" href="/feeds/hidden.xml"></head><body>home</body></html>`)
	})
	mux.HandleFunc("/feeds/hidden.xml", func(w http.ResponseWriter, r *http.Request) {
		rss(w, item("/articles/hidden.html", "Mon, 02 Jun 2025 08:00:00 GMT"))
	})
	mux.HandleFunc("/sitemap-index.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, `<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>/news-sitemap.xml</loc></sitemap></sitemapindex>`)
	})
	mux.HandleFunc("/news-sitemap.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml")
		fmt.Fprint(w, `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"><url><loc>/articles/from-sitemap.html</loc><news:news><news:title>S</news:title><news:publication_date>2025-06-02</news:publication_date></news:news></url></urlset>`)
	})
	mux.HandleFunc("/feeds/robots.xml", func(w http.ResponseWriter, r *http.Request) {
		rss(w, item("/private/secret.html", ""), item("/articles/open.html", ""))
	})
	mux.HandleFunc("/robots.txt", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "User-agent: *\nDisallow: /private/\n")
	})
	mux.HandleFunc("/feeds/updating.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/atom+xml")
		fmt.Fprintf(w, `<feed xmlns="http://www.w3.org/2005/Atom"><title>u</title><entry><title>e</title><link href="/articles/living.html"/><id>e1</id><updated>2025-06-02T0%d:00:00Z</updated></entry></feed>`, updated.Load())
	})
	mux.HandleFunc("/articles/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<html><body><p>%s v%d</p></body></html>", r.PathValue("name"), updated.Load())
	})
	mux.HandleFunc("/private/{name}", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("robots.txt denies %s, yet it was fetched", r.URL.Path)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, &updated
}

func TestPollFeedFailuresAreScheduled(t *testing.T) {
	srv, _ := wildSite(t)
	e := newEnv(t)
	states := NewMemoryFeedStates()
	metrics := mustMetrics(t, nil)
	set, err := seen.Open(t.Context(), natstest.JetStream(t, e.nats), "seen", time.Hour, 1)
	require.NoError(t, err)
	cc := testClientConfig()
	cc.ResponseHeaderTimeout = 200 * time.Millisecond
	feeds := map[string]string{
		"limited": srv.URL + "/feeds/limited.xml", "broken": srv.URL + "/feeds/broken.xml",
		"loop": srv.URL + "/feeds/loop.xml", "slow": srv.URL + "/feeds/slow.xml",
		"cached": srv.URL + "/feeds/cached.xml",
	}
	var urls []string
	for _, u := range feeds {
		urls = append(urls, u)
	}
	p := NewPoller(PollerConfig{Feeds: urls, FeedStates: states, Metrics: metrics,
		Schedule: Schedule{Rand: func() float64 { return 0.5 }}}, page.NewClient(cc), set, e.pub, nil)
	start := time.Now()
	for range 2 {
		_, err = p.PollOnce(t.Context())
		require.NoError(t, err)
	}
	state := func(name string) FeedState {
		st, err := states.Get(t.Context(), feeds[name])
		require.NoError(t, err)
		return st
	}
	// 429 with Retry-After: two hours, more than the backoff would wait.
	require.Equal(t, page.ClassHTTPStatus, state("limited").LastErrorClass)
	require.WithinDuration(t, start.Add(2*time.Hour), state("limited").NextPoll, time.Minute)
	// 500s: a streak, backing off (15m, then 30m).
	require.Equal(t, 2, state("broken").ErrorStreak)
	require.WithinDuration(t, time.Now().Add(30*time.Minute), state("broken").NextPoll, time.Minute)
	require.Equal(t, page.ClassPolicy, state("loop").LastErrorClass)
	require.Equal(t, page.ClassTimeout, state("slow").LastErrorClass)
	// Cache-Control: max-age=7200 raises the interval.
	require.Zero(t, state("cached").ErrorStreak)
	require.WithinDuration(t, time.Now().Add(2*time.Hour), state("cached").NextPoll, time.Minute)

	require.Equal(t, 2.0, testutil.ToFloat64(metrics.errors.WithLabelValues(kindFeed, page.ClassTimeout)))
	require.Equal(t, 2.0, testutil.ToFloat64(metrics.errors.WithLabelValues(kindFeed, page.ClassPolicy)))
	require.Equal(t, 4.0, testutil.ToFloat64(metrics.errors.WithLabelValues(kindFeed, page.ClassHTTPStatus)))
	host := strings.TrimPrefix(srv.URL, "http://")
	host = host[:strings.LastIndex(host, ":")]
	require.Equal(t, 2.0, testutil.ToFloat64(metrics.feedErrors.WithLabelValues(host, page.ClassTimeout)))
}

func TestPollDiscoveryRobotsSitemapsUpdates(t *testing.T) {
	srv, updated := wildSite(t)
	e := newEnv(t)
	metrics := mustMetrics(t, nil)
	set, err := seen.Open(t.Context(), natstest.JetStream(t, e.nats), "seen", time.Hour, 1)
	require.NoError(t, err)
	client := page.NewClient(testClientConfig())
	states := NewMemoryFeedStates()
	p := NewPoller(PollerConfig{
		Feeds: []string{
			srv.URL + "/home.html", srv.URL + "/sitemap-index.xml",
			srv.URL + "/feeds/robots.xml", srv.URL + "/feeds/updating.xml",
		},
		FeedStates: states, Metrics: metrics, Robots: robots.New(client, "newsflow-fetcher", time.Hour),
	}, client, set, e.pub, nil)

	stats, err := p.PollOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, []string{
		"SITE/articles/from-sitemap.html", "SITE/articles/hidden.html",
		"SITE/articles/living.html", "SITE/articles/open.html",
	}, e.pub.canonicalURLs(srv.URL))
	require.Equal(t, map[string]int{ReasonRobots: 1}, stats.Failed)
	require.Equal(t, 1.0, testutil.ToFloat64(metrics.robotsDenied))
	home, err := states.Get(t.Context(), srv.URL+"/home.html")
	require.NoError(t, err)
	require.Equal(t, srv.URL+"/feeds/hidden.xml", home.Discovered)

	// The feed says living.html was updated: it is fetched again; the
	// others are not.
	updated.Store(5)
	stats, err = p.PollOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, 1, stats.Updated)
	require.Equal(t, 1, stats.Published)
	last := e.pub.published()[len(e.pub.published())-1]
	require.Contains(t, pageBody(t, last), "living.html v5")
}
