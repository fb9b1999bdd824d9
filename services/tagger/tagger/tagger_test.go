package tagger

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/services/tagger/story"
	"github.com/newsflow/newsflow/services/tagger/tag"
	"github.com/newsflow/newsflow/stage"
)

func newTestStage(t *testing.T) *Stage {
	t.Helper()
	tg, err := Config{}.Tagger()
	require.NoError(t, err)
	m, err := newMetrics(prometheus.NewRegistry())
	require.NoError(t, err)
	return &Stage{t: tg, recent: newRecentResults(recentTagged), m: m, index: story.New(DefaultConfig().StoryConfig())}
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

// TestRelinksReuseTheirFirstPass: a relink takes the tags its article's
// first pass found, if still held; a first pass always tags, and what it
// finds replaces what was held; a relink whose result has gone is tagged
// again.
func TestRelinksReuseTheirFirstPass(t *testing.T) {
	s := newTestStage(t)
	s.recent = newRecentResults(1)
	title, text := "Rovers snatch late winner", "Rovers scored in the final minute to beat United 2-1 in the cup semi-final on Saturday."
	article := func(id, replay string) *newsflowv1.Article {
		return &newsflowv1.Article{Id: id, Replay: replay, Normalized: &newsflowv1.Normalized{Title: title, Text: text}}
	}
	language := func(a *newsflowv1.Article) string {
		out, err := s.Handle(context.Background(), a)
		require.NoError(t, err)
		return out.GetTagged().GetLanguage()
	}
	count := func(result string) float64 { return testutil.ToFloat64(s.m.relinkTagging.WithLabelValues(result)) }

	// A result held for this text, marked so that its reuse shows.
	s.recent.held.Add(resultKey(title, text), tag.Result{Language: "xx"})
	require.Equal(t, "xx", language(article("a", "l0123456789abcdef.1")), "a relink reuses what is held")
	require.Equal(t, 1.0, count("reused"))
	require.Equal(t, "en", language(article("b", "")), "a first pass tags, even a text held already")
	require.Equal(t, "en", language(article("a", "l0123456789abcdef.2")), "the first pass replaced what was held")
	require.Equal(t, 2.0, count("reused"))

	// Another article takes the only place: the relink is tagged again.
	other := &newsflowv1.Article{Id: "c", Normalized: &newsflowv1.Normalized{Title: "Rain", Text: "Heavy rain is expected across the north of the country tomorrow, forecasters said."}}
	_, err := s.Handle(context.Background(), other)
	require.NoError(t, err)
	require.Equal(t, "en", language(article("a", "l0123456789abcdef.3")))
	require.Equal(t, 2.0, count("reused"))
	require.Equal(t, 1.0, count("tagged"))
}
