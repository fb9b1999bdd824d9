package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/newsflow/newsflow/cmd/newsflow/samplesite"
	"github.com/newsflow/newsflow/services/sink/sink"
	"github.com/newsflow/newsflow/stage"
)

// BenchmarkPipeline is the load harness: one op is one sample-site article
// (its HTML page, written to a file) going through the whole all-in-one
// pipeline — fetch (ingest), normalize, tag, store — with default workers.
// It reports articles/s. Run with:
//
//	go test -run '^$' -bench Pipeline -benchtime 2000x ./pipeline/
func BenchmarkPipeline(b *testing.B) {
	pages := samplePages(b)
	dir := b.TempDir()
	for i := range b.N {
		name := filepath.Join(dir, fmt.Sprintf("%06d.html", i))
		if err := os.WriteFile(name, pages[i%len(pages)], 0o644); err != nil {
			b.Fatal(err)
		}
	}
	p := startPipeline(b, dir, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	b.ResetTimer()
	start := time.Now()
	st, err := p.Fetcher().Once(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.WaitIdle(ctx); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if st.Published != b.N {
		b.Fatalf("published %d of %d", st.Published, b.N)
	}
	if stored := p.Telemetry().MessageCount(sink.Name, stage.OutcomeOK); stored != float64(b.N) {
		b.Fatalf("stored %.0f of %d", stored, b.N)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "articles/s")
}

// samplePages renders every sample-site article page.
func samplePages(tb testing.TB) [][]byte {
	srv := httptest.NewServer(samplesite.Handler())
	defer srv.Close()
	var pages [][]byte
	for _, a := range samplesite.Articles() {
		resp, err := srv.Client().Get(srv.URL + a.Path())
		if err != nil {
			tb.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			tb.Fatal(err)
		}
		pages = append(pages, body)
	}
	return pages
}
