package fetcher

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/fetcher/feed"
	"github.com/newsflow/newsflow/services/fetcher/page"
)

func TestSourceOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://www.example.com/a", "example.com"},
		{"https://news.example.com:8443/a", "news.example.com"},
		{"https://wwwexample.com/a", "wwwexample.com"},
		{"http://[::1]:8080/a", "::1"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			require.Equal(t, tt.want, sourceOf(tt.in))
		})
	}
}

func TestNewArticleFeedDates(t *testing.T) {
	published := time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)
	updated := time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		item feed.Item
		want time.Time
	}{
		{"published wins", feed.Item{Published: published, Updated: updated}, published},
		{"updated stands in", feed.Item{Updated: updated}, updated},
		{"none", feed.Item{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newArticle(origin{canonical: "https://example.com/a", item: tt.item}, &page.Response{Status: 200}, time.Now())
			if tt.want.IsZero() {
				require.Nil(t, a.Fetch.FeedPublishedAt)
				return
			}
			require.Equal(t, tt.want, a.Fetch.FeedPublishedAt.AsTime())
		})
	}
}

func BenchmarkNewArticle(b *testing.B) {
	resp := &page.Response{URL: "https://example.com/a", Status: 200, ContentType: "text/html", Charset: "utf-8",
		Body: []byte(strings.Repeat("<p>news</p>", 10000)), FetchedAt: time.Now()}
	o := origin{canonical: "https://example.com/a", feed: "https://example.com/rss", source: "example.com", item: feed.Item{Title: "A"}}
	b.SetBytes(int64(len(resp.Body)))
	for b.Loop() {
		newArticle(o, resp, time.Now())
	}
}
