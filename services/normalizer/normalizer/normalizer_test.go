package normalizer

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/proto/canon"
	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/stage"
)

func newTestNormalizer(t *testing.T, cfg Config) *Normalizer {
	t.Helper()
	ex, err := cfg.Extractor()
	require.NoError(t, err)
	m, err := newMetrics(prometheus.NewRegistry())
	require.NoError(t, err)
	return &Normalizer{ex: ex, m: m}
}

const page = `<!doctype html><html lang="en"><head><title>Harbour reopens | Gazette</title>
<meta property="og:site_name" content="Gazette"></head><body>
<nav><a href="/">Home</a> <a href="/sport">Sport</a></nav>
<article><h1>Harbour reopens</h1><p class="byline">By Ana Ruiz</p>
<time datetime="2026-03-10T08:00:00Z">10 March</time>
<div class="share">Share on X · Facebook · Email</div>
<p>The harbour at Ardenport reopened on Tuesday after three weeks of repairs to the sea wall, the port authority said.</p>
<p>Fishing boats returned to their moorings by noon, and the ferry to the islands will resume its timetable on Thursday morning.</p>
<p>Engineers replaced forty metres of the wall that was damaged in the February storms, at a cost of two million crowns.</p>
</article><footer>© 2026 Gazette. All rights reserved.</footer></body></html>`

func TestHandleExtractsAndDropsTheBody(t *testing.T) {
	n := newTestNormalizer(t, DefaultConfig())
	in := &newsflowv1.Article{Id: "a", Url: "https://gazette.example/harbour", Source: "gazette.example",
		Fetch: &newsflowv1.Fetch{Status: 200, ContentType: "text/html", Body: []byte(page)}}
	out, err := n.Handle(context.Background(), in)
	require.NoError(t, err)
	norm := out.GetNormalized()
	require.Equal(t, "Harbour reopens", norm.GetTitle())
	require.Equal(t, "en", norm.GetLanguage())
	require.Equal(t, "2026-03-10T08:00:00Z", norm.GetPublishedAt().AsTime().Format("2006-01-02T15:04:05Z07:00"))
	lines := strings.Split(norm.GetText(), "\n")
	require.Len(t, lines, 3, "one line per paragraph: %q", norm.GetText())
	require.NotContains(t, norm.GetText(), "Share on X")
	require.NotContains(t, norm.GetText(), "All rights reserved")
	require.Positive(t, norm.GetBoilerplate().GetBytesRemoved())
	require.Nil(t, out.GetFetch().GetBody(), "the raw page stays in the fetched stream only")
	require.Equal(t, int32(200), out.GetFetch().GetStatus(), "fetch metadata is kept")
	require.Equal(t, 1.0, testutil.ToFloat64(n.m.methods.WithLabelValues("primary")))
	require.Equal(t, 0.0, testutil.ToFloat64(n.m.methods.WithLabelValues("unpruned")))
}

// TestHandleReadsCompressedPages: the fetcher sends pages zstd-compressed;
// the normalizer extracts the page, not the compressed bytes, and a body
// that cannot be decoded is a permanent failure (dead-lettered, reason
// "body"), not a crash or a retry.
func TestHandleReadsCompressedPages(t *testing.T) {
	n := newTestNormalizer(t, DefaultConfig())
	f := &newsflowv1.Fetch{Status: 200, ContentType: "text/html", Body: []byte(page)}
	stage.CompressBody(f)
	require.Equal(t, stage.BodyZstd, f.GetBodyEncoding())
	out, err := n.Handle(context.Background(), &newsflowv1.Article{Id: "a", Url: "https://gazette.example/harbour", Fetch: f})
	require.NoError(t, err)
	require.Equal(t, "Harbour reopens", out.GetNormalized().GetTitle())
	require.Len(t, strings.Split(out.GetNormalized().GetText(), "\n"), 3)
	require.Empty(t, out.GetFetch().GetBodyEncoding(), "no body, no encoding")

	bad := &newsflowv1.Article{Id: "b", Url: "https://gazette.example/b",
		Fetch: &newsflowv1.Fetch{ContentType: "text/html", Body: []byte("<p>not zstd</p>"), BodyEncoding: stage.BodyZstd}}
	_, err = n.Handle(context.Background(), bad)
	require.ErrorIs(t, err, stage.ErrBody)
	var perm *stage.PermanentError
	require.ErrorAs(t, err, &perm)
	require.Equal(t, "body", perm.Reason)
}

// TestHandleCountsTheFallbackMethod: a page whose story only its JSON-LD
// holds is extracted, and counted under the method that served it.
func TestHandleCountsTheFallbackMethod(t *testing.T) {
	n := newTestNormalizer(t, DefaultConfig())
	story := strings.Repeat("The harbour at Ardenport reopened on Tuesday after three weeks of repairs. ", 5)
	body := `<html><head><script type="application/ld+json">{"@type":"NewsArticle","headline":"Harbour reopens","articleBody":"` +
		story + `"}</script></head><body><nav><a href="/">Home</a></nav><p>Subscribe.</p></body></html>`
	in := &newsflowv1.Article{Id: "a", Url: "https://gazette.example/harbour", Source: "gazette.example",
		Fetch: &newsflowv1.Fetch{Status: 200, ContentType: "text/html", Body: []byte(body)}}
	out, err := n.Handle(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, strings.TrimSpace(story), out.GetNormalized().GetText())
	require.Equal(t, 1.0, testutil.ToFloat64(n.m.methods.WithLabelValues("json-ld")))
	require.Equal(t, 0.0, testutil.ToFloat64(n.m.methods.WithLabelValues("primary")))
}

func TestHandlePermanentFailures(t *testing.T) {
	slow := DefaultConfig()
	slow.ExtractTimeout = time.Nanosecond
	small := DefaultConfig()
	small.MaxPageBytes = 100
	tests := []struct {
		name        string
		cfg         Config
		contentType string
		body        string
		reason      string
	}{
		{"empty body", DefaultConfig(), "text/html", "", "empty_body"},
		{"no article text", DefaultConfig(), "text/html", "<html><body><nav>Home</nav><footer>© 2026</footer></body></html>", "empty_extraction"},
		{"binary content", DefaultConfig(), "image/png", "\x89PNG\r\n\x1a\n", "unsupported_content"},
		{"too slow", slow, "text/html", page, "timeout"},
		{"too large", small, "text/html", page, "too_large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNormalizer(t, tc.cfg)
			in := &newsflowv1.Article{Id: "p", Url: "https://x.example/p", Source: "x.example",
				Fetch: &newsflowv1.Fetch{ContentType: tc.contentType, Body: []byte(tc.body)}}
			_, err := n.Handle(context.Background(), in)
			var pe *stage.PermanentError
			require.True(t, errors.As(err, &pe), "want a permanent error, got %v", err)
			require.Equal(t, tc.reason, pe.Reason)
			timeouts := 0.0
			if tc.reason == "timeout" {
				timeouts = 1
			}
			require.Equal(t, timeouts, testutil.ToFloat64(n.m.timeouts))
		})
	}
}

func TestConfigValidate(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	err := Config{RulesFile: "/nonexistent/rules.txt", MinChars: -1, MaxPageBytes: -1, ExtractTimeout: -time.Second}.Validate()
	require.ErrorContains(t, err, "-rules:")
	require.ErrorContains(t, err, "-min-chars:")
	require.ErrorContains(t, err, "-max-page-bytes:")
	require.ErrorContains(t, err, "-extract-timeout:")
}

func TestHandleTakesTheSameSiteCanonicalURL(t *testing.T) {
	n := newTestNormalizer(t, DefaultConfig())
	withCanonical := func(href string) string {
		return strings.Replace(page, "<head>", `<head><link rel="canonical" href="`+href+`">`, 1)
	}
	tests := []struct {
		name, body, want string
	}{
		{"relative, same site", withCanonical("/harbour-reopens#top"), "https://gazette.example/harbour-reopens"},
		{"www. aside", withCanonical("https://www.gazette.example/harbour-reopens"), "https://www.gazette.example/harbour-reopens"},
		{"other site ignored", withCanonical("https://other.example/harbour"), "https://gazette.example/harbour?utm=x"},
		{"none", page, "https://gazette.example/harbour?utm=x"},
		// The fetcher's canonical rule applies to the declared URL too: it
		// is the article the fetcher would have reached by that link.
		{"canonicalised", withCanonical("HTTPS://Gazette.EXAMPLE:443/harbour-reopens?utm_source=x&b=2&a=1#top"),
			"https://gazette.example/harbour-reopens?a=1&b=2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fetched := "https://gazette.example/harbour?utm=x"
			in := &newsflowv1.Article{Id: newsflowv1.ArticleID(fetched), Url: fetched, CanonicalUrl: fetched, Source: "gazette.example",
				Fetch: &newsflowv1.Fetch{Status: 200, ContentType: "text/html", Body: []byte(tc.body)}}
			out, err := n.Handle(context.Background(), in)
			require.NoError(t, err)
			require.Equal(t, tc.want, out.GetCanonicalUrl())
			require.Equal(t, newsflowv1.ArticleID(tc.want), out.GetId(), "the id follows the canonical URL")
			fetchedAs, err := canon.URL(tc.want + "#elsewhere")
			require.NoError(t, err)
			require.Equal(t, newsflowv1.ArticleID(fetchedAs), out.GetId(), "one id whether the fetcher or the page named the URL")
		})
	}
}
