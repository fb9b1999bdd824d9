package extract

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

func TestReadMeta(t *testing.T) {
	base, _ := url.Parse("https://site.example/section/page.html")
	tests := []struct {
		name, page string
		want       Document
	}{
		{
			name: "title tag with site suffix, meta author, time element",
			page: `<html lang="fr_CA"><head><title>La ville vote le budget | Le Journal</title>
				<meta name="author" content="Par Claire Dubois"></head>
				<body><h1 class="logo">Le Journal</h1><article><time datetime="2025-01-02T03:04:05+01:00">hier</time></article></body></html>`,
			want: Document{Title: "Le Journal", Byline: "Claire Dubois", Language: "fr",
				Published: time.Date(2025, 1, 2, 2, 4, 5, 0, time.UTC)},
		},
		{
			name: "h1 in article wins over logo h1",
			page: `<body><h1>Site</h1><article><h1>Real headline</h1><span class="byline">By Ann Lee</span></article></body>`,
			want: Document{Title: "Real headline", Byline: "Ann Lee"},
		},
		{
			name: "JSON-LD article with author list and image object",
			page: `<head><script type="application/ld+json">[{"@type":"Organization","name":"X"},
				{"@type":["NewsArticle"],"headline":" LD headline ","author":[{"name":"A One"},"B Two"],
				 "datePublished":"2024-12-31","image":{"url":"/i.png"},"publisher":{"name":"LD Site"}}]</script>
				<script type="application/ld+json">{broken</script>
				<meta property="og:url" content="https://site.example/canon"></head><body></body>`,
			want: Document{Title: "LD headline", Byline: "A One, B Two", SiteName: "LD Site",
				Published:    time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC),
				CanonicalURL: "https://site.example/canon", LeadImageURL: "https://site.example/i.png"},
		},
		{
			name: "og title keeps a dash that is not the site name; relative canonical",
			page: `<head><meta property="og:title" content="Covid - one year on"><meta property="og:site_name" content="Daily">
				<meta http-equiv="Content-Language" content="es-ES"><link rel="Canonical" href="../other?id=1">
				<meta property="article:modified_time" content="2025-02-03T04:05:06Z"></head>`,
			want: Document{Title: "Covid - one year on", SiteName: "Daily", Language: "es",
				CanonicalURL: "https://site.example/other?id=1",
				Modified:     time.Date(2025, 2, 3, 4, 5, 6, 0, time.UTC)},
		},
		{
			name: "unusable values are dropped",
			page: `<html lang="x-klingon-1"><head><link rel="canonical" href="javascript:alert(1)">
				<meta property="og:image" content="data:image/png;base64,AAA"><meta property="article:published_time" content="yesterday"></head>`,
			want: Document{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := html.Parse(strings.NewReader(tt.page))
			require.NoError(t, err)
			got := readMeta(root, base)
			require.Equal(t, tt.want.Title, got.Title)
			require.Equal(t, tt.want.Byline, got.Byline)
			require.Equal(t, tt.want.Language, got.Language)
			require.Equal(t, tt.want.SiteName, got.SiteName)
			require.Equal(t, tt.want.CanonicalURL, got.CanonicalURL)
			require.Equal(t, tt.want.LeadImageURL, got.LeadImageURL)
			require.True(t, tt.want.Published.Equal(got.Published), "published %v", got.Published)
			require.True(t, tt.want.Modified.Equal(got.Modified), "modified %v", got.Modified)
		})
	}
}

func TestTrimSiteSuffix(t *testing.T) {
	tests := []struct {
		title, site string
		loose       bool
		want        string
	}{
		{"Headline | Site", "Site", false, "Headline"},
		{"Big Headline – The Site", "", true, "Big Headline"},
		{"Covid - one year on", "Daily", false, "Covid - one year on"},
		{"Home | Site", "", true, "Home | Site"},
		{"Plain headline", "Site", true, "Plain headline"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, trimSiteSuffix(tt.title, tt.site, tt.loose), tt.title)
	}
}
