package extract

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// para repeats a sentence into a paragraph of about n characters.
func para(sentence string, n int) string {
	return strings.TrimSpace(strings.Repeat(sentence+" ", n/(len(sentence)+1)+1))
}

const chainNav = `<header><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav></header>`

// TestFallbackChain: each fallback serves the page its kind of markup needs,
// and says so in Method; an ordinary page is served by the primary method.
func TestFallbackChain(t *testing.T) {
	ferry := para("The island ferry will run every forty minutes from June, the operator said.", 600)
	market := para("Traders bring their stalls over from the mainland on the two market days.", 600)
	cases := []struct {
		name, page, method, want string
	}{
		{"primary", `<html><body>` + chainNav + `<article><h1>Ferry</h1><p>` + ferry + `</p><p>` + market + `</p></article></body></html>`,
			MethodPrimary, ferry},
		// Pruning removes every <figure>; the story sits in one, so the
		// pruned page has no text, and readability on the page as it came
		// finds it.
		{"unpruned", `<html><body>` + chainNav + `<main><figure><p>` + ferry + `</p><p>` + market + `</p></figure></main></body></html>`,
			MethodUnpruned, market},
		// The page's markup holds only a teaser in a hidden element; the
		// JSON-LD holds the story.
		{"json-ld", `<html><head><script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle","headline":"Ferry","articleBody":"` + ferry + `\n` + market + `"}</script></head><body>` + chainNav + `<div hidden><p>` + ferry + `</p></div><p>Subscribe.</p></body></html>`,
			MethodJSONLD, market},
	}
	ex := newExtractor(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc, err := ex.Extract([]byte(c.page), "text/html", "https://harbour.example/a")
			require.NoError(t, err)
			require.Equal(t, c.method, doc.Method)
			require.Contains(t, doc.Text, c.want)
			require.NotContains(t, doc.Text, "Home")
		})
	}
}

// TestNothingFoundIsEmpty: a page of navigation and a sign-up box has no
// article by any method, and is refused as ErrEmpty.
func TestNothingFoundIsEmpty(t *testing.T) {
	page := `<html><body>` + chainNav + `<div class="newsletter"><p>Sign up for our newsletter and get the best stories every morning.</p></div><footer>© Harbour Post</footer></body></html>`
	_, err := newExtractor(t).Extract([]byte(page), "text/html", "https://harbour.example/a")
	require.ErrorIs(t, err, ErrEmpty)
}

// TestWeakNamesKeepParagraphs: page builders wrap each part of a story in
// a container named "widget"; with enough paragraphs in it, it stays, and
// the primary method finds the whole story. A small widget still goes.
func TestWeakNamesKeepParagraphs(t *testing.T) {
	part1 := para("The council voted on Monday to rebuild the old harbour wall before winter.", 1000)
	part2 := para("Work starts in May and the ferry keeps running while the wall is rebuilt.", 1000)
	part3 := para("The harbour master said the old stones would be reused where they could.", 1000)
	page := `<html><body>` + chainNav + `<div class="post">` +
		`<div class="elementor-widget-container"><p>` + part1 + `</p></div>` +
		`<div class="elementor-widget-container"><p>` + part2 + `</p></div>` +
		`<div class="elementor-widget-container"><p>` + part3 + `</p></div>` +
		`<div class="sidebar-widget"><p>Our team writes about the harbour every week.</p></div></div></body></html>`
	doc, err := newExtractor(t).Extract([]byte(page), "text/html", "https://harbour.example/a")
	require.NoError(t, err)
	require.Equal(t, MethodPrimary, doc.Method)
	require.Equal(t, part1+"\n"+part2+"\n"+part3, doc.Text)
}

// TestStreamedPartsArePlaced: a streaming React page sends the story after
// the page, in a hidden element, with a placeholder where it belongs.
func TestStreamedPartsArePlaced(t *testing.T) {
	story := para("The lighthouse keeper retired on Friday after forty years on the rock.", 600)
	page := `<html><body>` + chainNav + `<main><h1>Keeper retires</h1><template id="B:0"></template><p>Loading…</p></main>` +
		`<footer>© Harbour Post</footer><div hidden id="S:0"><article><p>` + story + `</p></article></div></body></html>`
	doc, err := newExtractor(t).Extract([]byte(page), "text/html", "https://harbour.example/a")
	require.NoError(t, err)
	require.Equal(t, MethodPrimary, doc.Method)
	require.Contains(t, doc.Text, story)
}

func TestArticleElementAndDensest(t *testing.T) {
	long := para("Harbour news in many words.", 400)
	root, err := html.Parse(strings.NewReader(`<html><body><article id="teaser"><p>Short teaser of another story here.</p></article>` +
		`<div id="main" itemprop="articleBody"><p>` + long + `</p><p>` + long + `</p></div>` +
		`<div id="list"><div><p>` + long + `</p></div><div><p>Too short.</p></div></div></body></html>`))
	require.NoError(t, err)
	require.Equal(t, "main", attr(articleElement(root), "id"), "the article element with the most prose")
	require.Equal(t, "main", attr(densest(root), "id"), "two paragraphs in one block beat one in another")
	l := len(strings.ReplaceAll(long, " ", ""))
	require.Equal(t, 2*l, densestProse(root), "the prose of #main's own paragraphs")
}
