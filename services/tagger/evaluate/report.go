package evaluate

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/newsflow/newsflow/services/tagger/internal/shared"
	"github.com/newsflow/newsflow/services/tagger/story"
	"github.com/newsflow/newsflow/services/tagger/tag"
	"github.com/newsflow/newsflow/services/tagger/topic"
)

// BBCToIPTC maps the BBC benchmark's classes to IPTC Media Topics, as
// shared/topic-bench/README.md gives it.
var BBCToIPTC = map[string]string{
	"business":      "medtop:04000000",
	"entertainment": "medtop:01000000",
	"politics":      "medtop:11000000",
	"sport":         "medtop:15000000",
	"tech":          "medtop:13000000",
}

// Options says what Report measures; an empty path skips that part.
type Options struct {
	Bench   string   // labelled corpus DIR/<class>/*.txt with BBC's classes (shared/topic-bench/bbc)
	HeldOut []string // more labelled corpora: classes named by BBC class, IPTC qcode or IPTC label
	Seeds   string   // a directory of articles that should form one story (shared/seeds)
	Folds   int      // cross-validation folds of the training command on Bench (0: skip)
	Model   *topic.Model
	Story   story.Config
}

// Summary holds the figures Report printed.
type Summary struct {
	Default   Table // default (or given) model on the deduplicated bench
	Short     Table // the same on the bench's short form (ShortForm)
	Trained   Table // cross-validated trained model
	Merged    int   // bench articles in a story with another class's article
	Articles  int   // bench articles grouped
	HeldOut   []Table
	SeedLinks []Grouped // in file order
	// SeedOrders is the arrival orders the seeds were grouped in,
	// SeedOrdersSame those that linked them as file order did.
	SeedOrders, SeedOrdersSame int
}

// seedOrders is how many arrival orders Report groups the seeds in.
const seedOrders = 20

// Report measures what opts asks and writes the tables to w.
func Report(w io.Writer, opts Options) (Summary, error) {
	var sum Summary
	if opts.Model == nil {
		opts.Model = topic.Default()
	}
	tg := tag.New(opts.Model)
	names := topicNames(opts.Model)
	if opts.Bench != "" {
		all, err := ReadCorpus(opts.Bench)
		if err != nil {
			return sum, err
		}
		kept, exact, near := Dedup(all)
		fmt.Fprintf(w, "== topic model on %s: %d articles, %d exact and %d near duplicates removed, %d left\n",
			opts.Bench, len(all), exact, near, len(kept))
		sum.Default = Evaluate(opts.Model, kept, BBCToIPTC)
		sum.Default.Print(w, names)

		short := make([]Doc, len(kept))
		for i, d := range kept {
			short[i] = ShortForm(d)
		}
		fmt.Fprintf(w, "\n== topic model on the short form of the same %d articles: title and first sentence\n", len(short))
		sum.Short = Evaluate(opts.Model, short, BBCToIPTC)
		sum.Short.Print(w, names)

		if opts.Folds > 1 {
			fmt.Fprintf(w, "\n== trained model (newsflow tagger train), %d-fold cross-validation on the deduplicated set\n", opts.Folds)
			t, accs, err := CrossValidate(kept, opts.Folds, topic.DefaultTrainConfig())
			if err != nil {
				return sum, err
			}
			sum.Trained = t
			t.Print(w, nil)
			parts := make([]string, len(accs))
			for i, a := range accs {
				parts[i] = fmt.Sprintf("%.4f", a)
			}
			fmt.Fprintf(w, "per fold: %s\n", strings.Join(parts, " "))
		}
		gs := Group(all, tg, opts.Story)
		merged, multi := FalseMerges(gs)
		sum.Merged, sum.Articles = merged, len(gs)
		fmt.Fprintf(w, "\n== story grouping on all %d articles in one window\n", len(all))
		fmt.Fprintf(w, "stories of more than one article: %d\n", multi)
		fmt.Fprintf(w, "false-merge rate: %.4f (%d articles share a story with an article of another class)\n",
			float64(merged)/float64(len(gs)), merged)
	}
	for _, dir := range opts.HeldOut {
		docs, err := ReadCorpus(dir)
		if err != nil {
			return sum, err
		}
		mapping, err := labelMapping(opts.Model, docs)
		if err != nil {
			return sum, fmt.Errorf("held-out set %s: %w", dir, err)
		}
		fmt.Fprintf(w, "\n== topic model on held-out set %s: %d articles\n", dir, len(docs))
		t := Evaluate(opts.Model, docs, mapping)
		sum.HeldOut = append(sum.HeldOut, t)
		t.Print(w, names)
	}
	if opts.Seeds != "" {
		docs, err := ReadSeeds(opts.Seeds)
		if err != nil {
			return sum, err
		}
		// Published in file order, 20 minutes apart; arriving in file
		// order first, then in random orders.
		start := time.Date(2025, 8, 18, 12, 0, 0, 0, time.UTC)
		times := make([]time.Time, len(docs))
		for i := range times {
			times[i] = start.Add(time.Duration(i) * 20 * time.Minute)
		}
		runs := GroupOrders(docs, times, tg, opts.Story, seedOrders, 1)
		same := 0
		for _, r := range runs {
			if SameRelations(runs[0], r) {
				same++
			}
		}
		sum.SeedLinks, sum.SeedOrders, sum.SeedOrdersSame = runs[0], len(runs), same
		fmt.Fprintf(w, "\n== story grouping of %s (published in file order, 20 minutes apart)\n", opts.Seeds)
		fmt.Fprintf(w, "arrival orders with the same relations as file order: %d of %d\n", same, len(runs))
		PrintGrouping(w, sum.SeedLinks, 1000)
	}
	return sum, nil
}

// topicNames maps a model's codes to short display names.
func topicNames(m *topic.Model) map[string]string {
	names := map[string]string{}
	for _, t := range m.Topics() {
		label, _, _ := strings.Cut(t.Label, ",")
		names[t.Code] = label
	}
	return names
}

// labelMapping maps a held-out corpus's class names to the model's topic
// codes: a code or a topic label of the model (case aside), or a BBC class
// name.
func labelMapping(m *topic.Model, docs []Doc) (map[string]string, error) {
	byName := map[string]string{}
	for _, t := range m.Topics() {
		byName[strings.ToLower(t.Code)] = t.Code
		byName[strings.ToLower(t.Label)] = t.Code
		byName[strings.TrimPrefix(strings.ToLower(t.Code), "medtop:")] = t.Code
	}
	mapping := map[string]string{}
	for _, d := range docs {
		if _, ok := mapping[d.Label]; ok {
			continue
		}
		if c, ok := byName[strings.ToLower(d.Label)]; ok {
			mapping[d.Label] = c
			continue
		}
		c, ok := BBCToIPTC[d.Label]
		if !ok {
			return nil, fmt.Errorf("class %q is neither a topic of the model nor a BBC class", d.Label)
		}
		mapping[d.Label] = c
	}
	return mapping, nil
}

// SharedData returns shared/<name> above the working directory, or "":
// the evaluation's default data.
func SharedData(name string) string { return shared.Find(name) }

// ReadSeeds reads every *.txt file of dir as one article, in name order,
// all of it text: a seed's first line is not always a headline.
func ReadSeeds(dir string) ([]Doc, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("seeds %s: no *.txt files", dir)
	}
	var docs []Doc
	for _, f := range files {
		d, err := ReadDoc(f)
		if err != nil {
			return nil, err
		}
		d.Text, d.Title = d.Title+"\n"+d.Text, ""
		docs = append(docs, d)
	}
	return docs, nil
}
