package pipeline_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/cmd/newsflow/pipeline"
	"github.com/newsflow/newsflow/services/fetcher/fetcher"
	"github.com/newsflow/newsflow/services/normalizer/normalizer"
	"github.com/newsflow/newsflow/services/sink/sink"
	"github.com/newsflow/newsflow/stage"
)

// TestPipelineStoresAndDeadLetters runs the all-in-one over two sample pages
// and one page without an article: the pages are stored, the poison one is
// reported as a dead letter with its reason, and the one HTTP address serves
// the API, readiness and metrics.
func TestPipelineStoresAndDeadLetters(t *testing.T) {
	pages := samplePages(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.html"), pages[0], 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.html"), pages[1], 0o644))
	poison := filepath.Join(dir, "poison.html")
	require.NoError(t, os.WriteFile(poison, []byte("<html><body><nav>Home</nav></body></html>"), 0o644))

	p := startPipeline(t, dir, "127.0.0.1:0")

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	st, err := p.Fetcher().Once(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, st.Published)
	require.NoError(t, p.WaitIdle(ctx))

	tel := p.Telemetry()
	require.Equal(t, float64(2), tel.MessageCount(sink.Name, stage.OutcomeOK))
	require.Equal(t, float64(1), tel.MessageCount(normalizer.Name, stage.OutcomeDeadLettered))
	dead := p.DeadLetters()
	require.Len(t, dead, 1)
	require.Equal(t, normalizer.Name, dead[0].Stage)
	require.Equal(t, "empty_extraction", dead[0].Reason)
	require.Equal(t, "file://"+poison, dead[0].URL())

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + p.Addr + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	code, body := get("/readyz")
	require.Equal(t, http.StatusOK, code, body)
	code, body = get("/api/v1/articles")
	require.Equal(t, http.StatusOK, code)
	var list struct {
		Articles []struct {
			ID    string `json:"id"`
			Story struct {
				ID string `json:"id"`
			} `json:"story"`
			Entities []struct {
				Name string `json:"name"`
			} `json:"entities"`
		} `json:"articles"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &list), body)
	require.Len(t, list.Articles, 2, body)
	for _, a := range list.Articles {
		// The tagger's story links and entities reach the store and the API.
		require.NotEmpty(t, a.Story.ID, body)
		require.NotEmpty(t, a.Entities, body)
	}
	code, body = get("/metrics")
	require.Equal(t, http.StatusOK, code)
	for _, name := range []string{"newsflow_messages_total", "newsflow_consumer_pending_messages", "newsflow_fetch_to_stored_seconds", "newsflow_tags_assigned_total", "newsflow_empty_extractions_total"} {
		require.Contains(t, body, name)
	}
}

// startPipeline starts the all-in-one over the files in dir, with its data in
// a temporary directory, quiet logs and HTTP on httpAddr ("" for none). It
// is closed when the test ends.
func startPipeline(tb testing.TB, dir, httpAddr string) *pipeline.Pipeline {
	tb.Helper()
	data := tb.TempDir()
	cfg := stage.DefaultConfig()
	cfg.LogLevel = "error"
	fo := fetcher.DefaultConfig()
	fo.Ingest = dir
	p, err := pipeline.Start(context.Background(), pipeline.Options{
		DataDir:    data,
		HTTPAddr:   httpAddr,
		Stage:      cfg,
		Fetcher:    fo,
		Normalizer: normalizer.DefaultConfig(),
		Sink:       sink.Config{Store: "sqlite:" + filepath.Join(data, "newsflow.db")},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := p.Close(); err != nil {
			tb.Error(err)
		}
	})
	return p
}
