package feed

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"
	"github.com/mmcdole/gofeed/rss"

	"github.com/newsflow/newsflow/proto/canon"
)

// isSitemap reports whether body's root element is a sitemap <urlset> or a
// <sitemapindex>, in any namespace prefix.
func isSitemap(body []byte) bool {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = false
	for range 64 { // the root comes after a declaration and a few comments
		tok, err := d.Token()
		if err != nil {
			return false
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name.Local == "urlset" || se.Name.Local == "sitemapindex"
		}
	}
	return false
}

// sitemapDoc covers both sitemap roots. Element names are matched on
// their local part, so the sitemaps.org and Google News namespaces (and a
// missing one) all parse.
type sitemapDoc struct {
	XMLName  xml.Name
	URLs     []sitemapURL `xml:"url"`
	Sitemaps []struct {
		Loc string `xml:"loc"`
	} `xml:"sitemap"`
}

type sitemapURL struct {
	Loc     string `xml:"loc"`
	LastMod string `xml:"lastmod"`
	News    struct {
		Title           string `xml:"title"`
		PublicationDate string `xml:"publication_date"`
	} `xml:"news"`
}

// parseSitemap reads a Google News sitemap (or a plain one: every <url> is
// an item) or a sitemap index (its children go to Feed.Sitemaps).
func parseSitemap(body []byte, base *url.URL) (*Feed, error) {
	var doc sitemapDoc
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = false
	if err := d.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parse sitemap %s: %w", base, err)
	}
	f := &Feed{}
	for _, s := range doc.Sitemaps {
		if link := canon.Resolve(base, strings.TrimSpace(s.Loc)); link != "" {
			f.Sitemaps = append(f.Sitemaps, link)
		} else {
			f.Skipped++
		}
	}
	for _, u := range doc.URLs {
		link := canon.Resolve(base, strings.TrimSpace(u.Loc))
		if link == "" {
			f.Skipped++
			continue
		}
		f.Items = append(f.Items, Item{
			Title:     plainText(u.News.Title),
			Link:      link,
			Published: parseW3CDate(u.News.PublicationDate),
			Updated:   parseW3CDate(u.LastMod),
		})
	}
	return f, nil
}

// parseW3CDate reads the W3C datetime profile sitemaps use, from a bare
// year-month-day to full RFC 3339; zero when unparseable.
func parseW3CDate(s string) time.Time {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05", "2006-01-02", "2006-01", "2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}

// feedTTL reads how long a feed asks to be cached: RSS <ttl> minutes, or
// the syndication module's sy:updatePeriod × sy:updateFrequency.
func feedTTL(f *gofeed.Feed) time.Duration {
	if orig, ok := f.OriginalFeed().(*rss.Feed); ok {
		if mins, err := strconv.Atoi(strings.TrimSpace(orig.TTL)); err == nil && mins > 0 {
			return time.Duration(mins) * time.Minute
		}
	}
	sy := f.Extensions["sy"]
	if sy == nil || len(sy["updatePeriod"]) == 0 {
		return 0
	}
	period := map[string]time.Duration{
		"hourly": time.Hour, "daily": 24 * time.Hour, "weekly": 7 * 24 * time.Hour,
		"monthly": 30 * 24 * time.Hour, "yearly": 365 * 24 * time.Hour,
	}[strings.TrimSpace(sy["updatePeriod"][0].Value)]
	freq := 1
	if fs := sy["updateFrequency"]; len(fs) > 0 {
		if n, err := strconv.Atoi(strings.TrimSpace(fs[0].Value)); err == nil && n > 0 {
			freq = n
		}
	}
	return period / time.Duration(freq)
}
