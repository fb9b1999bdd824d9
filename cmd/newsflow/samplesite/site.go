package samplesite

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

//go:embed templates
var templateFS embed.FS

const htmlType = "text/html; charset=utf-8"

// site renders pages from the immutable corpus; it holds no per-request state.
type site struct {
	c        *corpus
	article  *template.Template
	index    *template.Template
	layouts  []layout
	mostRead []int
	updated  time.Time // newest publication, the Last-Modified of feeds and index
}

func newSite(c *corpus) (*site, error) {
	article, err := template.ParseFS(templateFS, "templates/article.html")
	if err != nil {
		return nil, fmt.Errorf("parse article template: %w", err)
	}
	index, err := template.ParseFS(templateFS, "templates/index.html")
	if err != nil {
		return nil, fmt.Errorf("parse index template: %w", err)
	}
	s := &site{c: c, article: article, index: index, mostRead: mostRead(c), updated: c.articles[0].Published}
	for i := range c.articles {
		s.layouts = append(s.layouts, layoutFor(c, i))
	}
	return s, nil
}

// Handler serves the sample site: the index at /, RSS 2.0 at /feed.xml,
// Atom 1.0 at /atom.xml, JSON Feed 1.1 at /feed.json, a Google News sitemap
// at /news-sitemap.xml, /robots.txt and the articles under
// /news/<section>/<slug>.html.
// Links in feeds and pages are absolute to the request's Host.
func Handler() http.Handler {
	s, err := newSite(mustCorpus())
	if err != nil {
		// The templates are embedded and exercised by the tests.
		panic(fmt.Sprintf("samplesite: %v", err))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.serveIndex)
	mux.HandleFunc("GET /feed.xml", s.serveRSS)
	mux.HandleFunc("GET /atom.xml", s.serveAtom)
	mux.HandleFunc("GET /feed.json", s.serveJSONFeed)
	mux.HandleFunc("GET /news-sitemap.xml", s.serveNewsSitemap)
	mux.HandleFunc("GET /robots.txt", serveRobots)
	mux.HandleFunc("GET /news/{section}/{file}", s.serveArticle)
	return mux
}

// FeedURL is the RSS feed of a site served at base, such as Server.URL.
func FeedURL(base string) string {
	return strings.TrimRight(base, "/") + "/feed.xml"
}

// IsFeedURL reports whether u looks like the feed of a sample site: its
// feed path on a loopback address (the address every run picks).
func IsFeedURL(u *url.URL) bool {
	ip, err := netip.ParseAddr(u.Hostname())
	return err == nil && ip.IsLoopback() && u.Path == "/feed.xml"
}

func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// serveBytes answers with a strong ETag and Last-Modified and lets
// http.ServeContent handle If-None-Match, If-Modified-Since, HEAD and ranges,
// which a conditional-GET fetcher relies on.
func serveBytes(w http.ResponseWriter, r *http.Request, contentType string, modified time.Time, body []byte) {
	sum := sha256.Sum256(body)
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("ETag", `"`+hex.EncodeToString(sum[:12])+`"`)
	h.Set("Cache-Control", "public, max-age=60")
	http.ServeContent(w, r, "", modified, bytes.NewReader(body))
}

func (s *site) render(w http.ResponseWriter, r *http.Request, t *template.Template, modified time.Time, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		http.Error(w, "render page: "+err.Error(), http.StatusInternalServerError)
		return
	}
	serveBytes(w, r, htmlType, modified, buf.Bytes())
}

type link struct {
	Title string
	Href  string
}

func (s *site) links(base string, idx []int) []link {
	out := make([]link, 0, len(idx))
	for _, i := range idx {
		a := s.c.articles[i]
		out = append(out, link{Title: a.Title, Href: base + a.Path()})
	}
	return out
}

// block is one element of the story body as the template prints it: running
// text, a subheading, or a piece of boilerplate woven into the text.
type block struct {
	Kind string // "p", "h2", "newsletter", "readmore", "ad"
	Text string
	Href string
}

func (s *site) blocks(base string, a Article, l layout) []block {
	var out []block
	running := 0
	for i, p := range a.Paragraphs {
		if a.IsSubheading(i) {
			out = append(out, block{Kind: "h2", Text: p})
			continue
		}
		out = append(out, block{Kind: "p", Text: p})
		running++
		if i == len(a.Paragraphs)-1 {
			break // nothing is woven in after the last paragraph
		}
		switch {
		case running == 3 && l.Newsletter:
			out = append(out, block{Kind: "newsletter"})
		case running == 5 && l.ReadMore >= 0:
			rm := s.c.articles[l.ReadMore]
			out = append(out, block{Kind: "readmore", Text: rm.Title, Href: base + rm.Path()})
		}
		if running == l.AdAfter {
			out = append(out, block{Kind: "ad"})
		}
	}
	return out
}

type articlePage struct {
	C            chrome
	Sections     []Section
	A            Article
	L            layout
	SectionLabel string
	Canonical    string
	Description  string
	PublishedISO string
	Dateline     string
	Byline       string
	Caption      string
	Credit       string
	Bio          string
	Comments     string
	Blocks       []block
	Related      []link
	AlsoLike     []link
	MostRead     []link
	LD           map[string]any
}

func (s *site) serveArticle(w http.ResponseWriter, r *http.Request) {
	i, ok := s.c.byPath[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	a := s.c.articles[i]
	s.render(w, r, s.article, a.Published, s.articlePage(baseURL(r), i, a))
}

// articlePage is what the article template shows of a, which is article i
// of the corpus or a variant of it (see Variants), on a site at base.
func (s *site) articlePage(base string, i int, a Article) articlePage {
	l := s.layouts[i]
	label, _ := sectionLabel(a.Section)
	page := articlePage{
		C:            siteChrome(),
		Sections:     sections,
		A:            a,
		L:            l,
		SectionLabel: label,
		Canonical:    base + a.Path(),
		Description:  a.Paragraphs[0],
		PublishedISO: a.Published.Format(time.RFC3339),
		Dateline:     dateline(a),
		Byline:       byline(a),
		Caption:      a.caption,
		Credit:       photoCredit(l),
		Bio:          s.c.bios[a.Author],
		Comments:     commentsTeaser(l),
		Blocks:       s.blocks(base, a, l),
		MostRead:     s.links(base, s.mostRead),
		LD: map[string]any{
			"@context":         "https://schema.org",
			"@type":            "NewsArticle",
			"headline":         a.Title,
			"author":           map[string]string{"@type": "Person", "name": a.Author},
			"datePublished":    a.Published.Format(time.RFC3339),
			"articleSection":   label,
			"inLanguage":       a.Language,
			"mainEntityOfPage": base + a.Path(),
			"publisher":        map[string]string{"@type": "NewsMediaOrganization", "name": siteChrome().SiteName},
		},
	}
	if l.RelatedShown {
		page.Related = s.links(base, l.Related)
	}
	if l.AlsoLikeShown {
		page.AlsoLike = s.links(base, l.AlsoLike)
	}
	return page
}

type indexItem struct {
	Title, Href, Byline, ISO, Dateline string
}

type indexSection struct {
	Section
	Items []indexItem
}

func (s *site) serveIndex(w http.ResponseWriter, r *http.Request) {
	page := struct {
		C        chrome
		Sections []indexSection
	}{C: siteChrome()}
	for _, sec := range sections {
		is := indexSection{Section: sec}
		for _, a := range s.c.articles {
			if a.Section == sec.Slug {
				is.Items = append(is.Items, indexItem{
					Title: a.Title, Href: a.Path(), Byline: byline(a),
					ISO: a.Published.Format(time.RFC3339), Dateline: dateline(a),
				})
			}
		}
		if len(is.Items) > 0 {
			page.Sections = append(page.Sections, is)
		}
	}
	s.render(w, r, s.index, s.updated, page)
}
