package tagger

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/services/tagger/story"
	"github.com/newsflow/newsflow/stage"
	"github.com/newsflow/newsflow/stage/natstest"
)

// TestRelinksAcrossReplicas runs two tagger replicas on a real (embedded)
// NATS server and feeds them articles latest first: a shortened copy of an
// agency story and an edited copy arrive before the story itself, among
// unrelated articles. Once the replicas are idle, the last version of each
// article in the output stream, which is what the sink keeps, points from
// the later article to the earlier one, and every article of the event is
// in the original's story.
func TestRelinksAcrossReplicas(t *testing.T) {
	srv := natstest.Run(t)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var rts []*stage.Runtime
	var tels []*stage.Telemetry
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		for _, rt := range rts {
			rt.Close()
		}
	})
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for range 2 {
		cfg := stage.DefaultConfig()
		cfg.NATSURL = srv.ClientURL()
		cfg.Workers = 2
		tel := stage.NewTelemetry()
		rt, err := stage.New(ctx, cfg, stage.Options{Name: Name, Telemetry: tel, Logger: log})
		require.NoError(t, err)
		rts, tels = append(rts, rt), append(tels, tel)
		wg.Go(func() {
			if err := Run(ctx, rt, DefaultConfig()); err != nil && ctx.Err() == nil {
				t.Errorf("tagger: %v", err)
			}
		})
	}
	js := natstest.JetStream(t, srv)
	var cons jetstream.Consumer
	require.Eventually(t, func() bool {
		var err error
		cons, err = js.Consumer(ctx, stage.StreamFor(stage.SubjectNormalized), Name)
		return err == nil
	}, 20*time.Second, 20*time.Millisecond, "the replicas create their consumer")

	t0 := time.Date(2025, 8, 18, 12, 0, 0, 0, time.UTC)
	sentences := strings.Split(agencyText, "\n")
	arts := []*newsflowv1.Article{
		article("orig", agencyText, t0),
		article("excerpt", strings.Join(sentences[:2], "\n"), t0.Add(20*time.Minute)),
		article("copy", strings.Replace(agencyText, "on Monday", "on Monday evening", 1)+"\nReporting by the wire desk.", t0.Add(40*time.Minute)),
	}
	for i, f := range []string{"de_economy.txt", "en_politics.txt", "fr_sport.txt"} {
		b, err := os.ReadFile(filepath.Join("..", "tag", "testdata", f))
		require.NoError(t, err)
		title, text, _ := strings.Cut(string(b), "\n")
		a := article(strings.TrimSuffix(f, ".txt"), text, t0.Add(time.Duration(10*i+5)*time.Minute))
		a.Normalized.Title = title
		arts = append(arts, a)
	}
	for i := len(arts) - 1; i >= 0; i-- { // latest first
		a := arts[i]
		if a.GetId() == "orig" {
			continue
		}
		publishNormalized(t, js, a)
	}
	// The story arrives once its copies are tagged.
	waitSettled(t, cons, tels)
	publishNormalized(t, js, arts[0])
	waitSettled(t, cons, tels)

	final := lastTagged(t, js)
	require.Len(t, final, len(arts))
	links := map[string]*newsflowv1.Story{}
	for id, a := range final {
		links[id] = a.GetTagged().GetStory()
	}
	require.Equal(t, "orig", links["orig"].GetId())
	require.Equal(t, "orig", links["excerpt"].GetDerivedFrom(), "%v", links["excerpt"])
	require.Equal(t, "orig", links["excerpt"].GetId())
	require.Equal(t, "orig", links["copy"].GetDuplicateOf(), "%v", links["copy"])
	require.Equal(t, "orig", links["copy"].GetId())
	for _, id := range []string{"de_economy", "en_politics", "fr_sport"} {
		require.Equal(t, id, links[id].GetId(), "%s is a story of its own", id)
	}
	sent := 0.0
	for _, tel := range tels {
		n, err := testutil.GatherAndCount(tel.Registry, "newsflow_story_relinks_total")
		require.NoError(t, err)
		require.Equal(t, 5, n, "every outcome is there from the start")
		sent += relinks(t, tel, relinkSent)
	}
	require.GreaterOrEqual(t, sent, 2.0, "the excerpt and the copy were sent again")
}

// relinks reads a replica's relink counter for one outcome.
func relinks(t *testing.T, tel *stage.Telemetry, outcome string) float64 {
	t.Helper()
	families, err := tel.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != "newsflow_story_relinks_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

func publishNormalized(t *testing.T, js jetstream.JetStream, a *newsflowv1.Article) {
	t.Helper()
	msg, err := stage.ArticleMsg(stage.SubjectNormalized, a)
	require.NoError(t, err)
	_, err = js.PublishMsg(t.Context(), msg, jetstream.WithMsgID(stage.MsgID("normalizer", a)))
	require.NoError(t, err)
}

// waitSettled waits until the tagger's consumer has nothing pending or
// unacked and no replica has a relink waiting, at ten looks in a row
// (relinks are sent a moment after the tagger catches up).
func waitSettled(t *testing.T, cons jetstream.Consumer, tels []*stage.Telemetry) {
	t.Helper()
	idle := 0
	require.Eventually(t, func() bool {
		info, err := cons.Info(t.Context())
		waiting := 0.0
		for _, tel := range tels {
			waiting += gauge(t, tel, "newsflow_story_relinks_pending")
		}
		if err != nil || info.NumPending > 0 || info.NumAckPending > 0 || waiting > 0 {
			idle = 0
			return false
		}
		idle++
		return idle >= 10
	}, 30*time.Second, 50*time.Millisecond)
}

// gauge reads a gauge without labels from a replica's registry.
func gauge(t *testing.T, tel *stage.Telemetry, name string) float64 {
	t.Helper()
	families, err := tel.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}

// lastTagged reads the output stream and returns each article's last
// version.
func lastTagged(t *testing.T, js jetstream.JetStream) map[string]*newsflowv1.Article {
	t.Helper()
	st, err := js.Stream(t.Context(), stage.StreamFor(stage.SubjectTagged))
	require.NoError(t, err)
	info, err := st.Info(t.Context())
	require.NoError(t, err)
	out := map[string]*newsflowv1.Article{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(t.Context(), seq)
		require.NoError(t, err)
		a, err := stage.DecodeArticle(m.Data)
		require.NoError(t, err)
		out[a.GetId()] = a
	}
	return out
}

// TestRelinker: a stale article is read back by its sequence and sent
// under a relink generation; one found stale again before it is sent, or
// after it was sent in the same state, is sent once; a new state is sent
// again; an article the stream no longer holds is gone.
func TestRelinker(t *testing.T) {
	srv := natstest.Run(t)
	js := natstest.JetStream(t, srv)
	ctx := t.Context()
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: stage.StreamFor(stage.SubjectNormalized), Subjects: []string{stage.SubjectNormalized}, Duplicates: time.Minute})
	require.NoError(t, err)
	publishNormalized(t, js, article("a", agencyText, time.Now()))

	counts := map[string]int{}
	waiting := 0
	l := newRelinker(js, stage.SubjectNormalized, "replica-1", func(o string) { counts[o]++ }, func(n int) { waiting = n }, slog.New(slog.DiscardHandler))
	stale := []story.Stale{{ID: "a", Ref: 1, Link: story.Link{Story: "a"}}}
	l.queue(stale)
	l.queue(stale)
	require.Equal(t, 1, waiting)
	require.Empty(t, counts, "nothing is sent before flush")
	l.flush(ctx, 10)
	require.Zero(t, waiting)
	l.queue(stale) // found stale again before the relink came back
	l.flush(ctx, 10)
	require.Equal(t, map[string]int{relinkSent: 1}, counts)
	st, err := js.Stream(ctx, stage.StreamFor(stage.SubjectNormalized))
	require.NoError(t, err)
	m, err := st.GetMsg(ctx, 2)
	require.NoError(t, err)
	a, err := stage.DecodeArticle(m.Data)
	require.NoError(t, err)
	require.Equal(t, "a", a.GetId())
	require.True(t, strings.HasPrefix(a.GetReplay(), "l"), a.GetReplay())

	stale[0].Link.Story = "b" // linked anew, and stale again
	l.queue(stale)
	l.flush(ctx, 10)
	require.Equal(t, 2, counts[relinkSent])

	l.queue([]story.Stale{{ID: "z", Ref: 99}, {ID: "y"}})
	l.flush(ctx, 1)
	require.Equal(t, 1, waiting, "flush sends at most its max")
	l.flush(ctx, 1)
	require.Equal(t, 2, counts[relinkGone])
}

// TestRelinksInStreamOrder: queued relinks are read from the input stream
// lowest sequence first, whatever order they were found stale in, so a
// batch reads neighbouring blocks of the stream.
func TestRelinksInStreamOrder(t *testing.T) {
	srv := natstest.Run(t)
	js := natstest.JetStream(t, srv)
	ctx := t.Context()
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: stage.StreamFor(stage.SubjectNormalized), Subjects: []string{stage.SubjectNormalized}, Duplicates: time.Minute})
	require.NoError(t, err)
	ids := []string{"a", "b", "c", "d", "e"}
	for _, id := range ids {
		publishNormalized(t, js, article(id, agencyText, time.Now()))
	}
	l := newRelinker(js, stage.SubjectNormalized, "replica-1", func(string) {}, func(int) {}, slog.New(slog.DiscardHandler))
	for _, i := range []int{3, 0, 4, 2, 1} {
		l.queue([]story.Stale{{ID: ids[i], Ref: uint64(i + 1), Link: story.Link{Story: "s"}}})
	}
	st, err := js.Stream(ctx, stage.StreamFor(stage.SubjectNormalized))
	require.NoError(t, err)
	for i, id := range ids {
		l.flush(ctx, 1)
		m, err := st.GetMsg(ctx, uint64(len(ids)+i+1))
		require.NoError(t, err)
		a, err := stage.DecodeArticle(m.Data)
		require.NoError(t, err)
		require.Equal(t, id, a.GetId(), "relink %d", i)
	}
}

// TestRelinkSuperseded: a relink read from an older message of an article
// than the tagger has handled since is dropped, so it cannot bring an
// older version back; one read from the latest is tagged.
func TestRelinkSuperseded(t *testing.T) {
	for replay, want := range map[string]struct {
		seq uint64
		ok  bool
	}{"l0123abcd.42": {42, true}, "l0123abcd": {0, false}, "r20261204T120000Z": {0, false}, "l0123.x": {0, false}, "": {0, false}} {
		seq, ok := relinkedFrom(replay)
		require.Equal(t, want.ok, ok, replay)
		require.Equal(t, want.seq, seq, replay)
	}
	s := newTestStage(t)
	ctx := t.Context()
	s.index.Assign(story.Record{ID: "a", Time: time.Now(), Ref: 10})
	old := article("a", agencyText, time.Now())
	old.Replay = "l0123abcd.5"
	out, err := s.Handle(ctx, old)
	require.NoError(t, err)
	require.Nil(t, out, "superseded: nothing published")
	require.Equal(t, 1.0, testutil.ToFloat64(s.m.relinks.WithLabelValues(relinkSuperseded)))
	latest := article("a", agencyText, time.Now())
	latest.Replay = "l0123abcd.10"
	out, err = s.Handle(ctx, latest)
	require.NoError(t, err)
	require.NotNil(t, out.GetTagged().GetStory())
}

// TestRelinkWaitsOutANATSRestart: relinks whose tries all fail while
// nats-server is away stay queued, the batch's untried ones with them, and
// go out once it is back on its store; one that keeps failing is given up
// after relinkRounds flushes and counted as failed.
func TestRelinkWaitsOutANATSRestart(t *testing.T) {
	srv := natstest.RunRestartable(t)
	js, nc := srv.JetStream()
	ctx := t.Context()
	_, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: stage.StreamFor(stage.SubjectNormalized), Subjects: []string{stage.SubjectNormalized}, Duplicates: time.Minute})
	require.NoError(t, err)
	publishNormalized(t, js, article("a", agencyText, time.Now()))
	publishNormalized(t, js, article("b", agencyText, time.Now()))

	counts := map[string]int{}
	l := newRelinker(js, stage.SubjectNormalized, "replica-1", func(o string) { counts[o]++ }, func(int) {}, slog.New(slog.DiscardHandler))
	l.tryFor = 100 * time.Millisecond // a try waits this long for the absent server
	l.queue([]story.Stale{{ID: "a", Ref: 1, Link: story.Link{Story: "a"}}, {ID: "b", Ref: 2, Link: story.Link{Story: "b"}}})

	srv.Stop()
	l.flush(ctx, 10)
	require.Empty(t, counts, "nothing counted while the server is away")
	require.Equal(t, 2, l.queued(), "both wait: the failed one and the untried one")

	srv.Start()
	require.Eventually(t, nc.IsConnected, 10*time.Second, 20*time.Millisecond)
	l.flush(ctx, 10)
	require.Equal(t, map[string]int{relinkSent: 2}, counts)
	require.Zero(t, l.queued())

	// Away for good: given up after relinkRounds flushes.
	srv.Stop()
	l.queue([]story.Stale{{ID: "a", Ref: 1, Link: story.Link{Story: "c"}}})
	for round := 1; round < relinkRounds; round++ {
		l.flush(ctx, 10)
		require.Equal(t, 1, l.queued(), "round %d", round)
	}
	l.flush(ctx, 10)
	require.Zero(t, l.queued())
	require.Equal(t, 1, counts[relinkFailed])
}
