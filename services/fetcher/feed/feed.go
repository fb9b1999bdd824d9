// Package feed parses syndication feeds (RSS 0.9x, 1.0 (RDF) and 2.0, Atom
// 0.3 and 1.0, JSON Feed 1.0 and 1.1, Google News sitemaps and sitemap
// indexes) into the few fields the fetcher needs to discover articles, and
// finds the feeds an HTML page links to.
//
// The format work is done by github.com/mmcdole/gofeed: real feeds are full of
// malformed XML, a dozen date layouts, xml:base and RSS 1.0/JSON Feed
// variants, which gofeed already handles and tests; this package only turns
// its result into a small, strict shape (absolute http(s) links, plain-text
// titles, zero times for unparseable dates).
package feed

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mmcdole/gofeed"
	"golang.org/x/net/html"

	"github.com/newsflow/newsflow/proto/canon"
)

// ErrUnknownFormat is returned when the body is no feed format known here.
var ErrUnknownFormat = errors.New("unknown feed format")

// Feed is a parsed feed.
type Feed struct {
	Title string
	Items []Item
	// Skipped counts entries dropped because they had no usable http(s) link.
	Skipped int
	// TTL is how long the feed asks to be cached (RSS <ttl>, or the
	// syndication module's update period); zero when it does not say.
	TTL time.Duration
	// Sitemaps lists the child sitemaps of a sitemap index, absolute.
	Sitemaps []string
}

// Item is one entry of a feed.
type Item struct {
	// Title is plain text: markup is stripped and entities decoded.
	Title string
	// Link is absolute, resolved against xml:base and the feed URL.
	Link string
	GUID string
	// Published and Updated are zero when the feed gave no parseable date.
	Published, Updated time.Time
}

// Parse parses a feed or sitemap fetched from feedURL.
//
// body is expected in UTF-8, as page.Client returns it: when it is valid
// UTF-8, an encoding named in the XML declaration is ignored (the bytes were
// already decoded from it). Items without a usable link are dropped and
// counted in Feed.Skipped.
func Parse(body []byte, feedURL string) (*Feed, error) {
	base, err := url.Parse(feedURL)
	if err != nil {
		return nil, fmt.Errorf("parse feed url %q: %w", feedURL, err)
	}
	switch gofeed.DetectFeedType(bytes.NewReader(body)) {
	case gofeed.FeedTypeRSS, gofeed.FeedTypeAtom, gofeed.FeedTypeJSON:
	default:
		if isSitemap(body) {
			return parseSitemap(body, base)
		}
		return nil, fmt.Errorf("parse feed %s: %w", feedURL, ErrUnknownFormat)
	}
	parser := gofeed.NewParser()
	parser.KeepOriginalFeed = true
	parsed, err := parser.Parse(bytes.NewReader(declareUTF8(body)))
	if err != nil {
		return nil, fmt.Errorf("parse feed %s: %w", feedURL, err)
	}
	if parsed.FeedType == "json" && parsed.FeedVersion == "" {
		// Any JSON object parses as a JSON Feed; without its version URL it
		// is some other document.
		return nil, fmt.Errorf("parse feed %s: json without a jsonfeed.org version: %w", feedURL, ErrUnknownFormat)
	}
	f := &Feed{Title: plainText(parsed.Title), TTL: feedTTL(parsed)}
	for _, it := range parsed.Items {
		if it == nil {
			continue
		}
		link := canon.Resolve(base, itemLink(it))
		if link == "" {
			f.Skipped++
			continue
		}
		f.Items = append(f.Items, Item{
			Title:     plainText(it.Title),
			Link:      link,
			GUID:      strings.TrimSpace(it.GUID),
			Published: timeOrZero(it.PublishedParsed),
			Updated:   timeOrZero(it.UpdatedParsed),
		})
	}
	return f, nil
}

// itemLink picks the article link: the item's link, else any alternate
// link, else a GUID that is itself a URL (RSS isPermaLink, Atom ids that are
// URLs).
func itemLink(it *gofeed.Item) string {
	for _, c := range append([]string{it.Link}, it.Links...) {
		if c = strings.TrimSpace(c); c != "" {
			return c
		}
	}
	// RSS items that only carry <atom:link rel="alternate" href>.
	for _, l := range it.Extensions["atom"]["link"] {
		if rel := l.Attrs["rel"]; rel == "" || rel == "alternate" {
			if href := strings.TrimSpace(l.Attrs["href"]); href != "" {
				return href
			}
		}
	}
	// An opaque GUID such as "tag:…" or a number is no link.
	if g := strings.TrimSpace(it.GUID); strings.Contains(g, "://") {
		return g
	}
	return ""
}

func timeOrZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// xmlDecl matches the encoding pseudo-attribute of an XML declaration.
var xmlDecl = regexp.MustCompile(`^(\s*<\?xml[^>]*?encoding\s*=\s*["'])([^"']*)(["'])`)

// declareUTF8 rewrites a non-UTF-8 encoding declaration when the body is
// valid UTF-8, so that the XML decoder does not decode it a second time. A
// body still in a legacy encoding is almost never valid UTF-8 (and when it
// is, it is ASCII, where the rewrite changes nothing), so it keeps its
// declaration and gofeed converts it.
func declareUTF8(body []byte) []byte {
	head := body[:min(len(body), 1024)]
	m := xmlDecl.FindSubmatchIndex(head)
	if m == nil || strings.EqualFold(string(head[m[4]:m[5]]), "utf-8") || !utf8.Valid(body) {
		return body
	}
	out := make([]byte, 0, len(body))
	out = append(out, body[:m[4]]...)
	out = append(out, "UTF-8"...)
	return append(out, body[m[5]:]...)
}

// plainText strips markup from a title ("<b>Breaking</b> &amp; more"
// appears in the wild, escaped once or twice) and collapses whitespace.
func plainText(s string) string {
	if strings.ContainsAny(s, "<&") {
		var b strings.Builder
		z := html.NewTokenizer(strings.NewReader(s))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			if tt == html.TextToken {
				b.Write(z.Text())
			}
		}
		s = b.String()
	}
	return strings.Join(strings.Fields(s), " ")
}
