package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const wire = `Ukrainian President Volodymyr Zelenskiy and Russian President Vladimir Putin could meet within two weeks, German Chancellor Friedrich Merz said on Monday after talks at the White House. US President Donald Trump said he had called Putin and begun arranging the meeting, and that European countries would provide security guarantees for Ukraine in coordination with the U.S. NATO Secretary General Mark Rutte said the talks had focused on security guarantees.`

func TestTagCommandEntitiesSignatureAndStory(t *testing.T) {
	line := func(id, text string) string {
		b, err := json.Marshal(map[string]string{"id": id, "title": "Leaders prepare a summit", "text": text})
		require.NoError(t, err)
		return string(b) + "\n"
	}
	in := line("a", wire) + line("b", strings.Replace(wire, "on Monday", "on Monday evening", 1)+" Reporting by the wire desk.")
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, Main([]string{"tag"}, strings.NewReader(in), &stdout, &stderr), stderr.String())
	dec := json.NewDecoder(&stdout)
	var a, b tagOutput
	require.NoError(t, dec.Decode(&a))
	require.NoError(t, dec.Decode(&b))

	names := map[string]tagEntity{}
	for _, e := range a.Entities {
		names[e.Name] = e
	}
	require.Equal(t, tagEntity{Name: "Volodymyr Zelenskyy", Type: "person", Mentions: 1}, names["Volodymyr Zelenskyy"])
	require.Equal(t, 2, names["Vladimir Putin"].Mentions)
	require.Equal(t, "country", names["United States"].Subtype)
	require.Contains(t, names, "Friedrich Merz")
	require.Contains(t, names, "NATO")
	require.Len(t, a.Signature.SimHash, 16)
	require.Nil(t, a.Signature.MinHash, "the sketch only with -minhash")
	require.Equal(t, &tagStory{ID: "a"}, a.Story)
	require.Equal(t, "a", b.Story.ID)
	require.Equal(t, "a", b.Story.DuplicateOf)
	for _, tp := range a.Topics {
		require.Positive(t, tp.Level)
	}
}

func writeCorpus(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	docs := map[string][]string{
		"sport": {
			"Rovers win the cup final\nRovers beat United two goals to one in the cup final, the striker scoring twice before the goalkeeper saved a late penalty.",
			"Coach resigns after defeat\nThe coach resigned after a third league defeat, saying the team needed a new manager before the transfer window opened.",
			"Regatta draws record entry\nA record number of crews entered the regatta, and the rowing club said the final races would be held on the river.",
		},
		"economy": {
			"Lender cuts mortgage rates\nThe building society cut its mortgage rates after the central bank held interest rates, and lenders expect prices to rise.",
			"Shipping profit falls\nThe shipping company reported a fall in annual profit as freight rates dropped, and its shares fell on the stock market.",
			"Food maker expands plant\nThe food company will invest in its plant and hire workers, the chief executive said, after sales and profit grew.",
		},
	}
	for label, texts := range docs {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, label), 0o755))
		for i, text := range texts {
			require.NoError(t, os.WriteFile(filepath.Join(dir, label, string(rune('a'+i))+".txt"), []byte(text), 0o644))
		}
	}
	return dir
}

func TestTaggerTrainThenTagAndEval(t *testing.T) {
	corpus := writeCorpus(t)
	model := filepath.Join(t.TempDir(), "model.tsv")
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, Main([]string{"tagger", "train", "-data", corpus, "-o", model, "-folds", "3"}, nil, &stdout, &stderr), stderr.String())
	require.Contains(t, stdout.String(), "trained on 6 articles (economy 3, sport 3)")
	require.Contains(t, stdout.String(), "3-fold cross-validation")

	stdout.Reset()
	in := `{"id":"1","title":"Striker scores in final","text":"The striker scored twice in the cup final and the team won the league."}` + "\n"
	require.Equal(t, 0, Main([]string{"tag", "-model", model}, strings.NewReader(in), &stdout, &stderr), stderr.String())
	var got tagOutput
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &got))
	require.Equal(t, "sport", got.Topics[0].Code, "a trained model's topics are its class names")

	stdout.Reset()
	require.Equal(t, 0, Main([]string{"tagger", "eval", "-model", model, "-bench", "", "-seeds", "", "-heldout", corpus}, nil, &stdout, &stderr), stderr.String())
	require.Contains(t, stdout.String(), "held-out set")
	require.Regexp(t, `all +6 +[0-9]`, stdout.String())
}

func TestTaggerCommandUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	require.Equal(t, 2, Main([]string{"tagger"}, nil, &stdout, &stderr))
	require.Equal(t, 2, Main([]string{"tagger", "fit"}, nil, &stdout, &stderr))
	stderr.Reset()
	require.Equal(t, 2, Main([]string{"tagger", "train"}, nil, &stdout, &stderr))
	require.Contains(t, stderr.String(), "-data: required")
	require.Contains(t, stderr.String(), "-o: required")
	require.Equal(t, 2, Main([]string{"tagger", "eval", "-bench", "", "-seeds", ""}, nil, &stdout, &stderr))
	require.Equal(t, 1, Main([]string{"tagger", "train", "-data", t.TempDir(), "-o", filepath.Join(t.TempDir(), "m")}, nil, &stdout, &stderr))
}
