package samplesite

import (
	"encoding/xml"
	"net/http"
	"time"
)

// guid is stable across hosts and ports, unlike the item links, so a fetcher
// restarted on another loopback port still recognises items it has seen.
func guid(a Article) string {
	return "tag:gazette.newsflow.invalid,2026:" + a.Section + "/" + a.Slug
}

type rssDoc struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	DCNS    string     `xml:"xmlns:dc,attr"`
	AtomNS  string     `xml:"xmlns:atom,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	// atom:link comes before link because encoding/xml matches a field
	// tagged "link" on the local name alone, so in the other order a
	// consumer written with it would read the empty atom:link.
	SelfLink      atomLink  `xml:"atom:link"`
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	Language      string    `xml:"language"`
	LastBuildDate string    `xml:"lastBuildDate"`
	TTL           int       `xml:"ttl"`
	Items         []rssItem `xml:"item"`
}

type rssItem struct {
	Title    string  `xml:"title"`
	Link     string  `xml:"link"`
	GUID     rssGUID `xml:"guid"`
	PubDate  string  `xml:"pubDate"`
	Category string  `xml:"category"`
	// Prefixed names written literally give the conventional dc:creator
	// form that feed readers look for; encoding/xml would otherwise emit a
	// default-namespace declaration on every item.
	Creator     string `xml:"dc:creator"`
	Description string `xml:"description"`
}

type rssGUID struct {
	IsPermaLink string `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

func (s *site) serveRSS(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	ch := siteChrome()
	doc := rssDoc{Version: "2.0", DCNS: "http://purl.org/dc/elements/1.1/", AtomNS: "http://www.w3.org/2005/Atom", Channel: rssChannel{
		Title:         ch.SiteName,
		Link:          base + "/",
		Description:   ch.Tagline,
		SelfLink:      atomLink{Rel: "self", Type: "application/rss+xml", Href: base + "/feed.xml"},
		Language:      "en",
		LastBuildDate: s.updated.Format(time.RFC1123Z),
		TTL:           15,
	}}
	for _, a := range s.c.articles {
		label, _ := sectionLabel(a.Section)
		doc.Channel.Items = append(doc.Channel.Items, rssItem{
			Title:       a.Title,
			Link:        base + a.Path(),
			GUID:        rssGUID{IsPermaLink: "false", Value: guid(a)},
			PubDate:     a.Published.Format(time.RFC1123Z),
			Category:    label,
			Creator:     a.Author,
			Description: a.Paragraphs[0],
		})
	}
	s.serveXML(w, r, "application/rss+xml; charset=utf-8", doc)
}

type atomFeed struct {
	XMLName  xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Title    string      `xml:"title"`
	Subtitle string      `xml:"subtitle"`
	ID       string      `xml:"id"`
	Updated  string      `xml:"updated"`
	Links    []atomLink  `xml:"link"`
	Entries  []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	Title     string       `xml:"title"`
	ID        string       `xml:"id"`
	Link      atomLink     `xml:"link"`
	Published string       `xml:"published"`
	Updated   string       `xml:"updated"`
	Author    atomPerson   `xml:"author"`
	Category  atomCategory `xml:"category"`
	Summary   string       `xml:"summary"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomCategory struct {
	Term  string `xml:"term,attr"`
	Label string `xml:"label,attr"`
}

func (s *site) serveAtom(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	ch := siteChrome()
	feed := atomFeed{
		Title:    ch.SiteName,
		Subtitle: ch.Tagline,
		ID:       "tag:gazette.newsflow.invalid,2026:feed",
		Updated:  s.updated.Format(time.RFC3339),
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: base + "/atom.xml"},
			{Rel: "alternate", Type: "text/html", Href: base + "/"},
		},
	}
	for _, a := range s.c.articles {
		label, _ := sectionLabel(a.Section)
		feed.Entries = append(feed.Entries, atomEntry{
			Title:     a.Title,
			ID:        guid(a),
			Link:      atomLink{Rel: "alternate", Type: "text/html", Href: base + a.Path()},
			Published: a.Published.Format(time.RFC3339),
			Updated:   a.Published.Format(time.RFC3339),
			Author:    atomPerson{Name: a.Author},
			Category:  atomCategory{Term: a.Section, Label: label},
			Summary:   a.Paragraphs[0],
		})
	}
	s.serveXML(w, r, "application/atom+xml; charset=utf-8", feed)
}

func (s *site) serveXML(w http.ResponseWriter, r *http.Request, contentType string, doc any) {
	body, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		http.Error(w, "encode feed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	serveBytes(w, r, contentType, s.updated, append([]byte(xml.Header), body...))
}
