package page

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const testCap = 4096

// newServer serves the routes the client tests use.
func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	fixture := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		require.NoError(t, err)
		return b
	}
	mux := http.NewServeMux()
	serve := func(path, contentType string, body []byte) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			if contentType != "" {
				w.Header().Set("Content-Type", contentType)
			}
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Last-Modified", "Mon, 02 Jun 2025 08:00:00 GMT")
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			_, _ = w.Write(body)
		})
	}
	serve("/utf8", "text/html; charset=utf-8", fixture("utf8.html"))
	serve("/meta-1252", "text/html", fixture("meta-1252.html"))
	serve("/latin1.xml", "application/rss+xml", fixture("latin1-decl.xml"))
	serve("/sniffed", "", fixture("utf8.html"))
	serve("/image", "image/png", []byte("\x89PNG\r\n\x1a\n"))
	serve("/at-cap", "text/plain", bytes.Repeat([]byte("a"), testCap))
	serve("/over-cap", "text/plain", bytes.Repeat([]byte("a"), testCap+1))
	mux.HandleFunc("/over-cap-chunked", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		for range 10 {
			_, _ = w.Write(bytes.Repeat([]byte("b"), testCap/4))
			w.(http.Flusher).Flush() // no Content-Length: the cap must hold while streaming
		}
	})
	mux.HandleFunc("/gzip-bomb", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = zw.Write(bytes.Repeat([]byte("z"), 100*testCap))
		_ = zw.Close()
	})
	mux.HandleFunc("/status/{code}", func(w http.ResponseWriter, r *http.Request) {
		var code int
		_, _ = fmt.Sscan(r.PathValue("code"), &code)
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(code)
	})
	mux.HandleFunc("/redirect/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		_, _ = fmt.Sscan(r.PathValue("n"), &n)
		target := "/utf8"
		if n > 1 {
			target = fmt.Sprintf("/redirect/%d", n-1)
		}
		http.Redirect(w, r, target, http.StatusFound)
	})
	mux.HandleFunc("/redirect-ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://files.example/x", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func testClient() *Client {
	return NewClient(ClientConfig{Policy: loopback, HostRate: -1, MaxBytes: testCap, MaxRedirects: 3, Timeout: 2 * time.Second})
}

func TestGet(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		path         string
		wantURL      string // path of the final URL
		wantType     string
		wantCharset  string
		wantContains string
	}{
		{"/utf8", "/utf8", "text/html", "utf-8", "naïve — café"},
		{"/meta-1252", "/meta-1252", "text/html", "windows-1252", "Crème"},
		{"/latin1.xml", "/latin1.xml", "application/rss+xml", "windows-1252", "<title>Café</title>"},
		{"/sniffed", "/sniffed", "text/html", "utf-8", "naïve"},
		{"/at-cap", "/at-cap", "text/plain", "utf-8", "aaaa"},
		{"/redirect/3", "/utf8", "text/html", "utf-8", "café"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := testClient().Get(t.Context(), srv.URL+tt.path, Conditional{})
			require.NoError(t, err)
			require.Equal(t, srv.URL+tt.wantURL, resp.URL)
			require.Equal(t, http.StatusOK, resp.Status)
			require.Equal(t, tt.wantType, resp.ContentType)
			require.Equal(t, tt.wantCharset, resp.Charset)
			require.Contains(t, string(resp.Body), tt.wantContains)
			require.Equal(t, `"v1"`, resp.ETag)
			require.Equal(t, "Mon, 02 Jun 2025 08:00:00 GMT", resp.LastModified)
			require.False(t, resp.NotModified)
			require.WithinDuration(t, time.Now(), resp.FetchedAt, time.Minute)
		})
	}
}

func TestGetConditional(t *testing.T) {
	srv := newServer(t)
	c := testClient()
	first, err := c.Get(t.Context(), srv.URL+"/latin1.xml", Conditional{})
	require.NoError(t, err)

	again, err := c.Get(t.Context(), srv.URL+"/latin1.xml", Conditional{ETag: first.ETag, LastModified: first.LastModified})
	require.NoError(t, err)
	require.True(t, again.NotModified)
	require.Equal(t, http.StatusNotModified, again.Status)
	require.Nil(t, again.Body)

	changed, err := c.Get(t.Context(), srv.URL+"/latin1.xml", Conditional{ETag: `"v0"`})
	require.NoError(t, err)
	require.False(t, changed.NotModified)
	require.NotEmpty(t, changed.Body)
}

func TestGetErrors(t *testing.T) {
	srv := newServer(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name      string
		url       string
		transient bool
		reason    error // a refusal sentinel, or nil
		status    int   // the StatusError code, or 0
		retry     time.Duration
	}{
		{name: "404", url: srv.URL + "/status/404", status: 404},
		{name: "410", url: srv.URL + "/status/410", status: 410},
		{name: "408", url: srv.URL + "/status/408", transient: true, status: 408},
		{name: "429", url: srv.URL + "/status/429", transient: true, status: 429, retry: 7 * time.Second},
		{name: "500", url: srv.URL + "/status/500", transient: true, status: 500},
		{name: "503", url: srv.URL + "/status/503", transient: true, status: 503, retry: 7 * time.Second},
		{name: "unconditional 304", url: srv.URL + "/status/304", status: 304},
		{name: "announced over cap", url: srv.URL + "/over-cap", reason: ErrTooLarge},
		{name: "streamed over cap", url: srv.URL + "/over-cap-chunked", reason: ErrTooLarge},
		{name: "decompressed over cap", url: srv.URL + "/gzip-bomb", reason: ErrTooLarge},
		{name: "image", url: srv.URL + "/image", reason: ErrUnsupportedContent},
		{name: "too many redirects", url: srv.URL + "/redirect/5", reason: ErrTooManyRedirects},
		{name: "redirect to ftp", url: srv.URL + "/redirect-ftp", reason: ErrUnsupportedScheme},
		{name: "ftp url", url: "ftp://files.example/x", reason: ErrUnsupportedScheme},
		{name: "file url", url: "file:///etc/hostname", reason: ErrUnsupportedScheme},
		{name: "unparseable url", url: "http://[::1"},
		{name: "connection refused", url: closed.URL + "/x", transient: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := testClient().Get(t.Context(), tt.url, Conditional{})
			require.Error(t, err)
			require.Nil(t, resp)
			require.Equal(t, tt.transient, errors.Is(err, ErrTransient), "transient: %v", err)
			require.Equal(t, !tt.transient, errors.Is(err, ErrPermanent), "permanent: %v", err)
			if tt.reason != nil {
				require.ErrorIs(t, err, tt.reason)
			}
			var se *StatusError
			require.Equal(t, tt.status != 0, errors.As(err, &se), "status error: %v", err)
			if se != nil {
				require.Equal(t, tt.status, se.Code)
				require.Equal(t, tt.retry, se.RetryAfter)
			}
		})
	}
}

func TestGetTimeouts(t *testing.T) {
	srv := newServer(t)

	t.Run("whole request", func(t *testing.T) {
		c := NewClient(ClientConfig{Policy: loopback, HostRate: -1, Timeout: 100 * time.Millisecond})
		_, err := c.Get(t.Context(), srv.URL+"/slow", Conditional{})
		require.ErrorIs(t, err, ErrTransient)
	})
	t.Run("response header", func(t *testing.T) {
		c := NewClient(ClientConfig{Policy: loopback, HostRate: -1, ResponseHeaderTimeout: 100 * time.Millisecond})
		_, err := c.Get(t.Context(), srv.URL+"/slow", Conditional{})
		require.ErrorIs(t, err, ErrTransient)
	})
	t.Run("caller cancels", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := testClient().Get(ctx, srv.URL+"/slow", Conditional{})
		require.ErrorIs(t, err, context.Canceled)
		require.NotErrorIs(t, err, ErrTransient)
		require.NotErrorIs(t, err, ErrPermanent)
	})
}

func TestGetSendsHeaders(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.Header().Set("Content-Type", "text/plain")
	}))
	defer srv.Close()
	c := NewClient(ClientConfig{Policy: loopback, HostRate: -1, UserAgent: "newsflow-test/0"})
	_, err := c.Get(t.Context(), srv.URL, Conditional{ETag: `"e"`, LastModified: "Mon, 02 Jun 2025 08:00:00 GMT"})
	require.NoError(t, err)
	require.Equal(t, "newsflow-test/0", got.Get("User-Agent"))
	require.Equal(t, `"e"`, got.Get("If-None-Match"))
	require.Equal(t, "Mon, 02 Jun 2025 08:00:00 GMT", got.Get("If-Modified-Since"))
	require.True(t, strings.HasPrefix(got.Get("Accept"), "text/html"))
}

func BenchmarkGet(b *testing.B) {
	body := bytes.Repeat([]byte("<p>news</p>"), 2000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	c := NewClient(ClientConfig{Policy: loopback, HostRate: -1})
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := c.Get(b.Context(), srv.URL, Conditional{}); err != nil {
			b.Fatal(err)
		}
	}
}
