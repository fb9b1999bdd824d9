package fetcher

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/services/fetcher/page"
)

// writeTree creates files (path -> content) under a temp dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return dir
}

func TestIngestDirectory(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"a.html":                "<p>Alpha</p>",
		"nested/deeper/b.HTM":   "<p>Beta</p>",
		"nested/c.txt":          "Gamma, plain text.",
		"nested/latin1.txt":     "Caf\xe9 cr\xe8me",
		"with space/d.html":     "<p>Delta</p>",
		"notes.md":              "# not an article",
		"image.png":             "\x89PNG",
		".git/config.html":      "<p>hidden directories are skipped</p>",
		"nested/.cache/e.html":  "<p>also skipped</p>",
		"big/huge.html":         strings.Repeat("x", page.DefaultMaxBytes+1),
		"nested/deeper/ok.html": "<p>Epsilon</p>",
	})
	pub := &memPublisher{}
	stats, err := Ingest(t.Context(), dir, 0, pub)
	require.ErrorIs(t, err, page.ErrTooLarge, "the oversize file is reported")
	require.Equal(t, Stats{ItemsSeen: 7, Published: 6, Failed: map[string]int{ReasonTooLarge: 1}}, stats)

	got := map[string]*newsflowv1.Article{}
	for _, a := range pub.published() {
		got[a.Url] = a
	}
	tests := []struct {
		file, contentType, charset, body string
	}{
		{"a.html", "text/html", "utf-8", "<p>Alpha</p>"},
		{"nested/deeper/b.HTM", "text/html", "utf-8", "<p>Beta</p>"},
		{"nested/c.txt", "text/plain", "utf-8", "Gamma, plain text."},
		{"nested/latin1.txt", "text/plain", "windows-1252", "Café crème"},
		{"with space/d.html", "text/html", "utf-8", "<p>Delta</p>"},
		{"nested/deeper/ok.html", "text/html", "utf-8", "<p>Epsilon</p>"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			abs := filepath.Join(dir, filepath.FromSlash(tt.file))
			u := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
			a := got[u]
			require.NotNil(t, a, "published: %v", keys(got))
			require.Equal(t, u, a.CanonicalUrl)
			require.Equal(t, newsflowv1.ArticleID(u), a.Id)
			require.Equal(t, "file://"+filepath.ToSlash(dir), strings.ReplaceAll(a.Feed, "%20", " "))
			require.Equal(t, "file", a.Source)
			require.Equal(t, tt.contentType, a.Fetch.ContentType)
			require.Equal(t, tt.charset, a.Fetch.Charset)
			require.Equal(t, tt.body, pageBody(t, a))
			require.EqualValues(t, 200, a.Fetch.Status)
			require.NotEmpty(t, a.Fetch.LastModified)
			require.Len(t, a.ContentHash, 64)
			require.Len(t, a.Trace, 1)
			require.Equal(t, Name, a.Trace[0].Stage)
		})
	}
	_, spaced := got["file://"+filepath.ToSlash(filepath.Join(dir, "with%20space", "d.html"))]
	require.True(t, spaced, "paths are percent-encoded in file URLs")
}

func keys(m map[string]*newsflowv1.Article) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func TestIngestSingleFile(t *testing.T) {
	dir := writeTree(t, map[string]string{"story.html": "<p>One</p>", "notes.md": "no"})
	pub := &memPublisher{}
	stats, err := Ingest(t.Context(), filepath.Join(dir, "story.html"), 0, pub)
	require.NoError(t, err)
	require.Equal(t, Stats{ItemsSeen: 1, Published: 1}, stats)
	require.Equal(t, pub.published()[0].Feed, pub.published()[0].Url)

	_, err = Ingest(t.Context(), filepath.Join(dir, "notes.md"), 0, pub)
	require.ErrorContains(t, err, "not an .html, .htm or .txt file")
	_, err = Ingest(t.Context(), filepath.Join(dir, "missing"), 0, pub)
	require.ErrorIs(t, err, os.ErrNotExist)
}

func TestIngestStopsOnPublishFailure(t *testing.T) {
	dir := writeTree(t, map[string]string{"a.html": "<p>a</p>", "b.html": "<p>b</p>", "c.html": "<p>c</p>"})
	pub := &memPublisher{fail: func(a *newsflowv1.Article) bool { return strings.HasSuffix(a.Url, "/b.html") }}
	stats, err := Ingest(t.Context(), dir, 0, pub)
	require.ErrorContains(t, err, "jetstream unavailable")
	require.Equal(t, Stats{ItemsSeen: 2, Published: 1, Failed: map[string]int{ReasonPublish: 1}}, stats)
}

func TestIngestSkipsRefusedArticles(t *testing.T) {
	dir := writeTree(t, map[string]string{"a.html": "<p>a</p>", "b.html": "<p>b</p>", "c.html": "<p>c</p>"})
	pub := &memPublisher{refuse: func(a *newsflowv1.Article) bool { return strings.HasSuffix(a.Url, "/b.html") }}
	stats, err := Ingest(t.Context(), dir, 0, pub)
	require.ErrorContains(t, err, "payload limit", "the refusal is reported")
	require.Equal(t, Stats{ItemsSeen: 3, Published: 2, Failed: map[string]int{ReasonTooLarge: 1}}, stats, "the other files still go")
}

func TestIngestCapsTheDecodedBody(t *testing.T) {
	// 700 bytes of windows-1252 "é" decode to 1400 bytes of UTF-8.
	latin := strings.Repeat("\xe9", 700)
	dir := writeTree(t, map[string]string{"small.txt": "caf\xe9", "grows.txt": latin})
	pub := &memPublisher{}
	stats, err := Ingest(t.Context(), dir, 1024, pub)
	require.ErrorIs(t, err, page.ErrTooLarge)
	require.Equal(t, Stats{ItemsSeen: 2, Published: 1, Failed: map[string]int{ReasonTooLarge: 1}}, stats)
	require.Equal(t, "café", pageBody(t, pub.published()[0]))
}

func TestIngestSameFileSameID(t *testing.T) {
	dir := writeTree(t, map[string]string{"a.html": "<p>a</p>"})
	pub := &memPublisher{}
	for range 2 {
		_, err := Ingest(t.Context(), dir, 0, pub)
		require.NoError(t, err)
	}
	arts := pub.published()
	require.Len(t, arts, 2)
	require.Equal(t, arts[0].Id, arts[1].Id)
	require.Equal(t, arts[0].ContentHash, arts[1].ContentHash)
}
