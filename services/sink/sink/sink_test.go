package sink

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/stage"
)

func newTestSink(t *testing.T) (*Sink, *store.Store) {
	t.Helper()
	st, err := store.Open(t.Context(), ":memory:")
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	s, err := New(st, prometheus.NewRegistry())
	require.NoError(t, err)
	return s, st
}

func tagged(hash, text string) *newsflowv1.Article {
	pub := time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)
	return &newsflowv1.Article{
		Id: newsflowv1.ArticleID("https://gazette.example/a"), Url: "https://gazette.example/a",
		CanonicalUrl: "https://gazette.example/a", Source: "gazette.example", ContentHash: hash,
		Fetch:      &newsflowv1.Fetch{FetchedAt: timestamppb.Now(), FeedTitle: "Feed title"},
		Normalized: &newsflowv1.Normalized{Byline: "Ana Ruiz", Text: text, PublishedAt: timestamppb.New(pub)},
		Tagged: &newsflowv1.Tagged{Language: "en",
			Topics:   []*newsflowv1.Topic{{Code: "medtop:15000000", Label: "sport", Score: 0.6, Level: 1}},
			Keywords: []*newsflowv1.Keyword{{Term: "cup final", Score: 1}, {Term: "Rovers", Score: 0.5}}},
	}
}

func TestHandleStoresOnceAndUpdatesOnNewContent(t *testing.T) {
	s, st := newTestSink(t)
	ctx := context.Background()
	a := tagged("h1", "Rovers won the cup final.")

	out, err := s.Handle(ctx, a)
	require.NoError(t, err)
	require.Nil(t, out, "the sink publishes nothing")
	got, err := st.Get(ctx, a.GetId())
	require.NoError(t, err)
	require.Equal(t, "Feed title", got.Title, "the feed's title stands in for a missing page title")
	require.Equal(t, "Ana Ruiz", got.Byline)
	require.Equal(t, []string{"cup final", "Rovers"}, got.Keywords)
	require.Equal(t, "medtop:15000000", got.Topics[0].Code)
	require.Equal(t, 2026, got.Published.Year())

	_, err = s.Handle(ctx, a)
	require.ErrorIs(t, err, stage.ErrDuplicate, "a redelivery is a duplicate")

	replayed := tagged("h1", "Rovers won the cup final.")
	replayed.Tagged.Topics[0].Score = 0.9 // the same page through a newer tagger
	replayed.Fetch.FetchedAt = a.Fetch.FetchedAt
	_, err = s.Handle(ctx, replayed)
	require.NoError(t, err, "a re-processed article is written")

	v2 := tagged("h2", "Rovers won the cup final after extra time.")
	_, err = s.Handle(ctx, v2)
	require.NoError(t, err)
	_, err = s.Handle(ctx, a)
	require.ErrorIs(t, err, stage.ErrDuplicate, "an older version arriving late is skipped")
	got, err = st.Get(ctx, a.GetId())
	require.NoError(t, err)
	require.Equal(t, "Rovers won the cup final after extra time.", got.Text)
	n, err := st.Count(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestHandleStoreErrors(t *testing.T) {
	s, st := newTestSink(t)
	ctx := context.Background()

	bad := tagged("", "no hash")
	_, err := s.Handle(ctx, bad)
	var pe *stage.PermanentError
	require.True(t, errors.As(err, &pe), "an invalid article is permanent: %v", err)

	require.NoError(t, st.Close())
	_, err = s.Handle(ctx, tagged("h3", "text"))
	require.Error(t, err)
	require.False(t, errors.As(err, &pe), "a closed store is retried, not dead-lettered: %v", err)
}

func TestConfig(t *testing.T) {
	require.NoError(t, DefaultConfig().Validate())
	notADir := filepath.Join(t.TempDir(), "file")
	require.NoError(t, os.WriteFile(notADir, nil, 0o644))
	missingParent := DefaultConfig()
	missingParent.Store = "sqlite:" + filepath.Join(t.TempDir(), "new", "dir", "news.db")
	require.NoError(t, missingParent.Validate(), "a missing directory is created")
	good := DefaultConfig()
	good.Store = "postgres://newsflow:secret@db.example:5432/news?sslmode=require"
	good.MaxAge = 90 * 24 * time.Hour
	require.NoError(t, good.Validate())

	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string
	}{
		{"empty store", func(c *Config) { c.Store = "" }, []string{"-store:"}},
		{"sqlite without path", func(c *Config) { c.Store = "sqlite:" }, []string{"-store:"}},
		{"unknown engine", func(c *Config) { c.Store = "mysql://x" }, []string{"-store:", "mysql://x"}},
		{"password not echoed", func(c *Config) { c.Store = "postgre://u:hunter2@h/db" }, []string{"-store:"}},
		{"batch too small", func(c *Config) { c.BatchSize = 0 }, []string{"-store-batch:"}},
		{"batch too large", func(c *Config) { c.BatchSize = 20_000 }, []string{"-store-batch:"}},
		{"no batch wait", func(c *Config) { c.BatchWait = 0 }, []string{"-store-batch-wait:"}},
		{"negative batch spacing", func(c *Config) { c.BatchEvery = -time.Millisecond }, []string{"-store-batch-every:"}},
		{"batch spacing past the wait", func(c *Config) { c.BatchEvery = 2 * c.BatchWait }, []string{"-store-batch-every:"}},
		{"negative max age", func(c *Config) { c.MaxAge = -time.Hour }, []string{"-store-max-age:"}},
		{"retention without schedule", func(c *Config) { c.MaxAge, c.PruneEvery, c.PruneBatch = time.Hour, 0, 0 },
			[]string{"-store-prune-every:", "-store-prune-batch:"}},
		{"every problem at once", func(c *Config) { c.Store, c.BatchSize = "", 0 }, []string{"-store:", "-store-batch:"}},
		// Stores that can never work: before, retried forever as down.
		{"store is a directory", func(c *Config) { c.Store = "sqlite:" + os.TempDir() }, []string{"-store:", "is a directory"}},
		{"store under a file", func(c *Config) { c.Store = "sqlite:" + notADir + "/news.db" }, []string{"-store:", "is not a directory"}},
		{"api limits", func(c *Config) { c.API.Queries, c.API.Searches, c.API.Timeout = 0, 0, 0 },
			[]string{"-api-max-queries:", "-api-max-searches:", "-api-timeout:"}},
		{"missing token file", func(c *Config) { c.APITokenFile = "/nonexistent-newsflow/tokens" }, []string{"-api-token-file:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.mutate(&c)
			err := c.Validate()
			require.Error(t, err)
			for _, w := range tt.want {
				require.ErrorContains(t, err, w)
			}
			require.NotContains(t, err.Error(), "hunter2")
		})
	}
	_, err := Config{Store: "sqlite:" + t.TempDir() + "/missing.db"}.OpenExisting(t.Context())
	require.Error(t, err, "export must not create an empty database")
}

// TestLatencyCountsFirstPassesOnly: fetch→stored and publication→stored
// observe an article's first pass through the pipeline; a replay or a
// story relink of an article fetched long ago is stored without adding to
// either.
func TestLatencyCountsFirstPassesOnly(t *testing.T) {
	s, _ := newTestSink(t)
	a := tagged("h1", "Rovers won the cup final.")
	a.Fetch.FetchedAt = timestamppb.New(time.Now().Add(-time.Minute))
	_, err := s.Handle(t.Context(), a)
	require.NoError(t, err)
	relinked := tagged("h1", "Rovers won the cup final.")
	relinked.Fetch.FetchedAt = a.Fetch.FetchedAt
	relinked.Tagged.Story = &newsflowv1.Story{Id: "other"}
	relinked.Replay = "l0123abcd.7"
	_, err = s.Handle(t.Context(), relinked)
	require.NoError(t, err, "the relink is stored")
	require.Equal(t, uint64(1), histCount(t, s.m.fetchToStored))
	require.Equal(t, uint64(1), histCount(t, s.m.freshness))
}

func histCount(t *testing.T, h prometheus.Histogram) uint64 {
	var m dto.Metric
	require.NoError(t, h.Write(&m))
	return m.GetHistogram().GetSampleCount()
}
