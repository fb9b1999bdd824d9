package stage

import (
	"context"
	"regexp"
	"runtime"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
)

// TestSeriesExistBeforeTheFirstMessage: a stage that has consumed nothing
// yet exports its message, duration and publish series at 0, so dashboards
// show 0 and not "no data" on a fresh pod.
func TestSeriesExistBeforeTheFirstMessage(t *testing.T) {
	h := newHarness(t, "normalizer")
	stop := h.run(SubjectFetched, SubjectNormalized, func(ctx context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
		return a, nil
	})
	defer stop()
	require.Eventually(t, func() bool {
		return testutil.CollectAndCount(h.tel.ready, "newsflow_stage_ready") == 1
	}, 10*time.Second, 10*time.Millisecond)
	for _, c := range []struct {
		name string
		want int
	}{
		{"newsflow_messages_total", 4}, // one per outcome
		{"newsflow_processing_duration_seconds", 1},
		{"newsflow_batch_messages", 0}, // a batch stage's only
		{"newsflow_messages_in_flight", 1},
		{"newsflow_consumer_pending_messages", 1},
		{"newsflow_held_retries_total", 1},
		{"newsflow_published_total", 2}, // duplicate true and false
		{"newsflow_publish_errors_total", 1},
		{"newsflow_publish_duration_seconds", 1},
	} {
		require.Equal(t, c.want, testutil.CollectAndCount(h.tel.Registry, c.name), c.name)
	}
	require.Zero(t, h.tel.MessageCount("normalizer", OutcomeOK))
}

func TestBuildInfo(t *testing.T) {
	tel := NewTelemetry()
	require.Equal(t, 1, testutil.CollectAndCount(tel.Registry, "newsflow_build_info"))
	families, err := tel.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != "newsflow_build_info" {
			continue
		}
		labels := map[string]string{}
		for _, l := range f.GetMetric()[0].GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		require.Equal(t, runtime.Version(), labels["goversion"])
		require.NotEmpty(t, labels["version"])
		require.NotEmpty(t, labels["revision"])
		require.Equal(t, 1.0, f.GetMetric()[0].GetGauge().GetValue())
		return
	}
	t.Fatal("no newsflow_build_info")
}

// TestStamp: one build and the same parts give one stamp; a changed part,
// or parts split differently, another.
func TestStamp(t *testing.T) {
	version, _, _ := buildInfo()
	a := Stamp([]byte("rules"), []byte("min=200"))
	require.Regexp(t, `^`+regexp.QuoteMeta(version)+`\+[0-9a-f]{8}$`, a)
	require.Equal(t, a, Stamp([]byte("rules"), []byte("min=200")))
	require.NotEqual(t, a, Stamp([]byte("rules"), []byte("min=40")))
	require.NotEqual(t, a, Stamp([]byte("rulesmin=200")))
	require.NotEqual(t, a, Stamp())
}

// Every publish of a stage's output is timed to its acknowledgement; a
// message dropped by the handler publishes nothing and is not.
func TestPublishDurationCountsEveryPublish(t *testing.T) {
	h := newHarness(t, "normalizer")
	stop := h.run(SubjectFetched, SubjectNormalized, func(ctx context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
		if a.GetId() == "drop" {
			return nil, nil
		}
		return a, nil
	})
	defer stop()
	for _, id := range []string{"a", "b", "drop", "c"} {
		// Straight to JetStream: the harness's own publisher would be
		// timed under the same stage name.
		msg, err := ArticleMsg(SubjectFetched, &newsflowv1.Article{Id: id, ContentHash: id})
		require.NoError(t, err)
		_, err = h.js.PublishMsg(t.Context(), msg)
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return h.tel.MessageCount("normalizer", OutcomeOK) == 4 }, 10*time.Second, 10*time.Millisecond)
	var m dto.Metric
	require.NoError(t, h.tel.publishTime.WithLabelValues("normalizer").(prometheus.Metric).Write(&m))
	require.Equal(t, uint64(3), m.GetHistogram().GetSampleCount())
	require.Positive(t, m.GetHistogram().GetSampleSum())
}
