package page

import (
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

// sharedDir finds the project's shared/ folder, a sibling of the repo root,
// by walking up from the package directory.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(".")
	require.NoError(t, err)
	for {
		candidate := filepath.Join(dir, "shared")
		if info, err := os.Stat(candidate); err == nil && info.IsDir() {
			return candidate
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no shared/ folder beside the repository")
		}
		dir = parent
	}
}

// Real pages served without a charset parameter come back as valid UTF-8.
func TestGetSharedCorpus(t *testing.T) {
	pattern := filepath.Join(sharedDir(t), "extraction-bench", "html", "*.html.gz")
	files, err := filepath.Glob(pattern)
	require.NoError(t, err)
	if len(files) == 0 {
		t.Skip("no pages in " + pattern)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, err := os.Open(filepath.Join(filepath.Dir(pattern), filepath.Base(r.URL.Path)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.Copy(w, zr)
	}))
	defer srv.Close()

	c := NewClient(ClientConfig{Policy: loopback, HostRate: -1, MaxBytes: 16 << 20})
	charsets := map[string]int{}
	for _, f := range files {
		name := filepath.Base(f)
		resp, err := c.Get(t.Context(), srv.URL+"/"+name, Conditional{})
		require.NoError(t, err, name)
		require.True(t, utf8.Valid(resp.Body), "%s (%s) is not valid UTF-8", name, resp.Charset)
		require.NotEmpty(t, resp.Body, name)
		require.False(t, strings.HasPrefix(string(resp.Body), "\uFEFF"), name)
		charsets[resp.Charset]++
	}
	t.Logf("charsets: %v", charsets)
}
