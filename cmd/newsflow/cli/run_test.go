package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/cmd/newsflow/samplesite"
	"github.com/newsflow/newsflow/services/sink/store"
)

// runCLI runs the command line in-process and returns its stdout.
func runCLI(t *testing.T, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(args, strings.NewReader(""), &stdout, &stderr)
	require.Equal(t, 0, code, "newsflow %v\nstdout:\n%s\nstderr:\n%s", args, stdout.String(), stderr.String())
	return stdout.String()
}

// runOnce runs "newsflow run -once" on loopback ports with extra args.
func runOnce(t *testing.T, data string, extra ...string) string {
	args := append([]string{"run", "-once", "-data", data, "-http", "127.0.0.1:0", "-progress", "0"}, extra...)
	return runCLI(t, args...)
}

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func exported(t *testing.T, data string) []store.Article {
	t.Helper()
	out := runCLI(t, "export", "-data", data)
	var all []store.Article
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var a store.Article
		require.NoError(t, json.Unmarshal(sc.Bytes(), &a))
		all = append(all, a)
	}
	return all
}

// TestRunOnceStoresTheSampleSiteCleanly is the first thing a user does: every
// sample article is stored with exactly its paragraphs (no boilerplate line,
// none lost), a title, a language and topics.
func TestRunOnceStoresTheSampleSiteCleanly(t *testing.T) {
	data, site := t.TempDir(), freeAddr(t)
	out := runOnce(t, data, "-sample-addr", site)
	want := samplesite.Articles()
	require.Contains(t, out, "dead letters: none")
	require.Contains(t, out, "topics: ")

	stored := exported(t, data)
	require.Len(t, stored, len(want))
	byTitle := map[string]store.Article{}
	for _, a := range stored {
		byTitle[a.Title] = a
	}
	boiler := map[string]bool{}
	for _, l := range samplesite.BoilerplateLines() {
		boiler[l] = true
	}
	for _, w := range want {
		got, ok := byTitle[w.Title]
		require.True(t, ok, "article %q not stored under its title", w.Title)
		lines := strings.Split(got.Text, "\n")
		for _, l := range lines {
			require.False(t, boiler[l], "%s: boilerplate line %q kept", w.Slug, l)
		}
		require.Equal(t, w.Paragraphs, lines, "%s: text is not exactly the article's paragraphs", w.Slug)
		require.Equal(t, w.Language, got.Language, w.Slug)
		require.Equal(t, w.Author, got.Byline, w.Slug)
		require.NotNil(t, got.Published, w.Slug)
		require.True(t, got.Published.Equal(w.Published), "%s: published %v, want %v", w.Slug, got.Published, w.Published)
		require.NotEmpty(t, got.Topics, w.Slug)
		require.NotEmpty(t, got.Keywords, w.Slug)
	}

	// A second run finds nothing new: the seen-set survives the restart.
	again := runOnce(t, data, "-sample-addr", site)
	require.Contains(t, again, "0 new articles published")
	require.Len(t, exported(t, data), len(want))
}

// seedsDir finds shared/seeds beside the repository, when present.
func seedsDir(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "..", "..", "..", "shared", "seeds")
	if _, err := os.Stat(dir); err != nil {
		t.Skip("shared/seeds not present")
	}
	return dir
}

// TestRunOnceIngestsSeeds stores the five seed articles without their
// boilerplate.
func TestRunOnceIngestsSeeds(t *testing.T) {
	data := t.TempDir()
	out := runOnce(t, data, "-ingest", seedsDir(t))
	require.Contains(t, out, "dead letters: none")
	stored := exported(t, data)
	require.Len(t, stored, 5)
	for _, a := range stored {
		for _, junk := range []string{"Have the article read by", "Read full bio", "You Might Also Like", "| BGNES", "enr Key Story", "––––", "Read the fact check", "William Lee is an acclaimed"} {
			require.NotContains(t, a.Text, junk, a.URL)
		}
		require.Equal(t, "en", a.Language, a.URL)
		require.True(t, slices.ContainsFunc(a.Topics, func(tp store.Topic) bool {
			return tp.Code == "medtop:11000000" || tp.Code == "medtop:16000000"
		}), "%s: topics %v lack politics or conflict", a.URL, a.Topics)
	}
}

// TestRunOnceRefetchRebuildsALostStore: the store is lost while the streams
// and the seen-set survive. A plain second run stores nothing (the sample
// site's articles are seen); -refetch fetches and stores them all again.
func TestRunOnceRefetchRebuildsALostStore(t *testing.T) {
	data, site := t.TempDir(), freeAddr(t)
	runOnce(t, data, "-sample-addr", site)
	n := len(exported(t, data))
	require.Positive(t, n)
	for _, suffix := range []string{"", "-wal", "-shm"} {
		require.NoError(t, os.RemoveAll(filepath.Join(data, "newsflow.db"+suffix)))
	}

	out := runOnce(t, data, "-sample-addr", site)
	require.Contains(t, out, "done in")
	require.Regexp(t, `\b0 new articles published`, out)
	require.Empty(t, exported(t, data), "the seen-set keeps a plain run from fetching again")

	out = runOnce(t, data, "-sample-addr", site, "-refetch")
	require.Regexp(t, fmt.Sprintf(`\b%d new articles published`, n), out)
	require.Len(t, exported(t, data), n, "every article stored again")

	code, out := cli("run", "-refetch", "-data", data)
	require.Equal(t, 2, code, "-refetch without -once is refused: %s", out)
}

// TestRunOnceDrainsDespiteFailures: some inputs of a run -once fail (here
// a page over -max-bytes). The run still carries every page it published
// to the store, prints the summary with the failures, and exits 1.
func TestRunOnceDrainsDespiteFailures(t *testing.T) {
	data, in := t.TempDir(), t.TempDir()
	h := samplesite.Handler()
	arts := samplesite.Articles()[:6]
	for _, a := range arts {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://site.example"+a.Path(), nil))
		require.Equal(t, http.StatusOK, rec.Code)
		require.NoError(t, os.WriteFile(filepath.Join(in, a.Slug+".html"), rec.Body.Bytes(), 0o644))
	}
	big := "<html><body><p>" + strings.Repeat("word ", 60_000) + "</p></body></html>"
	require.NoError(t, os.WriteFile(filepath.Join(in, "big.html"), []byte(big), 0o644))

	var stdout, stderr bytes.Buffer
	code := Main([]string{"run", "-once", "-data", data, "-http", "127.0.0.1:0", "-progress", "0", "-ingest", in, "-max-bytes", "200000"},
		strings.NewReader(""), &stdout, &stderr)
	require.Equal(t, 1, code, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	require.Contains(t, stdout.String(), "fetch failures too_large: 1")
	require.Contains(t, stdout.String(), "dead letters: none")
	require.Contains(t, stderr.String(), "big.html")
	require.Len(t, exported(t, data), len(arts), "every page published before and after the failure is stored")
}
