package samplesite

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// shingles returns the three-word shingles of an article's text, lowercased.
func shingles(a Article) map[string]bool {
	words := strings.Fields(strings.ToLower(strings.Join(a.Paragraphs, " ")))
	out := map[string]bool{}
	for i := 0; i+3 <= len(words); i++ {
		out[strings.Join(words[i:i+3], " ")] = true
	}
	return out
}

// containment is the share of a's shingles found in b.
func containment(a, b map[string]bool) float64 {
	n := 0
	for s := range a {
		if b[s] {
			n++
		}
	}
	return float64(n) / float64(len(a))
}

// TestVariantsAreOtherArticles: a variant is the same page with another
// text: as long, sharing too few shingles with its article or another
// variant to be taken for a copy; seed 0 is the article as the site serves
// it, and a seed always gives the same page.
func TestVariantsAreOtherArticles(t *testing.T) {
	v := NewVariants()
	require.Equal(t, len(Articles()), v.Len())
	for i := range v.Len() {
		orig := v.article(i, 0)
		a, b := v.article(i, 11), v.article(i, 12)
		require.Equal(t, len(orig.Paragraphs), len(a.Paragraphs))
		require.NotEqual(t, orig.Title, a.Title)
		so, sa, sb := shingles(orig), shingles(a), shingles(b)
		require.InDelta(t, len(so), len(sa), float64(len(so))/10, "article %d: as long", i)
		require.Less(t, containment(sa, so), 0.25, "article %d: variant in article", i)
		require.Less(t, containment(so, sa), 0.25, "article %d: article in variant", i)
		require.Less(t, containment(sa, sb), 0.1, "article %d: variant in variant", i)
		require.Greater(t, containment(sa, so), 0.0, "article %d: half its words stay", i)
	}
	const base = "http://sample.test"
	a := Articles()[3]
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, base+a.Path(), nil))
	require.Equal(t, http.StatusOK, rec.Code)
	require.Equal(t, rec.Body.String(), string(v.Page(base, 3, 0)))
	require.Equal(t, string(v.Page(base, 3, 7)), string(v.Page(base, 3, 7)))
	require.NotEqual(t, string(v.Page(base, 3, 7)), string(v.Page(base, 3, 8)))
	require.Contains(t, string(v.Page(base, 3, 7)), v.article(3, 7).Paragraphs[0])
}

// BenchmarkVariantPage is what a farm pays to serve one page.
func BenchmarkVariantPage(b *testing.B) {
	v := NewVariants()
	for i := range b.N {
		v.Page("http://farm", i%v.Len(), uint64(i)+1)
	}
}
