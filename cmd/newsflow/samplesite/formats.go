package samplesite

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"time"
)

// The sample site's other feed formats, so every parser path of the
// fetcher can be tried on it: JSON Feed 1.1 at /feed.json and a Google
// News sitemap at /news-sitemap.xml. /robots.txt keeps crawlers out of
// /private/ (which does not exist), as real news sites do.

type jsonFeed struct {
	Version     string         `json:"version"`
	Title       string         `json:"title"`
	HomePageURL string         `json:"home_page_url"`
	FeedURL     string         `json:"feed_url"`
	Items       []jsonFeedItem `json:"items"`
}

type jsonFeedItem struct {
	ID            string           `json:"id"`
	URL           string           `json:"url"`
	Title         string           `json:"title"`
	Summary       string           `json:"summary"`
	DatePublished string           `json:"date_published"`
	Authors       []jsonFeedAuthor `json:"authors"`
	Tags          []string         `json:"tags"`
}

type jsonFeedAuthor struct {
	Name string `json:"name"`
}

func (s *site) serveJSONFeed(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	feed := jsonFeed{
		Version:     "https://jsonfeed.org/version/1.1",
		Title:       siteChrome().SiteName,
		HomePageURL: base + "/",
		FeedURL:     base + "/feed.json",
	}
	for _, a := range s.c.articles {
		feed.Items = append(feed.Items, jsonFeedItem{
			ID: guid(a), URL: base + a.Path(), Title: a.Title, Summary: a.Paragraphs[0],
			DatePublished: a.Published.Format(time.RFC3339),
			Authors:       []jsonFeedAuthor{{Name: a.Author}},
			Tags:          []string{a.Section},
		})
	}
	body, err := json.MarshalIndent(feed, "", "  ")
	if err != nil {
		http.Error(w, "encode feed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	serveBytes(w, r, "application/feed+json; charset=utf-8", s.updated, body)
}

type newsURLSet struct {
	XMLName xml.Name  `xml:"urlset"`
	NS      string    `xml:"xmlns,attr"`
	NewsNS  string    `xml:"xmlns:news,attr"`
	URLs    []newsURL `xml:"url"`
}

type newsURL struct {
	Loc  string   `xml:"loc"`
	News newsInfo `xml:"news:news"`
}

type newsInfo struct {
	Publication     newsPublication `xml:"news:publication"`
	PublicationDate string          `xml:"news:publication_date"`
	Title           string          `xml:"news:title"`
}

type newsPublication struct {
	Name     string `xml:"news:name"`
	Language string `xml:"news:language"`
}

func (s *site) serveNewsSitemap(w http.ResponseWriter, r *http.Request) {
	base := baseURL(r)
	doc := newsURLSet{NS: "http://www.sitemaps.org/schemas/sitemap/0.9", NewsNS: "http://www.google.com/schemas/sitemap-news/0.9"}
	for _, a := range s.c.articles {
		doc.URLs = append(doc.URLs, newsURL{Loc: base + a.Path(), News: newsInfo{
			Publication:     newsPublication{Name: siteChrome().SiteName, Language: a.Language},
			PublicationDate: a.Published.Format(time.RFC3339),
			Title:           a.Title,
		}})
	}
	s.serveXML(w, r, "application/xml; charset=utf-8", doc)
}

func serveRobots(w http.ResponseWriter, r *http.Request) {
	serveBytes(w, r, "text/plain; charset=utf-8", time.Time{}, []byte("User-agent: *\nDisallow: /private/\n"))
}
