package tagger

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/services/tagger/story"
	"github.com/newsflow/newsflow/stage"
)

func newTestStage(t *testing.T) *Stage {
	t.Helper()
	tg, err := Config{}.Tagger()
	require.NoError(t, err)
	m, err := newMetrics(prometheus.NewRegistry())
	require.NoError(t, err)
	return &Stage{t: tg, m: m, index: story.New(DefaultConfig().StoryConfig())}
}

func TestHandleTagsArticle(t *testing.T) {
	s := newTestStage(t)
	in := &newsflowv1.Article{Id: "a", Normalized: &newsflowv1.Normalized{
		Title: "Rovers snatch late winner to reach the cup final",
		Text: "Rovers scored in the final minute to beat United 2-1 in the cup semi-final on Saturday.\n" +
			"The striker headed in a corner as the home crowd celebrated, and the coach praised his players after the match.\n" +
			"The team will play the final at the national stadium next month, the league said.",
	}}
	out, err := s.Handle(context.Background(), in)
	require.NoError(t, err)
	tg := out.GetTagged()
	require.Equal(t, "en", tg.GetLanguage())
	require.NotEmpty(t, tg.GetTopics())
	require.Equal(t, "medtop:15000000", tg.GetTopics()[0].GetCode(), "topics: %v", tg.GetTopics())
	require.NotEmpty(t, tg.GetKeywords())
}

func TestHandleFallsBackToDeclaredLanguage(t *testing.T) {
	s := newTestStage(t)
	in := &newsflowv1.Article{Normalized: &newsflowv1.Normalized{Text: "12 345 — 67", Language: "pl"}}
	out, err := s.Handle(context.Background(), in)
	require.NoError(t, err)
	require.Equal(t, "pl", out.GetTagged().GetLanguage())
}

func TestHandleWithoutTextIsPermanent(t *testing.T) {
	_, err := newTestStage(t).Handle(context.Background(), &newsflowv1.Article{Normalized: &newsflowv1.Normalized{Text: " \n "}})
	var pe *stage.PermanentError
	require.True(t, errors.As(err, &pe))
	require.Equal(t, "no_text", pe.Reason)
}

func TestConfigModelFile(t *testing.T) {
	require.ErrorContains(t, Config{ModelFile: "/nonexistent/model"}.Validate(), "-model:")
	err := Config{StoryWindow: -1, StoryMax: -1}.Validate()
	require.ErrorContains(t, err, "-story-window:")
	require.ErrorContains(t, err, "-story-max:")
	_, err = Config{ModelFile: "tagger_test.go"}.Tagger()
	require.ErrorContains(t, err, "load topic model")
}
