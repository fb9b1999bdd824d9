// Package samplesite serves the Newsflow Gazette, a fictional local news site
// with an embedded corpus, so that the whole pipeline can run without
// internet access. The pages wrap each article in realistic, slightly varying
// boilerplate; Articles and BoilerplateLines expose the ground truth that an
// extractor's output can be compared with.
package samplesite

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

//go:embed corpus
var corpusFS embed.FS

// Article is one story of the corpus, exactly as its page presents it.
type Article struct {
	Slug      string
	Section   string // section slug, such as "politics"; see Sections
	Title     string
	Author    string
	Published time.Time
	Language  string // BCP 47 primary language subtag: "en", "de", "fr", "es"
	// Paragraphs holds the body in order; subheadings are entries of their own
	// (see IsSubheading).
	Paragraphs []string

	caption     string
	subheadings []int // indexes into Paragraphs, ascending
}

// Path is the article's URL path on the site.
func (a Article) Path() string {
	return "/news/" + a.Section + "/" + a.Slug + ".html"
}

// IsSubheading reports whether Paragraphs[i] is a subheading rather than
// running text.
func (a Article) IsSubheading(i int) bool {
	_, found := slices.BinarySearch(a.subheadings, i)
	return found
}

// Section is one of the site's sections; the slugs are the values of
// Article.Section. Each maps to one IPTC Media Topics top-level subject, the
// topic a tagger is expected to give its stories.
type Section struct {
	Slug  string
	Label string // as shown in the navigation menu
	IPTC  string // IPTC Media Topic qcode, such as "medtop:11000000"
	Topic string // the IPTC topic's English name
}

// sections is ordered as the navigation menu shows it.
var sections = []Section{
	{"politics", "Politics", "medtop:11000000", "politics and government"},
	{"business", "Business", "medtop:04000000", "economy, business and finance"},
	{"labour", "Work", "medtop:09000000", "labour"},
	{"crime", "Crime & Courts", "medtop:02000000", "crime, law and justice"},
	{"health", "Health", "medtop:07000000", "health"},
	{"education", "Education", "medtop:05000000", "education"},
	{"science", "Science & Tech", "medtop:13000000", "science and technology"},
	{"environment", "Environment", "medtop:06000000", "environment"},
	{"weather", "Weather", "medtop:17000000", "weather"},
	{"culture", "Culture", "medtop:01000000", "arts, culture, entertainment and media"},
	{"sport", "Sport", "medtop:15000000", "sport"},
	{"society", "Society", "medtop:14000000", "society"},
}

// Sections lists the site's sections in menu order.
func Sections() []Section {
	return slices.Clone(sections)
}

func sectionLabel(slug string) (string, bool) {
	for _, s := range sections {
		if s.Slug == slug {
			return s.Label, true
		}
	}
	return "", false
}

var languages = []string{"en", "de", "fr", "es"}

// corpus is the parsed embedded corpus; it is never modified after loading.
type corpus struct {
	articles []Article         // newest first
	byPath   map[string]int    // Article.Path → index in articles
	bios     map[string]string // author name → one-sentence bio
}

// loadCorpus parses the embedded corpus once; callers must not modify the
// result.
var loadCorpus = sync.OnceValues(func() (*corpus, error) {
	return parseCorpus(corpusFS)
})

func mustCorpus() *corpus {
	c, err := loadCorpus()
	if err != nil {
		// The corpus is compiled into the binary and checked by the tests, so
		// this can only be a broken build.
		panic(fmt.Sprintf("samplesite: embedded corpus: %v", err))
	}
	return c
}

// Articles returns the whole corpus, newest first. The result is a copy the
// caller may modify.
func Articles() []Article {
	c := mustCorpus()
	out := make([]Article, len(c.articles))
	for i, a := range c.articles {
		a.Paragraphs = slices.Clone(a.Paragraphs)
		a.subheadings = slices.Clone(a.subheadings)
		out[i] = a
	}
	return out
}

func parseCorpus(fsys fs.FS) (*corpus, error) {
	authorsFile, err := fs.ReadFile(fsys, "corpus/authors.txt")
	if err != nil {
		return nil, fmt.Errorf("read authors: %w", err)
	}
	bios, err := parseAuthors(authorsFile)
	if err != nil {
		return nil, fmt.Errorf("parse authors: %w", err)
	}
	names, err := fs.Glob(fsys, "corpus/articles/*.txt")
	if err != nil {
		return nil, fmt.Errorf("list articles: %w", err)
	}
	c := &corpus{byPath: make(map[string]int), bios: bios}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("read article: %w", err)
		}
		a, err := parseArticle(data)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
		}
		if want := strings.TrimSuffix(path.Base(name), ".txt"); a.Slug != want {
			return nil, fmt.Errorf("parse %s: slug %q does not match the file name", name, a.Slug)
		}
		if _, ok := bios[a.Author]; !ok {
			return nil, fmt.Errorf("parse %s: author %q has no entry in authors.txt", name, a.Author)
		}
		c.articles = append(c.articles, a)
	}
	if len(c.articles) == 0 {
		return nil, errors.New("no articles")
	}
	slices.SortStableFunc(c.articles, func(a, b Article) int {
		if n := b.Published.Compare(a.Published); n != 0 {
			return n
		}
		return strings.Compare(a.Slug, b.Slug)
	})
	for i, a := range c.articles {
		if _, dup := c.byPath[a.Path()]; dup {
			return nil, fmt.Errorf("duplicate article %s", a.Path())
		}
		c.byPath[a.Path()] = i
	}
	return c, nil
}

// parseAuthors reads "Name: one-sentence bio" lines; blank lines and lines
// starting with # are ignored.
func parseAuthors(data []byte) (map[string]string, error) {
	bios := make(map[string]string)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, bio, ok := strings.Cut(line, ":")
		name, bio = strings.TrimSpace(name), strings.TrimSpace(bio)
		if !ok || name == "" || bio == "" {
			return nil, fmt.Errorf("line %d: want \"Name: bio\"", n)
		}
		if _, dup := bios[name]; dup {
			return nil, fmt.Errorf("line %d: duplicate author %q", n, name)
		}
		bios[name] = bio
	}
	return bios, sc.Err()
}

// parseArticle reads one corpus file: a header block of "key: value" lines,
// a blank line, then paragraphs separated by blank lines. A paragraph may be
// wrapped over several lines; one starting with "## " is a subheading.
func parseArticle(data []byte) (Article, error) {
	var a Article
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	header, body, _ := strings.Cut(text, "\n\n")
	seen := make(map[string]bool)
	for line := range strings.SplitSeq(header, "\n") {
		key, value, ok := strings.Cut(line, ":")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || value == "" {
			return Article{}, fmt.Errorf("header line %q: want \"key: value\"", line)
		}
		if seen[key] {
			return Article{}, fmt.Errorf("header %q given twice", key)
		}
		seen[key] = true
		switch key {
		case "title":
			a.Title = value
		case "author":
			a.Author = value
		case "section":
			if _, ok := sectionLabel(value); !ok {
				return Article{}, fmt.Errorf("unknown section %q", value)
			}
			a.Section = value
		case "slug":
			if !validSlug(value) {
				return Article{}, fmt.Errorf("slug %q: want lowercase letters, digits and hyphens", value)
			}
			a.Slug = value
		case "language":
			if !slices.Contains(languages, value) {
				return Article{}, fmt.Errorf("unsupported language %q", value)
			}
			a.Language = value
		case "published":
			t, err := time.Parse(time.RFC3339, value)
			if err != nil {
				return Article{}, fmt.Errorf("published: %w", err)
			}
			a.Published = t
		case "caption":
			a.caption = value
		default:
			return Article{}, fmt.Errorf("unknown header %q", key)
		}
	}
	for _, key := range []string{"title", "author", "published", "section", "slug", "language", "caption"} {
		if !seen[key] {
			return Article{}, fmt.Errorf("missing header %q", key)
		}
	}
	for block := range strings.SplitSeq(body, "\n\n") {
		para := strings.Join(strings.Fields(block), " ")
		if para == "" {
			continue
		}
		if heading, ok := strings.CutPrefix(para, "## "); ok {
			if len(a.Paragraphs) == 0 {
				return Article{}, errors.New("body starts with a subheading")
			}
			a.subheadings = append(a.subheadings, len(a.Paragraphs))
			para = heading
		}
		a.Paragraphs = append(a.Paragraphs, para)
	}
	if len(a.Paragraphs) == 0 {
		return Article{}, errors.New("empty body")
	}
	if a.IsSubheading(len(a.Paragraphs) - 1) {
		return Article{}, errors.New("body ends with a subheading")
	}
	return a, nil
}

func validSlug(s string) bool {
	if s == "" || strings.HasPrefix(s, "-") || strings.HasSuffix(s, "-") {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}
