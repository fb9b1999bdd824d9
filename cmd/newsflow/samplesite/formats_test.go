package samplesite

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/fetcher/feed"
)

// Every feed format the site serves lists every article, and the fetcher's
// parser reads each one; the index page links its feeds for discovery.
func TestFeedFormatsListEveryArticle(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	get := func(path string) []byte {
		resp, err := http.Get(srv.URL + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return b
	}
	var want []string
	for _, a := range Articles() {
		want = append(want, srv.URL+a.Path())
	}
	slices.Sort(want)
	for _, path := range []string{"/feed.xml", "/atom.xml", "/feed.json", "/news-sitemap.xml"} {
		t.Run(path, func(t *testing.T) {
			f, err := feed.Parse(get(path), srv.URL+path)
			require.NoError(t, err)
			var got []string
			for _, it := range f.Items {
				got = append(got, it.Link)
				require.NotEmpty(t, it.Title)
				require.False(t, it.Published.IsZero())
			}
			slices.Sort(got)
			require.Equal(t, want, got)
		})
	}
	require.Equal(t, []string{srv.URL + "/feed.xml", srv.URL + "/atom.xml"}, feed.Discover(get("/"), srv.URL+"/"))
	require.Contains(t, string(get("/robots.txt")), "Disallow: /private/")
}
