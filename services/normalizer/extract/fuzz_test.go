package extract

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzExtract(f *testing.F) {
	for _, name := range []string{"harbour.html", "stadtrat.html", "wrapped.txt", "perline.txt"} {
		f.Add(readFixture(f, name), "", "https://news.example/a")
	}
	f.Add([]byte("<table><tr><td>a<td><p>b</table><pre>x\ny</pre><br><time>t</time>"), "text/html", "")
	f.Add([]byte(`<script type="application/ld+json">{"@graph":[{"@graph":[{"@type":"NewsArticle","author":{"name":1}}]}]}</script>`), "text/html", "::bad url")
	f.Add([]byte("FACT CHECK: x\n\n-----\nRead full bio →\n | AFP"), "text/plain", "")
	f.Add(deepPage("<div><a rel=author>", 300), "text/html", "https://news.example/a") // too deep for html.Parse
	e, err := New(WithMinChars(0))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, contentType, pageURL string) {
		if len(body) > 1<<16 {
			return // keep each run short; size limits are the fetcher's job
		}
		d, err := e.Extract(body, contentType, pageURL)
		if err != nil {
			if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrTimeout) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if d.Text == "" || strings.Contains(d.Text, "\n\n") || strings.HasSuffix(d.Text, "\n") {
			t.Fatalf("text breaks the one-block-per-line form: %q", d.Text)
		}
		if utf8.Valid(body) && !utf8.ValidString(d.Text) {
			t.Fatalf("valid input gave invalid UTF-8 text")
		}
		if d.BytesRemoved != int64(len(body)-len(d.Text)) {
			t.Fatalf("BytesRemoved %d, want %d", d.BytesRemoved, len(body)-len(d.Text))
		}
	})
}
