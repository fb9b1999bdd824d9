package ops

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/stage"
	"github.com/newsflow/newsflow/stage/natstest"
)

type env struct {
	t  *testing.T
	js jetstream.JetStream
	rt *stage.Runtime
}

// newEnv starts a server with the pipeline's streams.
func newEnv(t *testing.T) *env {
	s := natstest.Run(t)
	cfg := stage.DefaultConfig()
	cfg.NATSURL = s.ClientURL()
	rt, err := stage.New(t.Context(), cfg, stage.Options{Name: "fetcher", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rt.Close() })
	for _, subject := range []string{stage.SubjectFetched, stage.SubjectNormalized} {
		_, err := rt.Publisher(t.Context(), subject)
		require.NoError(t, err)
	}
	return &env{t: t, js: natstest.JetStream(t, s), rt: rt}
}

func art(id, source string) *newsflowv1.Article {
	return &newsflowv1.Article{Id: id, Url: "https://" + source + "/" + id, Source: source, ContentHash: "h-" + id}
}

func (e *env) publish(subject string, a *newsflowv1.Article) uint64 {
	msg, err := stage.ArticleMsg(subject, a)
	require.NoError(e.t, err)
	ack, err := e.js.PublishMsg(e.t.Context(), msg, jetstream.WithMsgID(stage.MsgID("fetcher", a)))
	require.NoError(e.t, err)
	return ack.Sequence
}

// dead writes a dead letter as the runtime does, with or without payload.
func (e *env) dead(stageName, reason string, a *newsflowv1.Article, source string, omit bool) uint64 {
	d := stage.DeadLetter{Stage: stageName, Reason: reason, Error: reason + " happened", Deliveries: 1, Source: source, ArticleID: a.GetId(), PayloadOmitted: omit}
	msg, err := stage.ArticleMsg(stage.SubjectDeadPrefix+stageName, a)
	require.NoError(e.t, err)
	msg.Header = d.Header()
	if omit {
		msg.Data = nil
	}
	ack, err := e.js.PublishMsg(e.t.Context(), msg)
	require.NoError(e.t, err)
	return ack.Sequence
}

func (e *env) msgs(stream string) []Msg {
	var out []Msg
	require.NoError(e.t, Scan(e.t.Context(), e.js, stream, time.Time{}, func(m Msg) error { out = append(out, m); return nil }))
	return out
}

func TestScanStopsAtTheEndItFound(t *testing.T) {
	e := newEnv(t)
	for i := range 600 {
		e.publish(stage.SubjectFetched, art(fmt.Sprint("a", i), "x.example"))
	}
	n := 0
	err := Scan(t.Context(), e.js, "ARTICLES_FETCHED", time.Time{}, func(m Msg) error {
		n++
		if n <= 10 {
			// What is published during the scan is not read again.
			e.publish(stage.SubjectFetched, art(fmt.Sprint("during", n), "x.example"))
		}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, 600, n)

	stop := errors.New("enough")
	n = 0
	err = Scan(t.Context(), e.js, "ARTICLES_FETCHED", time.Time{}, func(Msg) error { n++; return stop })
	require.ErrorIs(t, err, stop)
	require.Equal(t, 1, n)
}

func TestDeadLettersFilterShowRedriveAndPurge(t *testing.T) {
	e := newEnv(t)
	orig := art("big", "b.example")
	origSeq := e.publish(stage.SubjectFetched, orig)
	s1 := e.dead("normalizer", "empty_extraction", art("n1", "a.example"), "ARTICLES_FETCHED:1", false)
	s2 := e.dead("normalizer", "panic", art("n2", "b.example"), "ARTICLES_FETCHED:2", false)
	s3 := e.dead("tagger", "panic", art("t1", "a.example"), "ARTICLES_NORMALIZED:1", false)
	s4 := e.dead("normalizer", "oversize", orig, fmt.Sprintf("ARTICLES_FETCHED:%d", origSeq), true)
	s5 := e.dead("fetcher", "oversize", art("f1", "a.example"), "", false)

	selected := func(f Filter) []uint64 {
		var seqs []uint64
		require.NoError(t, EachDead(t.Context(), e.js, f, func(l Letter) error { seqs = append(seqs, l.Seq); return nil }))
		return seqs
	}
	require.Equal(t, []uint64{s1, s2, s3, s4, s5}, selected(Filter{}))
	require.Equal(t, []uint64{s2, s3}, selected(Filter{Reason: "panic"}))
	require.Equal(t, []uint64{s1, s3, s5}, selected(Filter{Source: "A.example"}))
	require.Equal(t, []uint64{s2}, selected(Filter{Stage: "normalizer", Reason: "panic"}))
	require.Equal(t, []uint64{s3}, selected(Filter{Seqs: []uint64{s3}}))
	require.Empty(t, selected(Filter{Since: time.Now().Add(time.Hour)}))

	l, err := GetDead(t.Context(), e.js, s4)
	require.NoError(t, err)
	require.True(t, l.PayloadOmitted)
	data, err := Original(t.Context(), e.js, l)
	require.NoError(t, err, "an omitted payload is read from its source")
	a, err := stage.DecodeArticle(data)
	require.NoError(t, err)
	require.Equal(t, "big", a.GetId())

	// Redrive: back into the stage's input as a replay, the letter gone.
	before := len(e.msgs("ARTICLES_FETCHED"))
	for _, seq := range []uint64{s2, s4} {
		l, err := GetDead(t.Context(), e.js, seq)
		require.NoError(t, err)
		gen, err := Redrive(t.Context(), e.js, l)
		require.NoError(t, err)
		require.Equal(t, RedriveGeneration(seq), gen)
	}
	fetched := e.msgs("ARTICLES_FETCHED")
	require.Len(t, fetched, before+2)
	redriven, err := stage.DecodeArticle(fetched[len(fetched)-2].Data)
	require.NoError(t, err)
	require.Equal(t, "n2", redriven.GetId())
	require.Equal(t, RedriveGeneration(s2), redriven.GetReplay())
	require.Equal(t, "n2:h-n2:redrive:"+RedriveGeneration(s2), fetched[len(fetched)-2].Header.Get(jetstream.MsgIDHeader))
	require.Equal(t, []uint64{s1, s3, s5}, selected(Filter{}), "redriven letters are deleted")

	l, err = GetDead(t.Context(), e.js, s5)
	require.NoError(t, err)
	_, err = Redrive(t.Context(), e.js, l)
	require.ErrorIs(t, err, ErrCannotRedrive, "the fetcher has no input")
	require.Equal(t, []uint64{s1, s3, s5}, selected(Filter{}), "a letter that cannot go back stays")

	require.NoError(t, DeleteDead(t.Context(), e.js, s1))
	require.Equal(t, []uint64{s3, s5}, selected(Filter{}))
}

func TestReplaySelectsThrottlesAndIsIdempotentPerGeneration(t *testing.T) {
	e := newEnv(t)
	for i := range 6 {
		src := "a.example"
		if i%2 == 1 {
			src = "b.example"
		}
		e.publish(stage.SubjectFetched, art(fmt.Sprint("p", i), src))
	}
	o := ReplayOptions{Stage: "normalizer", Generation: "r1", Filter: ReplayFilter{Source: "a.example"}, DryRun: true}
	st, err := Replay(t.Context(), e.js, o)
	require.NoError(t, err)
	require.Equal(t, ReplayStats{Scanned: 6, Selected: 3}, st)
	require.Len(t, e.msgs("ARTICLES_FETCHED"), 6, "a dry run sends nothing")

	o.DryRun = false
	o.Rate = 20 // 3 messages: about 150 ms
	began := time.Now()
	st, err = Replay(t.Context(), e.js, o)
	require.NoError(t, err)
	require.Equal(t, ReplayStats{Scanned: 6, Selected: 3, Published: 3}, st)
	require.GreaterOrEqual(t, time.Since(began), 100*time.Millisecond, "throttled")
	all := e.msgs("ARTICLES_FETCHED")
	require.Len(t, all, 9)
	for _, m := range all[6:] {
		a, err := stage.DecodeArticle(m.Data)
		require.NoError(t, err)
		require.Equal(t, "a.example", a.GetSource())
		require.Equal(t, "r1", a.GetReplay())
	}

	// The same generation again: the stream holds its earlier copies too,
	// and the duplicate window drops every one.
	o.Rate = 0
	st, err = Replay(t.Context(), e.js, o)
	require.NoError(t, err)
	require.Equal(t, ReplayStats{Scanned: 9, Selected: 6, Published: 0, Duplicates: 6}, st)

	o.Generation, o.Filter = "r2", ReplayFilter{IDs: map[string]bool{"p1": true}}
	st, err = Replay(t.Context(), e.js, o)
	require.NoError(t, err)
	require.Equal(t, 1, st.Published, "a new generation goes through")

	_, err = Replay(t.Context(), e.js, ReplayOptions{Stage: "fetcher", Generation: "r3"})
	require.ErrorContains(t, err, "no input")
}

func TestIdle(t *testing.T) {
	e := newEnv(t)
	_, err := Idle(t.Context(), e.js)
	require.Error(t, err, "no consumers yet")
	for _, c := range stage.Consumers() {
		s, err := e.js.CreateOrUpdateStream(t.Context(), jetstream.StreamConfig{Name: stage.StreamFor(c.Input), Subjects: []string{c.Input}})
		require.NoError(t, err)
		_, err = s.CreateOrUpdateConsumer(t.Context(), jetstream.ConsumerConfig{Durable: c.Name, AckPolicy: jetstream.AckExplicitPolicy})
		require.NoError(t, err)
	}
	idle, err := Idle(t.Context(), e.js)
	require.NoError(t, err)
	require.True(t, idle)
	e.publish(stage.SubjectNormalized, art("x", "a.example"))
	// A consumer's pending count can lag the stream by a moment (one run
	// in 40 read it as 0 right after the publish's ack): that lag is why
	// WaitIdle wants two idle looks in a row.
	require.Eventually(t, func() bool {
		idle, err := Idle(t.Context(), e.js)
		return err == nil && !idle
	}, 5*time.Second, 10*time.Millisecond, "the tagger has a message pending")
}

func TestBacklog(t *testing.T) {
	e := newEnv(t)
	backlog := func() int {
		n, err := Backlog(t.Context(), e.js)
		require.NoError(t, err)
		return n
	}
	require.Equal(t, 0, backlog(), "no consumer yet: nothing counted, no error")
	consumer := func(c stage.Topology) jetstream.Consumer {
		s, err := e.js.Stream(t.Context(), stage.StreamFor(c.Input))
		require.NoError(t, err)
		cons, err := s.CreateOrUpdateConsumer(t.Context(), jetstream.ConsumerConfig{Durable: c.Name, FilterSubject: c.Input, AckPolicy: jetstream.AckExplicitPolicy})
		require.NoError(t, err)
		return cons
	}
	normalizer := consumer(stage.StageTopology("normalizer"))
	for i := range 3 {
		e.publish(stage.SubjectFetched, art(fmt.Sprint("f", i), "x.example"))
	}
	for i := range 2 {
		e.publish(stage.SubjectNormalized, art(fmt.Sprint("n", i), "x.example"))
	}
	require.Eventually(t, func() bool { return backlog() == 3 }, 10*time.Second, 20*time.Millisecond,
		"the normalizer's 3; the tagger has no consumer yet")
	consumer(stage.StageTopology("tagger"))
	require.Eventually(t, func() bool { return backlog() == 5 }, 10*time.Second, 20*time.Millisecond,
		"and the tagger's 2")
	batch, err := normalizer.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	require.NoError(t, err)
	m := <-batch.Messages()
	require.NotNil(t, m)
	require.Equal(t, 5, backlog(), "a message delivered and not acknowledged still counts")
	require.NoError(t, m.DoubleAck(t.Context()))
	require.Eventually(t, func() bool { return backlog() == 4 }, 10*time.Second, 20*time.Millisecond,
		"an acknowledged one does not")
}

func TestSnapshotRatesAndOldest(t *testing.T) {
	e := newEnv(t)
	s, err := e.js.Stream(t.Context(), "ARTICLES_FETCHED")
	require.NoError(t, err)
	_, err = s.CreateOrUpdateConsumer(t.Context(), jetstream.ConsumerConfig{Durable: "normalizer", FilterSubject: stage.SubjectFetched, AckPolicy: jetstream.AckExplicitPolicy})
	require.NoError(t, err)
	a := TakeSnapshot(t.Context(), e.js)
	for i := range 10 {
		e.publish(stage.SubjectFetched, art(fmt.Sprint("s", i), "x.example"))
	}
	// The server counts a filtered consumer's pending messages a moment
	// after their publish acks: a snapshot right away may read 0 (a CI
	// run did).
	var b Snapshot
	require.Eventually(t, func() bool {
		b = TakeSnapshot(t.Context(), e.js)
		return b.Stages[1].Pending == 10
	}, 10*time.Second, 20*time.Millisecond, "the normalizer's 10 pending messages")
	b.At = a.At.Add(2 * time.Second)
	r := RatesBetween(a, b)
	require.InDelta(t, 5.0, r["fetcher"].Out, 0.001, "10 published in 2 s")
	norm := b.Stages[1]
	require.Equal(t, "normalizer", norm.Name)
	require.Empty(t, norm.Err)
	require.WithinDuration(t, time.Now(), norm.Oldest, 10*time.Second, "the oldest waiting message's time")
	require.NotEmpty(t, b.Stages[2].Err, "the tagger has no consumer here")
}

func TestScanOfAMissingStreamIsEmpty(t *testing.T) {
	e := newEnv(t)
	n := 0
	require.NoError(t, Scan(t.Context(), e.js, "NO_SUCH_STREAM", time.Time{}, func(Msg) error { n++; return nil }))
	require.Zero(t, n)
}
