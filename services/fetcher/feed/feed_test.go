package feed

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/charmap"
)

const feedURL = "https://gazette.example/feeds/main.xml"

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestParse(t *testing.T) {
	tests := []struct {
		fixture     string
		wantTitle   string
		wantItems   []Item
		wantSkipped int
	}{
		{
			fixture:   "rss2.xml",
			wantTitle: "Harbour Town Gazette",
			wantItems: []Item{
				{Title: "Ferry timetable changes from Monday", Link: "https://gazette.example/news/ferry-timetable", GUID: "gazette-1001", Published: date("2025-06-02T06:30:00Z")},
				// HTML in the title, escaped twice; root-relative link.
				{Title: "Council approves new sea wall & promenade", Link: "https://gazette.example/news/sea-wall?utm_source=rss", GUID: "gazette-1002", Published: date("2025-06-03T17:05:00Z")},
				// Markup in CDATA, a path-relative link and an unparseable date.
				{Title: "Fish market reopens after repairs", Link: "https://gazette.example/feeds/news/fish-market"},
				// No <link>: the permalink GUID stands in.
				{Title: "Lighthouse open day", Link: "https://gazette.example/events/lighthouse", GUID: "https://gazette.example/events/lighthouse", Published: date("2025-06-04T10:00:00Z")},
			},
			// No link with an opaque GUID; a javascript: link.
			wantSkipped: 2,
		},
		{
			fixture:   "atom.xml",
			wantTitle: "Tide & Time blog",
			wantItems: []Item{
				// Relative href resolved against xml:base, not the feed URL.
				{Title: "Spring tides explained", Link: "https://blog.example/posts/spring-tides.html", GUID: "tag:blog.example,2025:spring-tides", Published: date("2025-06-01T08:00:00Z"), Updated: date("2025-06-02T10:00:00Z")},
				// Without <published>, gofeed reports the update time.
				{Title: "Why the moon matters", Link: "https://blog.example/posts/moon.html#comments", GUID: "tag:blog.example,2025:moon", Published: date("2025-06-03T08:00:00Z"), Updated: date("2025-06-03T08:00:00Z")},
				// No link but a URL id; a nonsense date.
				{Title: "Updated date is nonsense", Link: "https://blog.example/posts/nonsense", GUID: "https://blog.example/posts/nonsense"},
			},
			wantSkipped: 1,
		},
		{
			fixture:   "latin1.xml",
			wantTitle: "Café des Arts",
			wantItems: []Item{{Title: "Crème brûlée night", Link: "https://cafe.example/creme"}},
		},
		{
			fixture:   "empty-channel.xml",
			wantTitle: "Quiet week",
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := Parse(readFixture(t, tt.fixture), feedURL)
			require.NoError(t, err)
			require.Equal(t, tt.wantTitle, got.Title)
			require.Equal(t, tt.wantItems, got.Items)
			require.Equal(t, tt.wantSkipped, got.Skipped)
		})
	}
}

// A feed that page.Client already decoded to UTF-8 still declares its
// original encoding; it must not be decoded a second time.
func TestParseDecodedBodyKeepsDeclaration(t *testing.T) {
	raw := readFixture(t, "latin1.xml")
	decoded, err := charmap.ISO8859_1.NewDecoder().Bytes(raw)
	require.NoError(t, err)
	require.Contains(t, string(decoded), `encoding="ISO-8859-1"`)

	got, err := Parse(decoded, feedURL)
	require.NoError(t, err)
	require.Equal(t, "Café des Arts", got.Title)
	require.Equal(t, "Crème brûlée night", got.Items[0].Title)
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		body    []byte
		feedURL string
		unknown bool
	}{
		{name: "truncated", body: readFixture(t, "truncated.xml"), feedURL: feedURL},
		{name: "html page", body: readFixture(t, "not-a-feed.html"), feedURL: feedURL, unknown: true},
		{name: "empty", body: nil, feedURL: feedURL, unknown: true},
		{name: "json", body: []byte(`{"items": []}`), feedURL: feedURL, unknown: true},
		{name: "bad feed url", body: readFixture(t, "rss2.xml"), feedURL: "http://[::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.body, tt.feedURL)
			require.Error(t, err)
			require.Equal(t, tt.unknown, errors.Is(err, ErrUnknownFormat))
		})
	}
}

func FuzzParse(f *testing.F) {
	entries, err := os.ReadDir("testdata")
	require.NoError(f, err)
	for _, e := range entries {
		if !e.IsDir() {
			f.Add(readFixture(f, e.Name()))
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := Parse(body, feedURL)
		if err != nil {
			return
		}
		for _, it := range got.Items {
			u, err := url.Parse(it.Link)
			require.NoError(t, err)
			require.Contains(t, []string{"http", "https"}, u.Scheme, "link %q", it.Link)
			require.NotEmpty(t, u.Host, "link %q", it.Link)
			require.Equal(t, strings.TrimSpace(it.Title), it.Title)
		}
	})
}

func BenchmarkParse(b *testing.B) {
	body := readFixture(b, "rss2.xml")
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := Parse(body, feedURL); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParseLinkEqualToGUID(t *testing.T) {
	body := `<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>
<item><title>a</title><link>/story/1</link><guid>/story/1</guid></item>
<item><title>b</title><guid isPermaLink="true">https://news.example/story/2</guid></item>
<item><title>c</title><guid isPermaLink="false">3</guid></item>
</channel></rss>`
	f, err := Parse([]byte(body), "https://news.example/feed.xml")
	require.NoError(t, err)
	var links []string
	for _, it := range f.Items {
		links = append(links, it.Link)
	}
	require.Equal(t, []string{"https://news.example/story/1", "https://news.example/story/2"}, links)
	require.Equal(t, 1, f.Skipped, "an item whose only candidate is an opaque GUID has no link")
}
