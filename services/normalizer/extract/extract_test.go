package extract

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// newExtractor has no time limit unless opts set one: what a test checks
// must not depend on how busy the machine is (the -race build on two shared
// cores is slow).
func newExtractor(t testing.TB, opts ...Option) *Extractor {
	t.Helper()
	e, err := New(append([]Option{WithTimeout(0)}, opts...)...)
	require.NoError(t, err)
	return e
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func TestExtractFixtures(t *testing.T) {
	tests := []struct {
		file, contentType, url string
		want                   Document // Text comes from <file>.want.txt
		rules                  []string // rules that must fire
	}{
		{
			file: "harbour.html", contentType: "text/html; charset=utf-8",
			url: "https://courier.example/news/2025/03/harbour-bridge-reopens?utm_source=feed",
			want: Document{
				Title:        "Harbour bridge reopens after two-year repair",
				Byline:       "Mara Lindqvist",
				Published:    time.Date(2025, 3, 14, 8, 30, 0, 0, time.UTC),
				Modified:     time.Date(2025, 3, 14, 10, 5, 0, 0, time.UTC),
				Language:     "en",
				SiteName:     "The Coastal Courier",
				CanonicalURL: "https://courier.example/news/2025/03/harbour-bridge-reopens",
				LeadImageURL: "https://courier.example/img/bridge-1200.jpg",
			},
		},
		{
			file: "stadtrat.html", contentType: "", url: "https://rheintal.example/lokales/busnetz",
			want: Document{
				Title:        "Stadtrat beschließt neues Busnetz",
				Byline:       "Jonas Weber",
				Published:    time.Date(2025, 5, 2, 0, 0, 0, 0, time.UTC),
				Language:     "de",
				SiteName:     "Rheintal Anzeiger",
				LeadImageURL: "https://cdn.rheintal.example/bus.jpg",
			},
			rules: []string{"agency-signoff"},
		},
		{
			file: "wrapped.txt", contentType: "text/plain",
			want:  Document{Title: "Council Votes to Extend Tram Line", Language: "en"},
			rules: []string{"advertisement", "copyright", "listen-player"},
		},
		{
			file: "perline.txt", contentType: "",
			want:  Document{Language: "uk"}, // declares none: detected from the text
			rules: []string{"advertisement", "listen-player", "newsletter", "read-more-inline", "related-tail"},
		},
	}
	e := newExtractor(t)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := readFixture(t, tt.file)
			want := string(readFixture(t, strings.TrimSuffix(tt.file, filepath.Ext(tt.file))+".want.txt"))
			got, err := e.Extract(body, tt.contentType, tt.url)
			require.NoError(t, err)
			require.Equal(t, want, got.Text)
			require.Equal(t, tt.want.Title, got.Title)
			require.Equal(t, tt.want.Byline, got.Byline)
			require.True(t, tt.want.Published.Equal(got.Published), "published %v", got.Published)
			require.True(t, tt.want.Modified.Equal(got.Modified), "modified %v", got.Modified)
			require.Equal(t, tt.want.Language, got.Language)
			require.Equal(t, tt.want.SiteName, got.SiteName)
			require.Equal(t, tt.want.CanonicalURL, got.CanonicalURL)
			require.Equal(t, tt.want.LeadImageURL, got.LeadImageURL)
			require.Equal(t, int64(len(body)-len(got.Text)), got.BytesRemoved)
			require.Subset(t, got.Rules, tt.rules)
			require.IsNonDecreasing(t, got.Rules)
			require.Equal(t, len(got.Rules) > 0, got.LinesRemoved > 0 || strings.Contains(strings.Join(got.Rules, ","), "signoff"))
		})
	}
}

func TestExtractErrors(t *testing.T) {
	long := strings.Repeat("A sentence of an article that is long enough. ", 10)
	tests := []struct {
		name, body, contentType string
		opts                    []Option
		want                    error
	}{
		{name: "pdf", body: "%PDF-1.7", contentType: "application/pdf", want: ErrUnsupported},
		{name: "image", body: "\x89PNG", contentType: "image/png", want: ErrUnsupported},
		{name: "empty text", body: "", contentType: "text/plain", want: ErrEmpty},
		{name: "only boilerplate", body: "Advertisement\nShare on Facebook\n© 2025 Example", contentType: "text/plain", want: ErrEmpty},
		{name: "too short", body: "One short paragraph.", contentType: "text/plain", want: ErrEmpty},
		{name: "short allowed", body: "One short paragraph.", contentType: "text/plain", opts: []Option{WithMinChars(5)}},
		{name: "empty html", body: "<html><body><nav>Home</nav></body></html>", contentType: "text/html", want: ErrEmpty},
		{name: "long text", body: long, contentType: "TEXT/PLAIN; charset=utf-8"},
		{name: "sniffed html", body: "<p>" + long + "</p>", contentType: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newExtractor(t, tt.opts...)
			d, err := e.Extract([]byte(tt.body), tt.contentType, "")
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want)
				require.Nil(t, d)
				return
			}
			require.NoError(t, err)
			require.NotEmpty(t, d.Text)
		})
	}
}

func TestNewOptions(t *testing.T) {
	_, err := New(WithMinChars(-1))
	require.Error(t, err)
	_, err = New(WithRulesFile(filepath.Join(t.TempDir(), "missing.rules")))
	require.Error(t, err)

	path := filepath.Join(t.TempDir(), "site.rules")
	require.NoError(t, os.WriteFile(path, []byte(`host rheintal.example
disable agency-signoff
rule lokales-teaser
kind drop
match ^Mehr aus Lokales
in Absatz.\nMehr aus Lokales: Titel
out Absatz.
`), 0o600))
	e := newExtractor(t, WithRulesFile(path), WithMinChars(0))
	body := []byte("Ein Absatz über den Stadtrat. – dpa\nMehr aus Lokales: Baustelle\nDer letzte Absatz. – dpa")
	d, err := e.Extract(body, "text/plain", "https://www.rheintal.example/a")
	require.NoError(t, err)
	require.Equal(t, "Ein Absatz über den Stadtrat. – dpa\nDer letzte Absatz. – dpa", d.Text)
	require.Equal(t, []string{"lokales-teaser"}, d.Rules)

	d, err = e.Extract(body, "text/plain", "https://other.example/a")
	require.NoError(t, err)
	require.Equal(t, "Ein Absatz über den Stadtrat. – dpa\nMehr aus Lokales: Baustelle\nDer letzte Absatz.", d.Text)
	require.Equal(t, []string{"agency-signoff"}, d.Rules)
}

func TestExtractConcurrent(t *testing.T) {
	e := newExtractor(t)
	body := readFixture(t, "harbour.html")
	want, err := e.Extract(body, "text/html", "https://courier.example/")
	require.NoError(t, err)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			got, err := e.Extract(body, "text/html", "https://courier.example/")
			if err == nil && got.Text != want.Text {
				err = errors.New("text differs between goroutines")
			}
			errs <- err
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
}

func BenchmarkExtract(b *testing.B) {
	e := newExtractor(b, WithMinChars(0))
	for _, name := range []string{"harbour.html", "stadtrat.html", "wrapped.txt", "perline.txt"} {
		body := readFixture(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := e.Extract(body, "", "https://news.example/a"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestBinaryIsRefused: random bytes are not a page. Before, they came out as
// a "text" of U+FFFD and extract exited 0.
func TestBinaryIsRefused(t *testing.T) {
	ex, err := New()
	require.NoError(t, err)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		body := make([]byte, 2000+rng.IntN(8000))
		for i := range body {
			body[i] = byte(rng.UintN(256))
		}
		_, err := ex.Extract(body, "", "")
		require.ErrorIs(t, err, ErrUnsupported)
		_, err = ex.Extract(body, "text/html", "")
		require.ErrorIs(t, err, ErrUnsupported)
	}
	doc, err := ex.Extract([]byte("<html><body><article><p>"+strings.Repeat("Ferries ran late at the harbour today. ", 20)+"</p></article></body></html>"), "", "")
	require.NoError(t, err)
	require.Contains(t, doc.Text, "Ferries")
}
