package extract

import (
	"cmp"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/newsflow/newsflow/proto/canon"
)

// pageMeta is what one pass over the untouched tree collects.
type pageMeta struct {
	lang, title, h1, relAuthor, byline, timeAttr, canonical string
	meta                                                    map[string]string // first value per lower-cased name/property
	jsonLD                                                  []string
	h1InArticle                                             bool
}

// readMeta collects the metadata, each field from the first source that has it.
func readMeta(root *html.Node, base *url.URL) *Document {
	d, _ := readPage(root, base)
	return d
}

// readPage is readMeta that also returns the articleBody of the page's
// JSON-LD article ("" if none), one of the fallbacks of the text.
func readPage(root *html.Node, base *url.URL) (*Document, string) {
	pm := &pageMeta{meta: map[string]string{}}
	pm.walk(root, false)
	ld := articleLD(pm.jsonLD)

	d := &Document{}
	d.SiteName = cmp.Or(pm.meta["og:site_name"], ld.publisher)
	d.Title = cmp.Or(
		trimSiteSuffix(pm.meta["og:title"], d.SiteName, false),
		collapse(ld.headline),
		pm.h1,
		trimSiteSuffix(pm.title, d.SiteName, true),
	)
	d.Byline = cmp.Or(cleanByline(ld.author), cleanByline(pm.meta["author"]),
		cleanByline(pm.relAuthor), cleanByline(pm.byline))
	d.Published = firstTime(ld.published, pm.meta["article:published_time"],
		pm.meta["datepublished"], pm.meta["pubdate"], pm.meta["date"], pm.timeAttr)
	d.Modified = firstTime(ld.modified, pm.meta["article:modified_time"], pm.meta["og:updated_time"],
		pm.meta["datemodified"])
	d.Language = primaryLang(cmp.Or(pm.lang, pm.meta["content-language"], pm.meta["og:locale"]))
	d.CanonicalURL = canon.Resolve(base, cmp.Or(pm.canonical, pm.meta["og:url"]))
	d.LeadImageURL = canon.Resolve(base, cmp.Or(pm.meta["og:image"], pm.meta["og:image:url"],
		pm.meta["twitter:image"], ld.image))
	return d, ld.body
}

func (pm *pageMeta) walk(n *html.Node, inArticle bool) {
	if n.Type == html.ElementNode {
		switch n.DataAtom {
		case atom.Html:
			if pm.lang == "" {
				pm.lang = attr(n, "lang")
			}
		case atom.Title:
			if pm.title == "" {
				pm.title = collapse(nodeText(n))
			}
			return
		case atom.Meta:
			pm.addMeta(n)
			return
		case atom.Link:
			if pm.canonical == "" && hasToken(attr(n, "rel"), "canonical") {
				pm.canonical = strings.TrimSpace(attr(n, "href"))
			}
			return
		case atom.Script:
			if strings.EqualFold(strings.TrimSpace(attr(n, "type")), "application/ld+json") {
				pm.jsonLD = append(pm.jsonLD, nodeText(n))
			}
			return
		case atom.Article:
			inArticle = true
		case atom.H1:
			// Prefer the article's own headline over a site logo in an <h1>.
			if pm.h1 == "" || inArticle && !pm.h1InArticle {
				if t := collapse(nodeText(n)); t != "" {
					pm.h1, pm.h1InArticle = t, inArticle
				}
			}
		case atom.Time:
			if pm.timeAttr == "" {
				pm.timeAttr = attr(n, "datetime")
			}
		case atom.A:
			if pm.relAuthor == "" && hasToken(attr(n, "rel"), "author") {
				pm.relAuthor = collapse(nodeText(n))
			}
		}
		if pm.byline == "" && hasToken(attr(n, "class"), "byline") {
			pm.byline = collapse(nodeText(n))
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		pm.walk(c, inArticle)
	}
}

func (pm *pageMeta) addMeta(n *html.Node) {
	key := cmp.Or(attr(n, "property"), attr(n, "name"), attr(n, "itemprop"), attr(n, "http-equiv"))
	key = strings.ToLower(strings.TrimSpace(key))
	val := strings.TrimSpace(attr(n, "content"))
	if key == "" || val == "" {
		return
	}
	if _, ok := pm.meta[key]; !ok {
		pm.meta[key] = val
	}
}

// ldArticle is the part of a schema.org article that the Document uses.
type ldArticle struct {
	headline, author, published, modified, image, publisher, body string
}

var ldArticleTypes = map[string]bool{
	"Article": true, "NewsArticle": true, "BlogPosting": true, "ReportageNews": true,
	"AnalysisNewsArticle": true, "OpinionNewsArticle": true, "LiveBlogPosting": true,
	"Report": true, "ScholarlyArticle": true, "TechArticle": true, "WebPage": false,
}

// articleLD returns the first schema.org article in the JSON-LD scripts.
func articleLD(scripts []string) ldArticle {
	for _, s := range scripts {
		var v any
		if json.Unmarshal([]byte(s), &v) != nil {
			continue
		}
		if obj := findLDArticle(v, 0); obj != nil {
			return ldArticle{
				headline:  ldString(obj["headline"]),
				author:    ldNames(obj["author"]),
				published: ldString(obj["datePublished"]),
				modified:  ldString(obj["dateModified"]),
				image:     ldURL(obj["image"]),
				publisher: ldNames(obj["publisher"]),
				body:      ldString(obj["articleBody"]),
			}
		}
	}
	return ldArticle{}
}

func findLDArticle(v any, depth int) map[string]any {
	if depth > 8 {
		return nil
	}
	switch t := v.(type) {
	case []any:
		for _, e := range t {
			if o := findLDArticle(e, depth+1); o != nil {
				return o
			}
		}
	case map[string]any:
		if isLDArticle(t["@type"]) {
			return t
		}
		if g, ok := t["@graph"]; ok {
			return findLDArticle(g, depth+1)
		}
		if m, ok := t["mainEntity"]; ok {
			return findLDArticle(m, depth+1)
		}
	}
	return nil
}

func isLDArticle(t any) bool {
	switch v := t.(type) {
	case string:
		return ldArticleTypes[v]
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok && ldArticleTypes[s] {
				return true
			}
		}
	}
	return false
}

func ldString(v any) string {
	s, _ := v.(string)
	return strings.TrimSpace(s)
}

// ldNames reads a person or organisation, or a list of them, as "A, B".
func ldNames(v any) string {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t)
	case map[string]any:
		return ldString(t["name"])
	case []any:
		var names []string
		for _, e := range t {
			if n := ldNames(e); n != "" {
				names = append(names, n)
			}
		}
		return strings.Join(names, ", ")
	}
	return ""
}

func ldURL(v any) string {
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t)
	case map[string]any:
		return ldString(t["url"])
	case []any:
		if len(t) > 0 {
			return ldURL(t[0])
		}
	}
	return ""
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasToken(list, tok string) bool {
	for f := range strings.FieldsSeq(list) {
		if strings.EqualFold(f, tok) {
			return true
		}
	}
	return false
}

func nodeText(n *html.Node) string {
	var sb strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
			sb.WriteByte(' ')
			return
		}
		if n.Type == html.ElementNode && (n.DataAtom == atom.Style || n.DataAtom == atom.Template) {
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return sb.String()
}

// titleSeparators split "Headline | Site" page titles.
var titleSeparators = []string{" | ", " – ", " — ", " - ", " :: ", " · ", " « ", " » "}

// trimSiteSuffix removes a trailing " | Site". With loose set it also removes
// any short trailing part, as <title> nearly always ends in the site's name.
func trimSiteSuffix(title, site string, loose bool) string {
	title = collapse(title)
	for _, sep := range titleSeparators {
		i := strings.LastIndex(title, sep)
		if i <= 0 {
			continue
		}
		head, tail := title[:i], title[i+len(sep):]
		if strings.EqualFold(tail, site) || loose && len(strings.Fields(tail)) <= 4 && len(strings.Fields(head)) >= 2 {
			return head
		}
	}
	return title
}

func cleanByline(s string) string {
	s = collapse(s)
	for _, p := range []string{"By ", "by ", "BY ", "Von ", "Par ", "Por ", "Автор: "} {
		s = strings.TrimPrefix(s, p)
	}
	if len(s) > 120 {
		return ""
	}
	return s
}

var timeLayouts = []string{
	time.RFC3339Nano, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02", time.RFC1123Z, time.RFC1123,
}

func firstTime(vals ...string) time.Time {
	for _, v := range vals {
		v = strings.TrimSpace(v)
		if v == "" {
			continue
		}
		for _, l := range timeLayouts {
			if t, err := time.Parse(l, v); err == nil {
				return t.UTC()
			}
		}
	}
	return time.Time{}
}

// primaryLang returns the lowercased primary subtag of a language tag or
// locale ("en-GB", "en_US"), "" when it is not one.
func primaryLang(tag string) string {
	p, _, _ := strings.Cut(strings.TrimSpace(tag), "-")
	p, _, _ = strings.Cut(p, "_")
	p, _, _ = strings.Cut(p, ",")
	p = strings.ToLower(p)
	if len(p) < 2 || len(p) > 3 {
		return ""
	}
	for _, r := range p {
		if r < 'a' || r > 'z' {
			return ""
		}
	}
	return p
}
