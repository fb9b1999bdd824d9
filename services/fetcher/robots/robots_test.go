package robots

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/fetcher/page"
)

func TestCheck(t *testing.T) {
	var fetches atomic.Int32
	status := atomic.Int32{}
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "/robots.txt", r.URL.Path)
		fetches.Add(1)
		if code := int(status.Load()); code != http.StatusOK {
			w.WriteHeader(code)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("User-agent: *\nDisallow: /private/\n\nUser-agent: newsflow-fetcher\nDisallow: /no-bots/\nAllow: /no-bots/but-this\n"))
	}))
	defer srv.Close()
	client := page.NewClient(page.ClientConfig{HostRate: -1, Policy: page.NetPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})

	c := New(client, "newsflow-fetcher", time.Hour)
	require.NoError(t, c.Check(t.Context(), srv.URL+"/news/a.html"))
	require.NoError(t, c.Check(t.Context(), srv.URL+"/private/x.html"), "our own group replaces the * group")
	err := c.Check(t.Context(), srv.URL+"/no-bots/x.html")
	require.ErrorIs(t, err, ErrDenied)
	require.ErrorIs(t, err, page.ErrPermanent)
	require.NoError(t, c.Check(t.Context(), srv.URL+"/no-bots/but-this"))
	require.Equal(t, int32(1), fetches.Load(), "one fetch per site while cached")

	other := New(client, "otherbot", time.Hour)
	require.ErrorIs(t, other.Check(t.Context(), srv.URL+"/private/x.html"), ErrDenied)

	// No robots.txt: everything allowed.
	status.Store(http.StatusNotFound)
	missing := New(client, "newsflow-fetcher", time.Hour)
	require.NoError(t, missing.Check(t.Context(), srv.URL+"/no-bots/x.html"))

	// robots.txt failing: nothing allowed for now, and worth retrying.
	status.Store(http.StatusServiceUnavailable)
	down := New(client, "newsflow-fetcher", time.Hour)
	err = down.Check(t.Context(), srv.URL+"/news/a.html")
	require.ErrorIs(t, err, ErrUnavailable)
	require.ErrorIs(t, err, page.ErrTransient)
}

func TestCrawlDelayIsReported(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("User-agent: *\nCrawl-delay: 1\n\nUser-agent: newsflow-fetcher\nCrawl-delay: 7\nDisallow: /x/\n"))
	}))
	defer srv.Close()
	client := page.NewClient(page.ClientConfig{HostRate: -1, Policy: page.NetPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
	c := New(client, "newsflow-fetcher", time.Hour)
	got := map[string]time.Duration{}
	c.OnCrawlDelay = func(host string, d time.Duration) { got[host] = d }
	require.NoError(t, c.Check(t.Context(), srv.URL+"/a.html"))
	require.Equal(t, map[string]time.Duration{"127.0.0.1": 7 * time.Second}, got, "our group's delay, by host")
}
