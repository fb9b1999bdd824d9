package samplesite

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// htmlPage is what the tests read back from a rendered page.
type htmlPage struct {
	lang      string
	meta      map[string]string // property or name → content
	canonical string
	jsonLD    string
	chunks    []chunk // text of the body in document order
}

type chunk struct {
	text      string
	inArticle bool
	tag       string // innermost element
}

// parsePage reads the templates' output with encoding/xml in its lenient
// HTML mode, which is enough because the templates emit balanced markup;
// a parse error therefore also catches broken templates.
func parsePage(t testing.TB, body []byte) htmlPage {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = false
	d.AutoClose = xml.HTMLAutoClose
	d.Entity = xml.HTMLEntity
	p := htmlPage{meta: make(map[string]string)}
	var stack []string
	attr := func(e xml.StartElement, name string) string {
		for _, a := range e.Attr {
			if a.Name.Local == name {
				return a.Value
			}
		}
		return ""
	}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("parse page: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			stack = append(stack, tok.Name.Local)
			switch tok.Name.Local {
			case "html":
				p.lang = attr(tok, "lang")
			case "meta":
				if k := attr(tok, "property") + attr(tok, "name"); k != "" {
					p.meta[k] = attr(tok, "content")
				}
			case "link":
				if attr(tok, "rel") == "canonical" {
					p.canonical = attr(tok, "href")
				}
			}
		case xml.EndElement:
			// Pop to the matching start tag; AutoClose already paired void
			// elements.
			for len(stack) > 0 {
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				if top == tok.Name.Local {
					break
				}
			}
		case xml.CharData:
			text := strings.Join(strings.Fields(string(tok)), " ")
			if text == "" || len(stack) == 0 {
				continue
			}
			switch {
			case slices.Contains(stack, "script"):
				p.jsonLD += string(tok)
			case slices.Contains(stack, "head"):
			default:
				p.chunks = append(p.chunks, chunk{text: text, inArticle: slices.Contains(stack, "article"), tag: stack[len(stack)-1]})
			}
		}
	}
	return p
}

func newTestSite(t testing.TB) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(Handler())
	t.Cleanup(srv.Close)
	return srv
}

func get(t testing.TB, rawURL string, header http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("get %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read %s: %v", rawURL, err)
	}
	return resp, body
}

func articlesByPath() map[string]Article {
	m := make(map[string]Article)
	for _, a := range Articles() {
		m[a.Path()] = a
	}
	return m
}

// checkArticlePage fetches a feed link and compares the page with the corpus.
func checkArticlePage(t *testing.T, srv *httptest.Server, link string) {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Scheme+"://"+u.Host != srv.URL {
		t.Fatalf("link %q is not absolute to the server %s", link, srv.URL)
	}
	a, ok := articlesByPath()[u.Path]
	if !ok {
		t.Fatalf("link %q is not an article of the corpus", link)
	}
	resp, body := get(t, link, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("get %s: status %d", link, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	p := parsePage(t, body)
	var inArticle []string
	for _, c := range p.chunks {
		if c.inArticle {
			inArticle = append(inArticle, c.text)
		}
	}
	for i, para := range a.Paragraphs {
		if !slices.Contains(inArticle, para) {
			t.Errorf("%s: paragraph %d missing from <article>: %q", a.Slug, i, para)
		}
	}
	if p.lang != a.Language {
		t.Errorf("%s: <html lang=%q>, want %q", a.Slug, p.lang, a.Language)
	}
	published := a.Published.Format(time.RFC3339)
	for k, want := range map[string]string{"og:title": a.Title, "og:site_name": "Newsflow Gazette", "article:published_time": published} {
		if got := p.meta[k]; got != want {
			t.Errorf("%s: meta %s = %q, want %q", a.Slug, k, got, want)
		}
	}
	if p.canonical != link {
		t.Errorf("%s: canonical %q, want %q", a.Slug, p.canonical, link)
	}
	var ld struct {
		Type          string `json:"@type"`
		Headline      string `json:"headline"`
		DatePublished string `json:"datePublished"`
		Author        struct {
			Name string `json:"name"`
		} `json:"author"`
	}
	if err := json.Unmarshal([]byte(p.jsonLD), &ld); err != nil {
		t.Fatalf("%s: JSON-LD %q: %v", a.Slug, p.jsonLD, err)
	}
	if ld.Type != "NewsArticle" || ld.Headline != a.Title || ld.Author.Name != a.Author || ld.DatePublished != published {
		t.Errorf("%s: JSON-LD %+v", a.Slug, ld)
	}
}

func TestRSSFeed(t *testing.T) {
	srv := newTestSite(t)
	resp, body := get(t, FeedURL(srv.URL), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/rss+xml; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	var doc struct {
		XMLName xml.Name `xml:"rss"`
		Version string   `xml:"version,attr"`
		Channel struct {
			Title string `xml:"title"`
			Link  string `xml:"link"`
			Items []struct {
				Title       string `xml:"title"`
				Link        string `xml:"link"`
				GUID        string `xml:"guid"`
				PubDate     string `xml:"pubDate"`
				Creator     string `xml:"http://purl.org/dc/elements/1.1/ creator"`
				Description string `xml:"description"`
			} `xml:"item"`
		} `xml:"channel"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		t.Fatalf("parse RSS: %v", err)
	}
	if doc.Version != "2.0" || doc.Channel.Title == "" || doc.Channel.Link != srv.URL+"/" {
		t.Errorf("channel: version %q, title %q, link %q", doc.Version, doc.Channel.Title, doc.Channel.Link)
	}
	byPath := articlesByPath()
	if len(doc.Channel.Items) != len(byPath) {
		t.Fatalf("%d items, want %d", len(doc.Channel.Items), len(byPath))
	}
	guids := make(map[string]bool)
	for _, it := range doc.Channel.Items {
		t.Run(it.Link, func(t *testing.T) {
			if guids[it.GUID] || it.GUID == "" {
				t.Errorf("guid %q empty or repeated", it.GUID)
			}
			guids[it.GUID] = true
			u, err := url.Parse(it.Link)
			if err != nil {
				t.Fatalf("link: %v", err)
			}
			a := byPath[u.Path]
			pub, err := time.Parse(time.RFC1123Z, it.PubDate)
			if err != nil || !pub.Equal(a.Published) {
				t.Errorf("pubDate %q (%v), want %v", it.PubDate, err, a.Published)
			}
			if it.Title != a.Title || it.Description != a.Paragraphs[0] || it.Creator != a.Author {
				t.Errorf("title %q, description %q, creator %q; want %q, %q, %q", it.Title, it.Description, it.Creator, a.Title, a.Paragraphs[0], a.Author)
			}
			checkArticlePage(t, srv, it.Link)
		})
	}
}

func TestAtomFeed(t *testing.T) {
	srv := newTestSite(t)
	resp, body := get(t, srv.URL+"/atom.xml", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/atom+xml; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	type link struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	}
	var feed struct {
		XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
		ID      string   `xml:"id"`
		Updated string   `xml:"updated"`
		Links   []link   `xml:"link"`
		Entries []struct {
			Title   string `xml:"title"`
			ID      string `xml:"id"`
			Link    link   `xml:"link"`
			Updated string `xml:"updated"`
			Author  struct {
				Name string `xml:"name"`
			} `xml:"author"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal(body, &feed); err != nil {
		t.Fatalf("parse Atom: %v", err)
	}
	if feed.ID == "" || !slices.Contains(feed.Links, link{Rel: "self", Href: srv.URL + "/atom.xml"}) {
		t.Errorf("feed id %q, links %v", feed.ID, feed.Links)
	}
	if _, err := time.Parse(time.RFC3339, feed.Updated); err != nil {
		t.Errorf("feed updated: %v", err)
	}
	byPath := articlesByPath()
	if len(feed.Entries) != len(byPath) {
		t.Fatalf("%d entries, want %d", len(feed.Entries), len(byPath))
	}
	for _, e := range feed.Entries {
		t.Run(e.Link.Href, func(t *testing.T) {
			u, err := url.Parse(e.Link.Href)
			if err != nil {
				t.Fatalf("link: %v", err)
			}
			a := byPath[u.Path]
			updated, err := time.Parse(time.RFC3339, e.Updated)
			if err != nil || !updated.Equal(a.Published) || e.Title != a.Title || e.Author.Name != a.Author || e.ID == "" || e.Link.Rel != "alternate" {
				t.Errorf("entry %+v (%v), want %s by %s at %v", e, err, a.Title, a.Author, a.Published)
			}
			checkArticlePage(t, srv, e.Link.Href)
		})
	}
}

func TestIndexListsEveryArticle(t *testing.T) {
	srv := newTestSite(t)
	resp, body := get(t, srv.URL+"/", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != htmlType {
		t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	p := parsePage(t, body)
	var texts []string
	for _, c := range p.chunks {
		texts = append(texts, c.text)
	}
	for _, a := range Articles() {
		if !slices.Contains(texts, a.Title) || !bytes.Contains(body, []byte(`href="`+a.Path()+`"`)) {
			t.Errorf("index lacks a link to %s", a.Path())
		}
	}
}

func TestConditionalGet(t *testing.T) {
	srv := newTestSite(t)
	article := Articles()[0].Path()
	tests := []struct {
		name   string
		path   string
		header func(etag, lastModified string) http.Header
		want   int
	}{
		{"rss matching etag", "/feed.xml", func(e, _ string) http.Header { return http.Header{"If-None-Match": {e}} }, http.StatusNotModified},
		{"rss etag among several", "/feed.xml", func(e, _ string) http.Header { return http.Header{"If-None-Match": {`"stale", ` + e}} }, http.StatusNotModified},
		{"rss wildcard", "/feed.xml", func(string, string) http.Header { return http.Header{"If-None-Match": {"*"}} }, http.StatusNotModified},
		{"rss other etag", "/feed.xml", func(string, string) http.Header { return http.Header{"If-None-Match": {`"stale"`}} }, http.StatusOK},
		{"rss same date", "/feed.xml", func(_, lm string) http.Header { return http.Header{"If-Modified-Since": {lm}} }, http.StatusNotModified},
		{"rss later date", "/feed.xml", func(_, lm string) http.Header { return http.Header{"If-Modified-Since": {shift(t, lm, time.Hour)}} }, http.StatusNotModified},
		{"rss earlier date", "/feed.xml", func(_, lm string) http.Header { return http.Header{"If-Modified-Since": {shift(t, lm, -time.Hour)}} }, http.StatusOK},
		{"rss etag wins over date", "/feed.xml", func(_, lm string) http.Header {
			return http.Header{"If-None-Match": {`"stale"`}, "If-Modified-Since": {lm}}
		}, http.StatusOK},
		{"atom matching etag", "/atom.xml", func(e, _ string) http.Header { return http.Header{"If-None-Match": {e}} }, http.StatusNotModified},
		{"atom same date", "/atom.xml", func(_, lm string) http.Header { return http.Header{"If-Modified-Since": {lm}} }, http.StatusNotModified},
		{"article matching etag", article, func(e, _ string) http.Header { return http.Header{"If-None-Match": {e}} }, http.StatusNotModified},
		{"unconditional", "/feed.xml", func(string, string) http.Header { return nil }, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, _ := get(t, srv.URL+tt.path, nil)
			etag, lm := first.Header.Get("ETag"), first.Header.Get("Last-Modified")
			if !strings.HasPrefix(etag, `"`) || lm == "" {
				t.Fatalf("ETag %q, Last-Modified %q", etag, lm)
			}
			resp, body := get(t, srv.URL+tt.path, tt.header(etag, lm))
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == http.StatusNotModified && len(body) != 0 {
				t.Errorf("304 with a %d-byte body", len(body))
			}
			if tt.want == http.StatusOK && len(body) == 0 {
				t.Error("200 with an empty body")
			}
		})
	}
}

func shift(t *testing.T, httpDate string, d time.Duration) string {
	t.Helper()
	tm, err := http.ParseTime(httpDate)
	if err != nil {
		t.Fatalf("parse Last-Modified %q: %v", httpDate, err)
	}
	return tm.Add(d).UTC().Format(http.TimeFormat)
}

func TestEtagDependsOnHost(t *testing.T) {
	// Links are absolute, so the same feed served under two hosts must not
	// share a validator.
	h := Handler()
	etag := func(host string) string {
		req := httptest.NewRequest(http.MethodGet, "http://"+host+"/feed.xml", nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !strings.Contains(rec.Body.String(), "http://"+host+"/news/") {
			t.Fatalf("feed for %s has no links to that host", host)
		}
		return rec.Header().Get("ETag")
	}
	if a, b := etag("127.0.0.1:1"), etag("127.0.0.1:2"); a == b {
		t.Fatalf("same ETag %s for different hosts", a)
	}
}

func TestUnknownPaths(t *testing.T) {
	srv := newTestSite(t)
	a := Articles()[0]
	other := "sport"
	if a.Section == other {
		other = "politics"
	}
	tests := []struct {
		method string
		path   string
		want   int
	}{
		{http.MethodGet, "/news/politics/no-such-story.html", http.StatusNotFound},
		{http.MethodGet, "/news/" + other + "/" + a.Slug + ".html", http.StatusNotFound},
		{http.MethodGet, "/news/" + a.Section + "/" + a.Slug, http.StatusNotFound},
		{http.MethodGet, "/news/" + a.Section + "/" + a.Slug + ".htm", http.StatusNotFound},
		{http.MethodGet, "/news/" + a.Section + "/" + a.Slug + ".html/amp", http.StatusNotFound},
		{http.MethodGet, "/news/" + a.Section + "/", http.StatusNotFound},
		{http.MethodGet, "/feed.xml/extra", http.StatusNotFound},
		{http.MethodGet, "/index.html", http.StatusNotFound},
		{http.MethodGet, "/favicon.ico", http.StatusNotFound},
		{http.MethodGet, "/rss", http.StatusNotFound},
		{http.MethodPost, "/feed.xml", http.StatusMethodNotAllowed},
		{http.MethodHead, a.Path(), http.StatusOK},
		{http.MethodHead, "/feed.xml", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.want)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, "charset=utf-8") {
				t.Errorf("Content-Type %q lacks a charset", ct)
			}
		})
	}
}

// renderAll renders every article page through the handler.
func renderAll(t testing.TB) map[string][]byte {
	t.Helper()
	h := Handler()
	pages := make(map[string][]byte)
	for _, a := range Articles() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://gazette.test"+a.Path(), nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: status %d", a.Path(), rec.Code)
		}
		pages[a.Slug] = rec.Body.Bytes()
	}
	return pages
}

func TestBoilerplateLinesComplete(t *testing.T) {
	// Every piece of text on an article page is the story, its headline, a
	// headline of another story, or listed by BoilerplateLines; and every
	// listed line occurs somewhere, so the list neither misses nor invents.
	lines := BoilerplateLines()
	known := make(map[string]bool)
	for _, l := range lines {
		known[l] = true
	}
	headlines := make(map[string]bool)
	for _, a := range Articles() {
		headlines[a.Title] = true
	}
	seen := make(map[string]bool)
	pages := renderAll(t)
	for _, a := range Articles() {
		for _, c := range parsePage(t, pages[a.Slug]).chunks {
			seen[c.text] = true
			story := c.inArticle && (c.tag == "p" || c.tag == "h2") && slices.Contains(a.Paragraphs, c.text)
			if !story && !known[c.text] && !headlines[c.text] {
				t.Errorf("%s: <%s> text %q is neither story nor listed boilerplate", a.Slug, c.tag, c.text)
			}
			if known[c.text] && slices.Contains(a.Paragraphs, c.text) {
				t.Errorf("%s: story text %q is also listed as boilerplate", a.Slug, c.text)
			}
		}
	}
	for _, l := range lines {
		if !seen[l] {
			t.Errorf("boilerplate line %q appears on no page", l)
		}
	}
}

func TestLayoutsVary(t *testing.T) {
	pages := renderAll(t)
	features := map[string]func(page string) bool{
		"share bar above the story": func(p string) bool {
			return strings.Index(p, `class="share"`) < strings.Index(p, `<figure`)
		},
		"cookie banner first": func(p string) bool {
			return strings.Index(p, `class="cookie-consent"`) < strings.Index(p, `<header`)
		},
		"most read before article": func(p string) bool { return strings.Index(p, `<aside`) < strings.Index(p, `<article`) },
		"newsletter prompt":        func(p string) bool { return strings.Contains(p, `class="newsletter-signup"`) },
		"read more link":           func(p string) bool { return strings.Contains(p, `class="read-more"`) },
		"inline advertisement":     func(p string) bool { return strings.Contains(p, `data-ad-unit="article-inline"`) },
		"author bio":               func(p string) bool { return strings.Contains(p, `class="author-bio"`) },
		"related stories":          func(p string) bool { return strings.Contains(p, `class="related"`) },
		"you might also like":      func(p string) bool { return strings.Contains(p, `class="recommended"`) },
		"body wrapper class":       func(p string) bool { return strings.Contains(p, `<div class="article-body"`) },
	}
	for name, has := range features {
		with := 0
		for _, p := range pages {
			if has(string(p)) {
				with++
			}
		}
		if with == 0 || with == len(pages) {
			t.Errorf("%s on %d of %d pages; want it on some but not all", name, with, len(pages))
		}
	}
	for slug, p := range pages {
		for _, must := range []string{`<nav`, `class="breadcrumbs"`, `class="byline"`, `<time datetime=`, `class="share"`, `<figcaption>`, `class="comments-teaser"`, `<aside`, `<footer`, `class="cookie-consent"`} {
			if !bytes.Contains(p, []byte(must)) {
				t.Errorf("%s lacks %s", slug, must)
			}
		}
	}
}

func BenchmarkArticlePage(b *testing.B) {
	h := Handler()
	req := httptest.NewRequest(http.MethodGet, "http://gazette.test"+Articles()[0].Path(), nil)
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
	}
}

func BenchmarkRSSFeed(b *testing.B) {
	h := Handler()
	req := httptest.NewRequest(http.MethodGet, "http://gazette.test/feed.xml", nil)
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
	}
}
