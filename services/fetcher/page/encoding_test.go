package page

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/stretchr/testify/require"
)

func compressWith(t *testing.T, enc string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "gzip":
		w = gzip.NewWriter(&buf)
	case "deflate":
		w = zlib.NewWriter(&buf)
	case "raw-deflate":
		w, _ = flate.NewWriter(&buf, flate.BestCompression)
	case "br":
		w = brotli.NewWriter(&buf)
	}
	_, err := w.Write(data)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return buf.Bytes()
}

func TestContentEncodings(t *testing.T) {
	page := []byte("<html><body><p>Harbour news</p></body></html>")
	bomb := bytes.Repeat([]byte("z"), 1000*testCap) // ~4 MB that compresses to a few KB
	for _, enc := range []string{"gzip", "deflate", "raw-deflate", "br"} {
		t.Run(enc, func(t *testing.T) {
			header := enc
			if enc == "raw-deflate" {
				header = "deflate"
			}
			small, big := compressWith(t, enc, page), compressWith(t, enc, bomb)
			require.Less(t, len(big), testCap, "the bomb must be small on the wire")
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				require.Contains(t, r.Header.Get("Accept-Encoding"), "br")
				w.Header().Set("Content-Type", "text/html")
				w.Header().Set("Content-Encoding", header)
				if r.URL.Path == "/bomb" {
					_, _ = w.Write(big)
					return
				}
				_, _ = w.Write(small)
			}))
			defer srv.Close()
			resp, err := testClient().Get(t.Context(), srv.URL+"/page", Conditional{})
			require.NoError(t, err)
			require.Equal(t, string(page), string(resp.Body))

			_, err = testClient().Get(t.Context(), srv.URL+"/bomb", Conditional{})
			require.ErrorIs(t, err, ErrTooLarge)
			require.Equal(t, ClassTooLarge, ErrorClass(err))
		})
	}
	t.Run("unknown", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Encoding", "zstd-ish")
			_, _ = w.Write(page)
		}))
		defer srv.Close()
		_, err := testClient().Get(t.Context(), srv.URL, Conditional{})
		require.ErrorIs(t, err, ErrBadEncoding)
		require.ErrorIs(t, err, ErrPermanent)
	})
}

func TestCacheFor(t *testing.T) {
	now := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		header http.Header
		want   time.Duration
	}{
		{http.Header{}, 0},
		{http.Header{"Cache-Control": {"public, max-age=600"}}, 10 * time.Minute},
		{http.Header{"Cache-Control": {"no-cache"}, "Expires": {"Mon, 02 Jun 2025 09:00:00 GMT"}}, 0},
		{http.Header{"Expires": {"Mon, 02 Jun 2025 09:00:00 GMT"}}, time.Hour},
		{http.Header{"Expires": {"Mon, 02 Jun 2025 09:00:00 GMT"}, "Date": {"Mon, 02 Jun 2025 08:30:00 GMT"}}, 30 * time.Minute},
		{http.Header{"Expires": {"0"}}, 0},
		{http.Header{"Cache-Control": {"max-age=600"}, "Expires": {"Mon, 02 Jun 2025 09:00:00 GMT"}}, 10 * time.Minute},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, cacheFor(tt.header, now), "%v", tt.header)
	}
}

func TestErrorClassOfTimeoutsAndConnect(t *testing.T) {
	srv := newServer(t)
	c := NewClient(ClientConfig{Policy: loopback, HostRate: -1, ResponseHeaderTimeout: 100 * time.Millisecond})
	_, err := c.Get(t.Context(), srv.URL+"/slow", Conditional{})
	require.Equal(t, ClassTimeout, ErrorClass(err), "%v", err)

	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	_, err = testClient().Get(t.Context(), closed.URL, Conditional{})
	require.Equal(t, ClassConnect, ErrorClass(err), "%v", err)

	_, err = testClient().Get(t.Context(), srv.URL+"/status/503", Conditional{})
	require.Equal(t, ClassHTTPStatus, ErrorClass(err))

	c = NewClient(ClientConfig{HostRate: -1, Resolver: fakeResolver{}})
	_, err = c.Get(t.Context(), "http://nowhere.example/", Conditional{})
	require.Equal(t, ClassDNS, ErrorClass(err), "%v", err)

	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler()) // self-signed: not trusted
	defer tlsSrv.Close()
	_, err = testClient().Get(t.Context(), tlsSrv.URL, Conditional{})
	require.Equal(t, ClassTLS, ErrorClass(err), "%v", err)
}
