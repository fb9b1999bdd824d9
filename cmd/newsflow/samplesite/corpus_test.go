package samplesite

import (
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func words(a Article) int {
	n := 0
	for _, p := range a.Paragraphs {
		n += len(strings.Fields(p))
	}
	return n
}

func TestCorpusArticles(t *testing.T) {
	c, err := loadCorpus()
	if err != nil {
		t.Fatalf("load corpus: %v", err)
	}
	arts := Articles()
	if len(arts) != len(c.articles) {
		t.Fatalf("Articles() returned %d articles, corpus has %d", len(arts), len(c.articles))
	}
	for i, a := range arts {
		t.Run(a.Slug, func(t *testing.T) {
			for name, v := range map[string]string{"title": a.Title, "author": a.Author, "section": a.Section, "language": a.Language, "caption": a.caption} {
				if strings.TrimSpace(v) == "" {
					t.Errorf("%s is empty", name)
				}
			}
			if _, ok := c.bios[a.Author]; !ok {
				t.Errorf("author %q has no bio", a.Author)
			}
			if a.Published.Year() != 2026 {
				t.Errorf("published %v, want a date in 2026", a.Published)
			}
			if i > 0 && a.Published.After(arts[i-1].Published) {
				t.Errorf("not sorted newest first: %v after %v", a.Published, arts[i-1].Published)
			}
			if n := words(a); n < 250 || n > 500 {
				t.Errorf("%d words, want 250-500", n)
			}
			running, headings := 0, 0
			for j, p := range a.Paragraphs {
				if a.IsSubheading(j) {
					headings++
					if len(strings.Fields(p)) > 12 {
						t.Errorf("subheading %q is too long to be one", p)
					}
					continue
				}
				running++
				if strings.Contains(p, "##") {
					t.Errorf("paragraph %d contains markup: %q", j, p)
				}
			}
			if running < 5 || running > 10 {
				t.Errorf("%d paragraphs, want 5-10", running)
			}
			if headings > 2 {
				t.Errorf("%d subheadings, want at most 2", headings)
			}
		})
	}
}

func TestCorpusSpread(t *testing.T) {
	arts := Articles()
	perSection := make(map[string]int)
	perLanguage := make(map[string]int)
	days := make(map[string]bool)
	withHeadings, withoutHeadings := 0, 0
	for _, a := range arts {
		perSection[a.Section]++
		perLanguage[a.Language]++
		days[a.Published.Format(time.DateOnly)] = true
		if len(a.subheadings) > 0 {
			withHeadings++
		} else {
			withoutHeadings++
		}
	}
	t.Logf("sections %v, languages %v, %d days", perSection, perLanguage, len(days))
	if perLanguage["en"] < 30 {
		t.Errorf("%d English articles, want at least 30", perLanguage["en"])
	}
	if other := len(arts) - perLanguage["en"]; other < 2 {
		t.Errorf("%d articles in other languages, want at least 2", other)
	}
	if len(perSection) < 8 {
		t.Errorf("articles cover %d sections, want at least 8 IPTC areas", len(perSection))
	}
	for s, n := range perSection {
		if n > len(arts)/4 {
			t.Errorf("section %s has %d of %d articles; spread them out", s, n, len(arts))
		}
	}
	if len(days) < 3 {
		t.Errorf("articles published on %d days, want a spread over at least 3", len(days))
	}
	if withHeadings == 0 || withoutHeadings == 0 {
		t.Errorf("%d articles with subheadings, %d without; want some of each", withHeadings, withoutHeadings)
	}
}

func TestSections(t *testing.T) {
	seen := make(map[string]bool)
	for _, s := range Sections() {
		if !validSlug(s.Slug) || s.Label == "" || s.Topic == "" {
			t.Errorf("section %+v incomplete", s)
		}
		code, ok := strings.CutPrefix(s.IPTC, "medtop:")
		if !ok || len(code) != 8 || !strings.HasSuffix(code, "000000") {
			t.Errorf("section %s: %q is not a top-level IPTC Media Topic qcode", s.Slug, s.IPTC)
		}
		for _, k := range []string{s.Slug, s.Label, s.IPTC} {
			if seen[k] {
				t.Errorf("%q used by two sections", k)
			}
			seen[k] = true
		}
	}
}

func TestArticlesReturnsCopy(t *testing.T) {
	first := Articles()
	want := first[0].Paragraphs[0]
	first[0].Paragraphs[0] = "changed"
	first[0].Title = "changed"
	if got := Articles()[0]; got.Paragraphs[0] != want || got.Title == "changed" {
		t.Fatal("modifying the result of Articles changed the corpus")
	}
}

func TestStoriesFreeOfBoilerplate(t *testing.T) {
	// A story sentence that equals or contains page chrome would make
	// "no boilerplate survives" checks on extracted text meaningless.
	lines := BoilerplateLines()
	arts := Articles()
	for _, a := range arts {
		for _, p := range a.Paragraphs {
			for _, l := range lines {
				if p == l || (len(strings.Fields(l)) >= 4 && strings.Contains(p, l)) {
					t.Errorf("%s: paragraph %q contains boilerplate %q", a.Slug, p, l)
				}
			}
			for _, b := range arts {
				if p == b.Title {
					t.Errorf("%s: paragraph equals the headline of %s", a.Slug, b.Slug)
				}
			}
		}
	}
}

// wantError fails the test unless err matches want (a substring of the
// message, or "" for success) and reports whether the case goes on to check
// a result.
func wantError(t *testing.T, err error, want string) bool {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("error %v, want one containing %q", err, want)
	}
	return want == ""
}

const validArticle = `title: Harbour ferry returns
author: Tess Example
published: 2026-03-09T10:00:00+01:00
section: society
slug: harbour-ferry-returns
language: en
caption: The ferry at the quay.

First paragraph
wrapped over two lines.

## A subheading

Second paragraph.
`

func TestParseArticle(t *testing.T) {
	replace := func(old, new string) string { return strings.Replace(validArticle, old, new, 1) }
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "valid", in: validArticle},
		{name: "crlf", in: strings.ReplaceAll(validArticle, "\n", "\r\n")},
		{name: "missing title", in: replace("title: Harbour ferry returns\n", ""), wantErr: `missing header "title"`},
		{name: "missing caption", in: replace("caption: The ferry at the quay.\n", ""), wantErr: `missing header "caption"`},
		{name: "empty value", in: replace("Tess Example", ""), wantErr: "want \"key: value\""},
		{name: "duplicate header", in: replace("language: en\n", "language: en\nlanguage: fr\n"), wantErr: "given twice"},
		{name: "unknown header", in: replace("language: en\n", "language: en\nmood: sunny\n"), wantErr: `unknown header "mood"`},
		{name: "bad date", in: replace("2026-03-09T10:00:00+01:00", "9 March 2026"), wantErr: "published"},
		{name: "unknown section", in: replace("section: society", "section: gossip"), wantErr: "unknown section"},
		{name: "bad slug", in: replace("slug: harbour-ferry-returns", "slug: Harbour Ferry"), wantErr: "slug"},
		{name: "unsupported language", in: replace("language: en", "language: xx"), wantErr: "unsupported language"},
		{name: "no body", in: validArticle[:strings.Index(validArticle, "\n\n")], wantErr: "empty body"},
		{name: "leading subheading", in: replace("First paragraph", "## First paragraph"), wantErr: "starts with a subheading"},
		{name: "trailing subheading", in: validArticle + "\n## Dangling\n", wantErr: "ends with a subheading"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := parseArticle([]byte(tt.in))
			if !wantError(t, err, tt.wantErr) {
				return
			}
			wantParas := []string{"First paragraph wrapped over two lines.", "A subheading", "Second paragraph."}
			if !slices.Equal(a.Paragraphs, wantParas) {
				t.Errorf("paragraphs %q, want %q", a.Paragraphs, wantParas)
			}
			if a.IsSubheading(0) || !a.IsSubheading(1) || a.IsSubheading(2) {
				t.Errorf("subheadings %v, want only index 1", a.subheadings)
			}
			wantTime := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
			if a.Title != "Harbour ferry returns" || a.Author != "Tess Example" || a.Section != "society" ||
				a.Slug != "harbour-ferry-returns" || a.Language != "en" || !a.Published.Equal(wantTime) {
				t.Errorf("parsed %+v", a)
			}
			if got := a.Path(); got != "/news/society/harbour-ferry-returns.html" {
				t.Errorf("Path() = %q", got)
			}
		})
	}
}

func TestParseCorpus(t *testing.T) {
	authors := &fstest.MapFile{Data: []byte("# comment\nTess Example: Tess writes about ferries.\n")}
	tests := []struct {
		name    string
		fsys    fstest.MapFS
		wantErr string
	}{
		{name: "valid", fsys: fstest.MapFS{
			"corpus/authors.txt":                        authors,
			"corpus/articles/harbour-ferry-returns.txt": {Data: []byte(validArticle)},
		}},
		{name: "no authors file", fsys: fstest.MapFS{
			"corpus/articles/harbour-ferry-returns.txt": {Data: []byte(validArticle)},
		}, wantErr: "read authors"},
		{name: "bad authors line", fsys: fstest.MapFS{
			"corpus/authors.txt": {Data: []byte("Tess Example\n")},
		}, wantErr: "line 1"},
		{name: "duplicate author", fsys: fstest.MapFS{
			"corpus/authors.txt": {Data: []byte("A: one.\nA: two.\n")},
		}, wantErr: "duplicate author"},
		{name: "unknown author", fsys: fstest.MapFS{
			"corpus/authors.txt":                        {Data: []byte("Someone Else: bio.\n")},
			"corpus/articles/harbour-ferry-returns.txt": {Data: []byte(validArticle)},
		}, wantErr: "no entry in authors.txt"},
		{name: "slug differs from file name", fsys: fstest.MapFS{
			"corpus/authors.txt":        authors,
			"corpus/articles/ferry.txt": {Data: []byte(validArticle)},
		}, wantErr: "does not match the file name"},
		{name: "broken article", fsys: fstest.MapFS{
			"corpus/authors.txt":                        authors,
			"corpus/articles/harbour-ferry-returns.txt": {Data: []byte("title: only\n")},
		}, wantErr: "parse corpus/articles/harbour-ferry-returns.txt"},
		{name: "empty", fsys: fstest.MapFS{"corpus/authors.txt": authors}, wantErr: "no articles"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseCorpus(tt.fsys)
			if !wantError(t, err, tt.wantErr) {
				return
			}
			if len(c.articles) != 1 || c.bios["Tess Example"] != "Tess writes about ferries." {
				t.Fatalf("parsed %d articles, bios %v", len(c.articles), c.bios)
			}
			if _, ok := c.byPath["/news/society/harbour-ferry-returns.html"]; !ok {
				t.Fatalf("byPath %v lacks the article", c.byPath)
			}
		})
	}
}

func FuzzParseArticle(f *testing.F) {
	f.Add([]byte(validArticle))
	f.Add([]byte("title: x\n\n## y\n"))
	names, err := corpusFS.ReadDir("corpus/articles")
	if err != nil {
		f.Fatal(err)
	}
	for _, n := range names[:3] {
		data, err := corpusFS.ReadFile("corpus/articles/" + n.Name())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := parseArticle(data)
		if err != nil {
			return
		}
		if len(a.Paragraphs) == 0 || a.Title == "" || a.Slug == "" || a.IsSubheading(0) || a.IsSubheading(len(a.Paragraphs)-1) {
			t.Fatalf("accepted an invalid article: %+v", a)
		}
		for _, p := range a.Paragraphs {
			if p == "" || p != strings.Join(strings.Fields(p), " ") {
				t.Fatalf("paragraph %q is not whitespace-normalised", p)
			}
		}
	})
}
