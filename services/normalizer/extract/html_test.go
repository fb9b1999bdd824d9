package extract

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// deepPage is a news page whose article sits inside depth unclosed copies of
// open, beyond what html.Parse accepts (512 open elements).
func deepPage(open string, depth int) []byte {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html lang="en-GB"><head><title>Ferry timetable changes | Harbour Post</title>
<meta property="og:title" content="Ferry timetable changes from June">
<meta property="og:site_name" content="Harbour Post">
<meta name="author" content="Ada Byrne">
<meta property="article:published_time" content="2025-05-20T07:00:00Z">
<link rel="canonical" href="/ferries/timetable">
<script type="application/ld+json">{"@type":"NewsArticle","image":"https://harbour.example/ferry.jpg"}</script>
<style>p { color: black }</style></head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<header><p>The Harbour Post, your local paper</p></header>`)
	b.WriteString(strings.Repeat(open, depth))
	b.WriteString(string(deepArticle))
	b.WriteString(`<aside><p>Most read: Storm hits the coast</p></aside>
<script>document.write("<p>tracking</p>")</script>
<footer><p>Contact us at the harbour office.</p></footer></body></html>`)
	return []byte(b.String())
}

var deepArticle = []byte(`<article><h1>Ferry timetable changes from June</h1>
<p>The island ferry will run every forty minutes from the first of June, the operator said on Tuesday, after a year of complaints about crowded boats.</p>
<p>Extra sailings are planned for weekends in the summer<br>and for the two market days.</p>
<h2>What changes</h2>
<ul><li>First boat at 6:10</li><li>Last boat at 23:40</li></ul>
<p>Season tickets bought before June remain valid.</p></article>`)

// TestExtractDeeplyNested checks that a page too deeply nested for
// html.Parse still gives its article text and metadata, through the
// tokenizer fallback.
func TestExtractDeeplyNested(t *testing.T) {
	want := string(readFixture(t, "deep.want.txt"))
	tests := []struct {
		name, open string
		depth      int
	}{
		{"600 divs", "<div>", 600},
		{"2000 divs with classes", `<div class="wrap">`, 2000},
		{"600 spans and divs", "<span><div>", 600},
		{"600 unclosed paragraphs", "<p>", 600}, // p closes p: html.Parse copes
	}
	e := newExtractor(t, WithMinChars(0))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := e.Extract(deepPage(tt.open, tt.depth), "text/html", "https://harbour.example/ferries/timetable?ref=rss")
			require.NoError(t, err)
			require.Equal(t, want, d.Text)
			require.Equal(t, "Ferry timetable changes from June", d.Title)
			require.Equal(t, "Ada Byrne", d.Byline)
			require.Equal(t, "Harbour Post", d.SiteName)
			require.Equal(t, "en", d.Language)
			require.Equal(t, "https://harbour.example/ferries/timetable", d.CanonicalURL)
			require.Equal(t, "https://harbour.example/ferry.jpg", d.LeadImageURL)
			require.True(t, d.Published.Equal(time.Date(2025, 5, 20, 7, 0, 0, 0, time.UTC)), "published %v", d.Published)
		})
	}
}

// TestExtractFlat runs the fallback pass directly on markup html.Parse
// accepts, to pin what it keeps and skips.
func TestExtractFlat(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
	}{
		{"blocks only", "<div>loose text<p>One.</p><h3>Two</h3><li>Three</li></div>", []string{"One.", "Two", "Three"}},
		{"skips furniture", "<nav><p>Menu</p></nav><p>Kept.</p><aside><p>Ad</p></aside><footer><p>Foot</p></footer><script>var p = '<p>x</p>'</script>", []string{"Kept."}},
		{"br splits", "<p>a<br>b<br/>c</p>", []string{"a", "b", "c"}},
		{"nested blocks", "<ul><li><p>Item para.</p></li></ul>", []string{"Item para."}},
		{"head without end tag", "<html><head><title>T</title><body><p>Body.</p>", []string{"Body."}},
		{"unclosed self-closing skip", "<p>Before.</p><svg/><p>After.</p>", []string{"Before.", "After."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, lines := extractFlat([]byte(tt.in), nil, newBudget(time.Time{}))
			require.Equal(t, tt.want, lines)
		})
	}
}
