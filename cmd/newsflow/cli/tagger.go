package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/newsflow/newsflow/services/tagger/evaluate"
	"github.com/newsflow/newsflow/services/tagger/story"
	"github.com/newsflow/newsflow/services/tagger/tagger"
	"github.com/newsflow/newsflow/services/tagger/topic"
)

const taggerUsage = `Usage:
  newsflow tagger train -data DIR -o FILE [-folds N]   fit a topic model on DIR/<topic>/*.txt (first line: title)
  newsflow tagger eval [flags]                         accuracy tables, cross-validation, false merges, seed stories
`

func taggerCmd(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, taggerUsage)
		return usageError{errors.New("missing subcommand: train or eval")}
	}
	switch args[0] {
	case "train":
		return trainCmd(args[1:], stdout, stderr)
	case "eval":
		return evalCmd(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, taggerUsage)
		return nil
	}
	fmt.Fprint(stderr, taggerUsage)
	return usageError{fmt.Errorf("unknown subcommand %q", args[0])}
}

func trainCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("tagger train", flag.ContinueOnError)
	data := fs.String("data", "", "labelled corpus `DIR`: one directory per topic (its name is the topic code), one article per .txt file, first line the title")
	out := fs.String("o", "", "model `FILE` to write (load it with -model)")
	folds := fs.Int("folds", 0, "also report k-fold cross-validated accuracy (0: no)")
	dedup := fs.Bool("dedup", true, "drop exact and near-duplicate articles first")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	var problems []string
	if *data == "" {
		problems = append(problems, "-data: required")
	}
	if *out == "" {
		problems = append(problems, "-o: required")
	}
	if *folds < 0 || *folds == 1 {
		problems = append(problems, "-folds: 0, or 2 and more")
	}
	if len(problems) > 0 {
		return usageError{errors.New(strings.Join(problems, "; "))}
	}
	docs, err := evaluate.ReadCorpus(*data)
	if err != nil {
		return err
	}
	if *dedup {
		var exact, near int
		docs, exact, near = evaluate.Dedup(docs)
		fmt.Fprintf(stdout, "dropped %d exact and %d near duplicates\n", exact, near)
	}
	per := map[string]int{}
	train := make([]topic.Doc, len(docs))
	for i, d := range docs {
		per[d.Label]++
		train[i] = d.Doc
	}
	m, err := topic.Train(train, topic.DefaultTrainConfig())
	if err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return fmt.Errorf("create model: %w", err)
	}
	if err := m.Save(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write model: %w", err)
	}
	labels := make([]string, 0, len(per))
	for l := range per {
		labels = append(labels, fmt.Sprintf("%s %d", l, per[l]))
	}
	sort.Strings(labels)
	fmt.Fprintf(stdout, "trained on %d articles (%s): %d terms, written to %s\n", len(docs), strings.Join(labels, ", "), m.Terms(), *out)
	if *folds > 1 {
		t, _, err := evaluate.CrossValidate(docs, *folds, topic.DefaultTrainConfig())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d-fold cross-validation:\n", *folds)
		t.Print(stdout, nil)
	}
	return nil
}

func evalCmd(args []string, stdout, stderr io.Writer) error {
	cfg := tagger.DefaultConfig()
	fs := flag.NewFlagSet("tagger eval", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	bench := fs.String("bench", defaultData("topic-bench", "bbc"), "labelled corpus `DIR` with BBC's classes (business, entertainment, politics, sport, tech); \"\" skips")
	seeds := fs.String("seeds", defaultData("seeds"), "`DIR` of articles on one event to group; \"\" skips")
	heldout := fs.String("heldout", "", "comma-separated labelled corpus `DIRS` measured with the model only (classes: BBC names, IPTC codes or labels)")
	folds := fs.Int("folds", 5, "cross-validation folds of the training command on -bench (0 skips)")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	if *folds < 0 || *folds == 1 {
		return usageError{errors.New("-folds: 0, or 2 and more")}
	}
	if *bench == "" && *seeds == "" && *heldout == "" {
		return usageError{errors.New("nothing to evaluate: give -bench, -seeds or -heldout (shared/ was not found)")}
	}
	m, err := cfg.Model()
	if err != nil {
		return err
	}
	opts := evaluate.Options{Bench: *bench, Seeds: *seeds, Folds: *folds, Model: m, Story: story.DefaultConfig()}
	if *heldout != "" {
		opts.HeldOut = strings.Split(*heldout, ",")
	}
	_, err = evaluate.Report(stdout, opts)
	return err
}

// defaultData is shared/<parts…> above the working directory, or "".
func defaultData(parts ...string) string {
	dir := evaluate.SharedData(parts[0])
	if dir == "" {
		return ""
	}
	return strings.Join(append([]string{dir}, parts[1:]...), string(os.PathSeparator))
}
