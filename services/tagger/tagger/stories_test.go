package tagger

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/timestamppb"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/services/tagger/signature"
	"github.com/newsflow/newsflow/services/tagger/story"
	"github.com/newsflow/newsflow/stage/natstest"
)

const agencyText = `Ukrainian President Volodymyr Zelenskyy and Russian President Vladimir Putin could meet within two weeks, German Chancellor Friedrich Merz said on Monday after talks at the White House.
US President Donald Trump said he had called Putin and begun arranging the meeting, and that European countries would provide security guarantees for Ukraine in coordination with the United States.
NATO Secretary General Mark Rutte said the talks had focused on security guarantees and on greater US engagement, with details to be worked out in the coming days.
French President Emmanuel Macron said sanctions on Russia would be tightened if Putin did not make progress in the peace talks.`

func article(id, text string, at time.Time) *newsflowv1.Article {
	return &newsflowv1.Article{Id: id, ContentHash: "h-" + id, Normalized: &newsflowv1.Normalized{
		Title: "Leaders prepare a summit", Text: text, PublishedAt: timestamppb.New(at),
	}}
}

func TestRecordRoundTrip(t *testing.T) {
	s := newTestStage(t)
	out, err := s.Handle(context.Background(), article("a", agencyText, time.Now()))
	require.NoError(t, err)
	require.Equal(t, "a", out.GetTagged().GetStory().GetId())
	require.NotZero(t, out.GetTagged().GetSignature().GetSimhash())
	require.NotEmpty(t, out.GetTagged().GetEntities())

	r := story.Record{ID: "x", Time: time.Unix(1700000000, 0).UTC(), Features: []story.Feature{{Key: "e:a", Weight: 1.5}}, Link: story.Link{Story: "s", DerivedFrom: "y", Overlap: 0.4}}
	r.Sig.MinHash = []uint32{1, 2, 0xffffffff}
	r.Sig.Size, r.Sig.SimHash = 3, 42
	b, err := encodeRecord(r)
	require.NoError(t, err)
	got, err := decodeRecord(b)
	require.NoError(t, err)
	require.Equal(t, r, got)

	// A full sketch travels as the prefix an index keeps.
	full := make([]uint32, signature.Hashes)
	for i := range full {
		full[i] = uint32(i)
	}
	r.Sig.MinHash = full
	b, err = encodeRecord(r)
	require.NoError(t, err)
	got, err = decodeRecord(b)
	require.NoError(t, err)
	require.Equal(t, full[:story.KeptHashes], got.Sig.MinHash)

	_, err = decodeRecord([]byte(`{"id":"x","mh":"AAE="}`))
	require.Error(t, err)
	_, err = decodeRecord([]byte(`not json`))
	require.Error(t, err)
}

// TestReplicasShareTheIndex runs two handlers, each with its own NATS
// connection and index following the story stream: a copy tagged by the
// second is marked a duplicate of the article the first tagged, and a
// third replica started later replays both records.
func TestReplicasShareTheIndex(t *testing.T) {
	srv := natstest.Run(t)
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	open := func() *Stage {
		s := newTestStage(t)
		st, err := openStories(ctx, natstest.JetStream(t, srv), s.index, time.Hour, 1, time.Minute, log, func() {}, nil)
		require.NoError(t, err)
		t.Cleanup(st.stop)
		s.stories = st
		return s
	}
	a, b := open(), open()
	now := time.Now()
	first, err := a.Handle(ctx, article("first", agencyText, now))
	require.NoError(t, err)
	require.Equal(t, "first", first.GetTagged().GetStory().GetId())

	require.Eventually(t, func() bool { return b.index.Len() == 1 }, 10*time.Second, 10*time.Millisecond)
	edited := strings.Replace(agencyText, "on Monday", "on Monday evening", 1) + "\nReporting by the wire desk."
	copied, err := b.Handle(ctx, article("copy", edited, now.Add(time.Minute)))
	require.NoError(t, err)
	st := copied.GetTagged().GetStory()
	require.Equal(t, "first", st.GetDuplicateOf())
	require.Equal(t, "first", st.GetId())
	require.Greater(t, st.GetOverlap(), float32(0.7))

	late := open()
	require.Equal(t, 2, late.index.Len(), "a replica that starts later replays the window")
	require.Eventually(t, func() bool { return a.index.Len() == 2 }, 10*time.Second, 10*time.Millisecond)
}

// A replica keeps following the story stream across nats-server restarts:
// a record another replica publishes after each restart reaches its index
// within seconds.
func TestStoryStreamFollowedAcrossServerRestarts(t *testing.T) {
	srv := natstest.RunRestartable(t)
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	open := func() *Stage {
		s := newTestStage(t)
		js, _ := srv.JetStream()
		st, err := openStories(ctx, js, s.index, time.Hour, 1, time.Minute, log, func() {}, nil)
		require.NoError(t, err)
		t.Cleanup(st.stop)
		s.stories = st
		return s
	}
	a, b := open(), open()
	texts := []string{agencyText, strings.ReplaceAll(agencyText, "the", "a"), strings.ReplaceAll(agencyText, "and", "or")}
	for i, text := range texts {
		_, err := a.Handle(ctx, article(fmt.Sprintf("art%d", i), text, time.Now()))
		require.NoError(t, err)
		require.Eventually(t, func() bool { return b.index.Len() == i+1 }, 5*time.Second, 20*time.Millisecond, "record %d after %d restarts", i, i)
		srv.Stop()
		time.Sleep(500 * time.Millisecond)
		srv.Start()
		// a's own publish must reach the server again first
		require.Eventually(t, func() bool {
			_, err := a.stories.js.Stream(ctx, StoriesStream)
			return err == nil
		}, 10*time.Second, 20*time.Millisecond)
	}
}
