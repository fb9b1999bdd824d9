package stage

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
)

func TestBodyRoundTrip(t *testing.T) {
	page := []byte("<html><body>" + strings.Repeat("<p>The council voted on the budget today.</p>", 20_000) + "</body></html>")
	f := &newsflowv1.Fetch{Body: bytes.Clone(page)}
	CompressBody(f)
	require.Equal(t, BodyZstd, f.GetBodyEncoding())
	require.Less(t, len(f.GetBody()), len(page)/4, "HTML compresses")
	packed := bytes.Clone(f.GetBody())
	CompressBody(f) // already compressed: left alone
	require.Equal(t, packed, f.GetBody())
	got, err := FetchBody(f)
	require.NoError(t, err)
	require.Equal(t, page, got)

	plain := &newsflowv1.Fetch{Body: []byte("<p>as is</p>")}
	got, err = FetchBody(plain)
	require.NoError(t, err)
	require.Equal(t, "<p>as is</p>", string(got), "an uncompressed body (older fetchers) reads as is")
	empty := &newsflowv1.Fetch{}
	CompressBody(empty)
	require.Empty(t, empty.GetBodyEncoding())
}

func TestBadBodiesArePermanent(t *testing.T) {
	for name, f := range map[string]*newsflowv1.Fetch{
		"corrupt": {Body: []byte("not zstd at all"), BodyEncoding: BodyZstd},
		"unknown": {Body: []byte("x"), BodyEncoding: "brotli"},
	} {
		_, err := FetchBody(f)
		require.ErrorIs(t, err, ErrBody, name)
		reason, ok := permanentReason(err)
		require.True(t, ok, name)
		require.Equal(t, "body", reason, name)
	}
	// A frame that would expand past MaxBodyBytes is refused, not
	// allocated.
	bomb := &newsflowv1.Fetch{Body: make([]byte, MaxBodyBytes+1)}
	CompressBody(bomb)
	_, err := FetchBody(bomb)
	require.ErrorIs(t, err, ErrBody)
}

// BenchmarkPageBody compresses and reads back the extraction benchmark's
// pages (../shared, when present): the cost the fetcher and the normalizer
// pay per page, and the bytes a message carries.
func BenchmarkPageBody(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "shared", "extraction-bench", "html", "*.html.gz"))
	if len(files) == 0 {
		b.Skip("../shared/extraction-bench not present")
	}
	var pages [][]byte
	var raw int
	for _, f := range files {
		gz, err := os.ReadFile(f)
		require.NoError(b, err)
		r, err := gzip.NewReader(bytes.NewReader(gz))
		require.NoError(b, err)
		p, err := io.ReadAll(r)
		require.NoError(b, err)
		pages = append(pages, p)
		raw += len(p)
	}
	b.SetBytes(int64(raw / len(pages)))
	packed := 0
	for i := 0; b.Loop(); i++ {
		f := &newsflowv1.Fetch{Body: pages[i%len(pages)]}
		CompressBody(f)
		packed += len(f.GetBody())
		if _, err := FetchBody(f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(raw)/float64(len(pages))/(float64(packed)/float64(b.N)), "ratio")
}
