package sink

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/stage"
	"github.com/newsflow/newsflow/stage/natstest"
)

func TestHandleBatchSettlesEachArticle(t *testing.T) {
	s, st := newTestSink(t)
	ctx := context.Background()
	a := outageArticle(1)
	b := outageArticle(2)
	invalid := outageArticle(3)
	invalid.ContentHash = ""
	_, err := s.Handle(ctx, b) // stored before: a redelivery now
	require.NoError(t, err)
	errs := s.HandleBatch(ctx, []*newsflowv1.Article{a, b, invalid})
	require.Len(t, errs, 3)
	require.NoError(t, errs[0])
	require.ErrorIs(t, errs[1], stage.ErrDuplicate)
	var pe *stage.PermanentError
	require.True(t, errors.As(errs[2], &pe), "%v", errs[2])
	require.Equal(t, "store", pe.Reason)
	n, err := st.Count(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, float64(1), counter(t, s.m.duplicates))
}

func TestHandleBatchStoreDownIsTransientAndReported(t *testing.T) {
	s, st := newTestSink(t)
	var reported []error
	s.report = func(err error) { reported = append(reported, err) }
	ctx := context.Background()
	require.NoError(t, s.HandleBatch(ctx, []*newsflowv1.Article{outageArticle(1)})[0])
	require.NoError(t, st.Close())
	errs := s.HandleBatch(ctx, []*newsflowv1.Article{outageArticle(2), outageArticle(3)})
	var pe *stage.PermanentError
	for _, err := range errs {
		require.Error(t, err)
		require.False(t, errors.As(err, &pe), "a store outage is retried, never dead-lettered: %v", err)
	}
	require.Error(t, reported[len(reported)-1], "readiness reports the outage")
	require.Equal(t, float64(0), gauge(t, s.m.up))
}

func TestRecordEntitiesAndStory(t *testing.T) {
	a := outageArticle(1)
	a.Tagged.Entities = []*newsflowv1.Entity{
		{Name: "Harbour Board", Type: "organisation", Mentions: 2, Aliases: []string{"the board"}},
		{Name: " ", Type: "person", Mentions: 1},
		{Name: "harbour board", Type: "organisation", Mentions: 1, Aliases: []string{"the board", "HB"}},
		{Name: "Harbour Board", Type: "place", Mentions: 1},
	}
	a.Tagged.Story = &newsflowv1.Story{Id: "s1", DerivedFrom: "other", Overlap: 0.5}
	rec := Record(a)
	require.Len(t, rec.Entities, 2, "case variants merged, nameless dropped, another type kept")
	require.Equal(t, 3, rec.Entities[0].Mentions)
	require.Equal(t, []string{"the board", "HB"}, rec.Entities[0].Aliases)
	require.Equal(t, "s1", rec.Story.ID)
	require.Equal(t, "other", rec.Story.DerivedFrom)
	require.InDelta(t, 0.5, rec.Story.Overlap, 1e-6)

	a.Tagged.Story = &newsflowv1.Story{}
	require.Nil(t, Record(a).Story, "an empty story is no story")

	require.Equal(t, store.MadeBy{}, rec.MadeBy, "no spans: not known")
	a.Trace = []*newsflowv1.Span{{Stage: "fetcher", Version: "f"}, {Stage: "normalizer", Version: "n1"}, {Stage: "tagger", Version: "t1"}, {Stage: "tagger", Version: "t2"}}
	require.Equal(t, store.MadeBy{Normalizer: "n1", Tagger: "t2"}, Record(a).MadeBy, "each stage's last span")
}

func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(c))
	fams, err := reg.Gather()
	require.NoError(t, err)
	return fams[0].GetMetric()[0].GetCounter().GetValue()
}

func gauge(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(g))
	return gaugeValue(t, reg, "newsflow_store_up")
}

// TestBatchEveryReachesTheWriter: -store-batch-every spaces the sink's
// write batches, so articles published 20 ms apart (four times the gap
// that closes a batch) share a few transactions instead of one each.
func TestBatchEveryReachesTheWriter(t *testing.T) {
	ns := natstest.Run(t)
	js := natstest.JetStream(t, ns)
	s := startSinkWith(t, ns, Config{Store: "sqlite:" + filepath.Join(t.TempDir(), "news.db"), BatchSize: 100, BatchWait: time.Second, BatchEvery: 400 * time.Millisecond})
	defer s.stop()
	const n = 30
	publishOutage(t, js, 0, 0) // waits for the input stream
	for i := range n {
		publishOutage(t, js, i, i+1)
		time.Sleep(20 * time.Millisecond)
	}
	require.Eventually(t, func() bool { return s.inserted() == n }, 20*time.Second, 10*time.Millisecond)
	var batches uint64
	families, err := s.tel.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == "newsflow_store_batch_size" {
			batches = f.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	// 30 articles over about 0.6 s, a batch at most every 0.4 s: three or
	// so; one a batch without the spacing.
	require.Positive(t, batches)
	require.LessOrEqual(t, batches, uint64(n/3), "write batches")
}
