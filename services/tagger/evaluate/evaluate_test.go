package evaluate

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/newsflow/newsflow/services/tagger/internal/sharedtest"
	"github.com/newsflow/newsflow/services/tagger/story"
	"github.com/newsflow/newsflow/services/tagger/tag"
	"github.com/newsflow/newsflow/services/tagger/topic"
	"github.com/stretchr/testify/require"
)

// defaultFloor is the target for the default model on BBC
// (deduplicated); below it the model has regressed.
const defaultFloor = 0.92

// classFloor is the target for every class's F1 on BBC full
// articles; shortFloor the accuracy on BBC's short form (title and first
// sentence) measured when it was first reported, below which the model
// has regressed (the target is 0.85).
const (
	classFloor = 0.85
	shortFloor = 0.77
)

func TestFixtureCorpus(t *testing.T) {
	docs, err := ReadCorpus(filepath.Join("testdata", "corpus"))
	require.NoError(t, err)
	require.Len(t, docs, 9)
	require.Equal(t, "en", docs[0].Lang)
	kept, exact, near := Dedup(docs)
	require.Equal(t, 0, exact)
	require.Equal(t, 1, near, "sport/5 is sport/1 with one character changed")
	require.Len(t, kept, 8)

	tbl, accs, err := CrossValidate(kept, 2, topic.DefaultTrainConfig())
	require.NoError(t, err)
	require.Len(t, accs, 2)
	require.Equal(t, 8, tbl.Total)

	_, err = ReadCorpus(t.TempDir())
	require.ErrorContains(t, err, "no DIR/<label>/*.txt")
}

func TestLabelMapping(t *testing.T) {
	m := topic.Default()
	got, err := labelMapping(m, []Doc{{Doc: topic.Doc{Label: "sport"}}, {Doc: topic.Doc{Label: "medtop:04000000"}}, {Doc: topic.Doc{Label: "Politics"}}})
	require.NoError(t, err)
	require.Equal(t, map[string]string{"sport": "medtop:15000000", "medtop:04000000": "medtop:04000000", "Politics": "medtop:11000000"}, got)
	_, err = labelMapping(m, []Doc{{Doc: topic.Doc{Label: "gardening"}}})
	require.ErrorContains(t, err, "gardening")
}

// TestTargets runs the evaluation on the shared benchmark and checks the
// issue's targets: the trained model's cross-validated accuracy, the
// false-merge rate, and the seeds' grouping (one story, 002 derived from
// 000). The default model's accuracy is reported, with its own floor.
func TestTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("the full evaluation takes a few seconds")
	}
	if raceDetector {
		t.Skip("skipped under -race (minutes of tagging); test.sh runs it without -race")
	}
	bench := filepath.Join(sharedtest.Dir(t, "topic-bench"), "bbc")
	seeds := sharedtest.Dir(t, "seeds")
	var out bytes.Buffer
	sum, err := Report(&out, Options{Bench: bench, Seeds: seeds, Folds: 5, Story: story.DefaultConfig()})
	require.NoError(t, err)
	t.Log("\n" + out.String())
	require.GreaterOrEqual(t, sum.Default.Accuracy(), defaultFloor)
	for _, c := range sum.Default.Classes() {
		require.GreaterOrEqual(t, c.F1, classFloor, "F1 of %s on BBC full articles", c.Class)
	}
	require.Equal(t, sum.Default.Total, sum.Short.Total)
	require.GreaterOrEqual(t, sum.Short.Accuracy(), shortFloor, "BBC short form")
	require.GreaterOrEqual(t, sum.Trained.Accuracy(), 0.97)
	require.Equal(t, 2225, sum.Articles)
	require.LessOrEqual(t, float64(sum.Merged)/float64(sum.Articles), 0.005)
	require.Len(t, sum.SeedLinks, 5)
	require.Contains(t, out.String(), "false-merge rate")
}

func TestSeedStory(t *testing.T) {
	docs, err := ReadSeeds(sharedtest.Dir(t, "seeds"))
	require.NoError(t, err)
	require.Len(t, docs, 5)
	gs := Group(docs, tag.New(nil), story.DefaultConfig())
	checkSeeds(t, gs)
}

// checkSeeds checks the seeds' grouping: one story, 002 derived from 000,
// no other relation.
func checkSeeds(t *testing.T, gs []Grouped) {
	t.Helper()
	byFile := map[string]Grouped{}
	for _, g := range gs {
		require.Equal(t, gs[0].Link.Story, g.Link.Story, "%s is in another story", g.Path)
		byFile[filepath.Base(g.Path)[:3]] = g
	}
	require.True(t, strings.HasPrefix(byFile["002"].Link.DerivedFrom, "000_"), "%+v", byFile["002"].Link)
	require.Empty(t, byFile["002"].Link.DuplicateOf)
	for _, n := range []string{"000", "001", "003", "004"} {
		require.Empty(t, byFile[n].Link.DerivedFrom, n)
		require.Empty(t, byFile[n].Link.DuplicateOf, n)
	}
}

// controls are 20 articles of the sample site (the repository's own
// corpus): local news of other events, each its own story.
func controls(t *testing.T) []Doc {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "cmd", "newsflow", "samplesite", "corpus", "articles")
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 20, "the sample corpus at %s", dir)
	var docs []Doc
	for _, f := range files[:20] {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		head, body, ok := strings.Cut(string(b), "\n\n")
		require.True(t, ok, f)
		d := Doc{Path: f}
		for line := range strings.Lines(head) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "title: "); ok {
				d.Title = v
			}
		}
		d.Text = body
		d.detect()
		docs = append(docs, d)
	}
	return docs
}

// TestSeedStoryInAnyOrder ingests the five seeds and 20 controls in 20
// arrival orders, every article keeping its publication time (the seeds in
// file order, 20 minutes apart; the controls among them): every order
// links them alike, the seeds form one story with 002 derived from 000,
// and no control joins it.
func TestSeedStoryInAnyOrder(t *testing.T) {
	if raceDetector {
		t.Skip("skipped under -race (20 groupings); test.sh runs it without -race")
	}
	seeds, err := ReadSeeds(sharedtest.Dir(t, "seeds"))
	require.NoError(t, err)
	docs := append(seeds, controls(t)...)
	start := time.Date(2025, 8, 18, 12, 0, 0, 0, time.UTC)
	times := make([]time.Time, len(docs))
	for i := range times {
		if i < len(seeds) {
			times[i] = start.Add(time.Duration(i) * 20 * time.Minute)
		} else {
			times[i] = start.Add(time.Duration(i-len(seeds))*7*time.Minute - 30*time.Minute)
		}
	}
	runs := GroupOrders(docs, times, tag.New(nil), story.DefaultConfig(), 20, 7)
	for k, gs := range runs {
		require.True(t, SameRelations(runs[0], gs), "order %d linked the articles otherwise:\n%s\nfirst order:\n%s", k+1, grouping(gs), grouping(runs[0]))
	}
	gs := runs[0]
	checkSeeds(t, gs[:len(seeds)])
	for _, g := range gs[len(seeds):] {
		require.NotEqual(t, gs[0].Link.Story, g.Link.Story, "control %s joined the seeds' story", g.Path)
	}
	t.Logf("%d articles in %d stories in every one of %d orders", len(gs), Stories(gs), len(runs))
}

func grouping(gs []Grouped) string {
	var b bytes.Buffer
	PrintGrouping(&b, gs, 0)
	return b.String()
}

func TestFirstSentence(t *testing.T) {
	for in, want := range map[string]string{
		"\nShares rose 5% on Monday. Analysts were surprised.\nMore.":  "Shares rose 5% on Monday.",
		"Mr. Smith met U.S. Army officers in St. Louis. Then he left.": "Mr. Smith met U.S. Army officers in St. Louis.",
		"J. K. Rowling wins a prize! \"It is great,\" she said.":       "J. K. Rowling wins a prize!",
		"Prices fell 2.5 per cent in March. 2005 looks worse.":         "Prices fell 2.5 per cent in March.",
		"no end here":          "no end here",
		"lower case. after it": "lower case. after it",
		"":                     "",
	} {
		require.Equal(t, want, FirstSentence(in), in)
	}
	d := ShortForm(Doc{Doc: topic.Doc{Title: "Title", Text: "One. Two."}})
	require.Equal(t, "Title", d.Title)
	require.Equal(t, "One.", d.Text)
}

func TestClassScores(t *testing.T) {
	var tb Table
	for gold, gots := range map[string][]string{"a": {"a", "a", "a", "b"}, "b": {"b", "a", "none", "x"}} {
		for _, g := range gots {
			tb.add(gold, g)
		}
	}
	cs := tb.Classes()
	require.Len(t, cs, 2)
	require.Equal(t, ClassScore{Class: "a", Docs: 4, Predicted: 4, Hits: 3, Precision: 0.75, Recall: 0.75, F1: 0.75}, cs[0])
	require.Equal(t, "b", cs[1].Class)
	require.InDelta(t, 0.5, cs[1].Precision, 1e-9) // b given twice, once right
	require.InDelta(t, 0.25, cs[1].Recall, 1e-9)
	require.InDelta(t, 1.0/3, cs[1].F1, 1e-9)
	require.InDelta(t, (0.75+1.0/3)/2, tb.MacroF1(), 1e-9)
	var out bytes.Buffer
	tb.Print(&out, nil)
	require.Contains(t, out.String(), "confusion")
	require.Regexp(t, `(?m)^b\s+1\s+1\s+1\s+1\s+$`, out.String(), "row b: a 1, b 1, other 1, none 1")
}
