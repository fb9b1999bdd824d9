package feed

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// One fixture per format, each with a flaw seen in the wild.
func TestParseFormats(t *testing.T) {
	const feedURL = "https://gazette.example/feeds/x"
	date := func(s string) time.Time {
		d, err := time.Parse(time.RFC3339, s)
		require.NoError(t, err)
		return d.UTC()
	}
	tests := []struct {
		file     string
		title    string
		ttl      time.Duration
		skipped  int
		items    []Item
		sitemaps []string
	}{
		{file: "rss091.xml", title: "Harbour Gazette (0.91)", ttl: 45 * time.Minute, skipped: 1, // an item without a link
			items: []Item{{Title: "Ferry timetable changes", Link: "https://gazette.example/news/ferry-timetable?utm_source=rss"}}},
		{file: "rss092.xml", title: "Harbour Gazette (0.92)", // an item without a title
			items: []Item{{Link: "https://gazette.example/news/quay-repairs"}}},
		{file: "rdf.xml", title: "Harbour Gazette (RSS 1.0)", ttl: 30 * time.Minute, // sy: hourly, twice
			items: []Item{
				{Title: "Tide reaches record height", Link: "https://gazette.example/news/tide-record",
					Published: date("2025-06-02T05:30:00Z"), Updated: date("2025-06-02T05:30:00Z")},
				{Title: "Lighthouse keeper retires", Link: "https://gazette.example/news/lighthouse#comments"}, // bad date: zero
			}},
		{file: "atom03.xml", title: "Harbour Gazette (Atom 0.3)",
			items: []Item{{Title: "Storm warning for the coast", Link: "https://gazette.example/news/storm-warning",
				GUID: "tag:gazette.example,2025:storm", Published: date("2025-06-02T06:00:00Z"), Updated: date("2025-06-02T07:00:00Z")}}},
		{file: "feed.json", title: "Harbour Gazette (JSON Feed 1.1)", skipped: 1,
			items: []Item{
				{Title: "Market day returns", Link: "https://gazette.example/news/market-day", GUID: "1",
					Published: date("2025-06-02T08:00:00Z"), Updated: date("2025-06-02T09:00:00Z")},
				{Title: "Relative & escaped", Link: "https://gazette.example/news/relative-json", GUID: "2"},
				{Title: "Only an external url", Link: "https://other.example/story", GUID: "3"},
			}},
		{file: "feed10.json", title: "Harbour Gazette (JSON Feed 1.0)",
			items: []Item{{Title: "JSON 1.0 item whose id is its url", Link: "https://gazette.example/news/old-json",
				GUID: "https://gazette.example/news/old-json", Published: date("2025-06-01T09:00:00Z")}}},
		{file: "namespaces.xml", title: "Namespaced",
			items: []Item{{Title: "Quay & harbour news", Link: "https://gazette.example/news/atom-link-only",
				GUID: "harbour-1", Published: date("2025-06-02T08:00:00Z"), Updated: date("2025-06-02T08:00:00Z")}}},
		{file: "news-sitemap.xml", skipped: 1, // a javascript: URL
			items: []Item{
				{Title: "Council votes on tram", Link: "https://gazette.example/news/council-vote", Published: date("2025-06-02T08:15:00Z")},
				{Link: "https://gazette.example/news/plain-sitemap-entry", Updated: date("2025-06-01T00:00:00Z")},
			}},
		{file: "sitemap-index.xml",
			sitemaps: []string{"https://gazette.example/sitemaps/news-1.xml", "https://gazette.example/sitemaps/news-2.xml"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := Parse(readFixture(t, tt.file), feedURL)
			require.NoError(t, err)
			require.Equal(t, tt.title, f.Title)
			require.Equal(t, tt.ttl, f.TTL)
			require.Equal(t, tt.skipped, f.Skipped)
			require.Equal(t, tt.items, f.Items)
			require.Equal(t, tt.sitemaps, f.Sitemaps)
		})
	}
}

func TestDiscover(t *testing.T) {
	got := Discover(readFixture(t, "discover.html"), "https://gazette.example/page")
	// <base> applies; the stylesheet, the hreflang alternate, the repeat and
	// the link inside <body> are not feeds of the page.
	require.Equal(t, []string{
		"https://gazette.example/feed.xml",
		"https://gazette.example/atom.xml",
		"https://gazette.example/feed.json",
	}, got)
	require.Empty(t, Discover([]byte("<html><head></head><body>nothing</body></html>"), "https://gazette.example/"))
}

func FuzzDiscover(f *testing.F) {
	f.Add([]byte(`<link rel="alternate" type="application/rss+xml" href="/f">`))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, link := range Discover(body, "https://gazette.example/p") {
			require.Regexp(t, `^https?://`, link)
		}
	})
}
