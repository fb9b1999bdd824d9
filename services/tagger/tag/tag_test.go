package tag

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/newsflow/newsflow/services/tagger/internal/sharedtest"
	"github.com/newsflow/newsflow/services/tagger/token"
	"github.com/stretchr/testify/require"
)

// article reads testdata or seed files: the first line is the title.
func article(t testing.TB, path string) (title, text string) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	title, text, _ = strings.Cut(string(b), "\n")
	return title, text
}

func TestTagFixtures(t *testing.T) {
	tests := []struct {
		file, lang, topic, keyword string
	}{
		{"en_politics.txt", "en", "medtop:11000000", "parliament"},
		{"de_economy.txt", "de", "medtop:04000000", "Gewinnprognose"},
		{"fr_sport.txt", "fr", "medtop:15000000", "supporters"},
		{"uk_war.txt", "uk", "medtop:16000000", "оборона"},
	}
	tagger := New(nil)
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			title, text := article(t, filepath.Join("testdata", tt.file))
			got := tagger.Tag(title, text)
			require.Equal(t, tt.lang, got.Language)
			require.Greater(t, got.LanguageConfidence, 0.0)
			require.NotEmpty(t, got.Topics)
			require.Equal(t, tt.topic, got.Topics[0].Code, "%+v", got.Topics)
			require.NotEmpty(t, got.Keywords)
			require.LessOrEqual(t, len(got.Keywords), keywordCount)
			require.True(t, hasKeyword(got, tt.lang, tt.keyword), "want %q in %+v", tt.keyword, got.Keywords)
		})
	}
}

func TestTagEmpty(t *testing.T) {
	got := New(nil).Tag("", "")
	require.Equal(t, Result{Language: "und"}, got)
}

// TestTagSeeds checks the five shared seed articles (English, Ukraine peace
// talks). Their first line is not always a headline, so the whole file is
// the text.
func TestTagSeeds(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(sharedtest.Dir(t, "seeds"), "*.txt"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	// Politics (diplomacy, summits) or conflict, war and peace (peace
	// process) are both right for peace talks.
	politicsRelated := map[string]bool{"medtop:11000000": true, "medtop:16000000": true}
	tagger := New(nil)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			require.NoError(t, err)
			got := tagger.Tag("", string(b))
			require.Equal(t, "en", got.Language)
			require.NotEmpty(t, got.Topics)
			require.True(t, politicsRelated[got.Topics[0].Code], "%+v", got.Topics)
			require.Len(t, got.Keywords, keywordCount)
			require.True(t, hasAnyKeyword(got, "Ukraine", "Zelenskyy", "Zelensky", "Kyiv"), "%+v", got.Keywords)
			require.True(t, hasAnyKeyword(got, "Putin", "Russia", "Kremlin", "peace", "talks", "summit"), "%+v", got.Keywords)
			t.Logf("topics %+v", got.Topics)
			t.Logf("keywords %+v", got.Keywords)
		})
	}
}

func TestTagConcurrent(t *testing.T) {
	tagger := New(nil)
	title, text := article(t, filepath.Join("testdata", "en_politics.txt"))
	want := tagger.Tag(title, text)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				require.Equal(t, want, tagger.Tag(title, text))
			}
		})
	}
	wg.Wait()
}

// hasKeyword reports whether a keyword holds word, compared by stem so that
// another inflection of the word counts.
func hasKeyword(r Result, lang, word string) bool {
	want := token.Stem(lang, strings.ToLower(word))
	for _, k := range r.Keywords {
		for _, w := range strings.Fields(k.Term) {
			if token.Stem(lang, strings.ToLower(w)) == want {
				return true
			}
		}
	}
	return false
}

func hasAnyKeyword(r Result, words ...string) bool {
	for _, w := range words {
		if hasKeyword(r, "en", w) {
			return true
		}
	}
	return false
}

func BenchmarkTag(b *testing.B) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.txt"))
	require.NoError(b, err)
	type doc struct{ title, text string }
	var docs []doc
	for _, f := range files {
		title, text := article(b, f)
		docs = append(docs, doc{title, text})
	}
	tagger := New(nil)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		d := docs[i%len(docs)]
		tagger.Tag(d.title, d.text)
		i++
	}
}

// BenchmarkTagSeeds tags the seed articles of about 600 words (001-003):
// the throughput figure of the issue, one core (run with -cpu 1).
func BenchmarkTagSeeds(b *testing.B) {
	dir := sharedtest.Dir(b, "seeds")
	var texts []string
	for _, p := range []string{"001", "002", "003"} {
		m, err := filepath.Glob(filepath.Join(dir, p+"_*.txt"))
		require.NoError(b, err)
		require.Len(b, m, 1)
		bs, err := os.ReadFile(m[0])
		require.NoError(b, err)
		texts = append(texts, string(bs))
	}
	tagger := New(nil)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		tagger.Tag("", texts[i%len(texts)])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "articles/s")
}
