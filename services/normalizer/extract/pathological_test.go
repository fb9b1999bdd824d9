package extract

import (
	"strings"
	"testing"
)

// pathological returns hostile pages, by name: each must be extracted (or
// refused) in bounded time and memory. reps scales the pages made of
// repeated fragments (the benchmark uses 20000; tests fewer, to stay quick
// under -race); the nesting depth and the sizes around the input cap stay.
func pathological(reps int) map[string][]byte {
	para := "<p>The council met on Tuesday and agreed the budget after a long debate about the harbour.</p>"
	return map[string][]byte{
		"10000 nested divs":       []byte("<html><body>" + strings.Repeat("<div>", 10000) + para + strings.Repeat("</div>", 10000) + "</body></html>"),
		"500 nested sidebar divs": []byte("<html><body>" + strings.Repeat(`<div class="sidebar"><p>x</p>`, 500) + para + strings.Repeat("</div>", 500) + "</body></html>"),
		"50 MB single line":       []byte("<html><body><p>" + strings.Repeat("word ", 10<<20) + "</p></body></html>"),
		"100000 paragraphs":       []byte("<html><body><article>" + strings.Repeat(para, 100000) + "</article></body></html>"),
		"broken tags":             []byte(strings.Repeat("<p <div class=\"a <b></i><table><td><tr>", reps) + para),
		"unclosed tables":         []byte(strings.Repeat("<table><tr><td>", 3000) + para),
		"wrong declared charset":  []byte(`<html><head><meta charset="windows-1251"></head><body>` + strings.Repeat("<p>Grüße aus Köln, Привет из Москвы — “quotes” \xff\xfe bad bytes.</p>", reps/10) + "</body></html>"),
	}
}

func BenchmarkPathological(b *testing.B) {
	e, err := New(WithMinChars(0))
	if err != nil {
		b.Fatal(err)
	}
	for name, page := range pathological(20000) {
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = e.Extract(page, "text/html", "https://news.example/a")
			}
		})
	}
}
