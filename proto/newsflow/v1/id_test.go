package newsflowv1

import (
	"testing"

	"github.com/newsflow/newsflow/proto/canon"
)

// TestArticleIDOneRule: every spelling of one page gives one id, whoever
// computes it; different pages never share one.
func TestArticleIDOneRule(t *testing.T) {
	pages := [][]string{
		{
			"https://www.example.com/news/a",
			"HTTPS://WWW.Example.COM/news/a",
			"https://www.example.com/news/a#comments",
			"https://www.example.com/news/a?utm_source=rss&utm_medium=feed",
			"https://www.example.com:443/news/a?fbclid=x1",
			"  https://www.example.com/news/a  ",
			"https://www.example.com./news/a",
		},
		{"https://example.com/news/a"}, // the site without www. is another host
		{"https://www.example.com/news/a/"},
		{"https://www.example.com/News/a"}, // the path keeps its case
		{"https://www.example.com/news/a?id=2&page=1", "https://www.example.com/news/a?page=1&id=2&utm_campaign=x"},
		{"https://www.example.com/news/a?id=3"},
		{"http://www.example.com/news/a", "http://www.example.com:80/news/a"},
		{"https://www.example.com:8443/news/a"},
	}
	seen := map[string]string{}
	for _, spellings := range pages {
		id := ArticleID(spellings[0])
		for _, s := range spellings {
			if got := ArticleID(s); got != id {
				t.Errorf("ArticleID(%q) = %s, want %s as for %q", s, got, id, spellings[0])
			}
			c, err := canon.URL(s)
			if err != nil {
				t.Fatalf("canon.URL(%q): %v", s, err)
			}
			if ArticleID(c) != id {
				t.Errorf("the canonical form %q has another id than %q", c, s)
			}
		}
		if other, dup := seen[id]; dup {
			t.Errorf("%q and %q share the id %s", spellings[0], other, id)
		}
		seen[id] = spellings[0]
	}
	if ArticleID("not a url") != ArticleID(" not a url ") || ArticleID("not a url") == ArticleID("not a url either") {
		t.Error("strings that are not URLs: trimmed, and still distinct")
	}
}
