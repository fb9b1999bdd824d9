package evaluate

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/newsflow/newsflow/services/tagger/internal/rank"
	"github.com/newsflow/newsflow/services/tagger/topic"
)

// Table is a confusion table: gold label → predicted label → count.
type Table struct {
	Counts  map[string]map[string]int
	Correct int
	Total   int
}

// Accuracy is the share of documents whose top topic is the gold one.
func (t Table) Accuracy() float64 {
	if t.Total == 0 {
		return 0
	}
	return float64(t.Correct) / float64(t.Total)
}

func (t *Table) add(gold, got string) {
	if t.Counts == nil {
		t.Counts = map[string]map[string]int{}
	}
	if t.Counts[gold] == nil {
		t.Counts[gold] = map[string]int{}
	}
	t.Counts[gold][got]++
	t.Total++
	if gold == got {
		t.Correct++
	}
}

// Evaluate classifies docs with m. mapping turns a corpus label into the
// topic code the model should give (nil: the label is the code); the
// prediction is the model's best topic at mapping's level, "none" when it
// gives none.
func Evaluate(m *topic.Model, docs []Doc, mapping map[string]string) Table {
	var t Table
	for _, d := range docs {
		gold := d.Label
		if mapping != nil {
			gold = mapping[d.Label]
		}
		t.add(gold, top(m, d))
	}
	return t
}

func top(m *topic.Model, d Doc) string {
	for _, s := range m.Classify(d.Title, d.Text, d.Lang) {
		if s.Level == 1 {
			return s.Code
		}
	}
	return "none"
}

// CrossValidate trains on k-1 folds and tests on the k-th, k times, and
// returns the pooled table and each fold's accuracy. Folds are stratified:
// the documents of each label, in path order, are dealt round-robin.
func CrossValidate(docs []Doc, k int, cfg topic.TrainConfig) (Table, []float64, error) {
	if k < 2 {
		return Table{}, nil, fmt.Errorf("cross-validate: need at least 2 folds")
	}
	fold := make([]int, len(docs))
	next := map[string]int{}
	order := make([]int, len(docs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return docs[order[a]].Path < docs[order[b]].Path })
	for _, i := range order {
		fold[i] = next[docs[i].Label] % k
		next[docs[i].Label]++
	}
	tables := make([]Table, k)
	errs := make([]error, k)
	parallel(k, func(f int) {
		var train []topic.Doc
		var test []Doc
		for i, d := range docs {
			if fold[i] == f {
				test = append(test, d)
			} else {
				train = append(train, d.Doc)
			}
		}
		m, err := topic.Train(train, cfg)
		if err != nil {
			errs[f] = fmt.Errorf("fold %d: %w", f+1, err)
			return
		}
		tables[f] = Evaluate(m, test, nil)
	})
	var pooled Table
	var accs []float64
	for f, t := range tables {
		if errs[f] != nil {
			return Table{}, nil, errs[f]
		}
		accs = append(accs, t.Accuracy())
		for gold, row := range t.Counts {
			for got, n := range row {
				for range n {
					pooled.add(gold, got)
				}
			}
		}
	}
	return pooled, accs, nil
}

// Print writes the table: one row per gold label with its accuracy and
// where its documents went. names shortens codes for display (nil: as is).
func (t Table) Print(w io.Writer, names map[string]string) {
	name := func(c string) string {
		if n, ok := names[c]; ok {
			return n
		}
		return c
	}
	golds := make([]string, 0, len(t.Counts))
	for g := range t.Counts {
		golds = append(golds, g)
	}
	sort.Strings(golds)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "class\tdocs\tcorrect\taccuracy\tpredicted as")
	for _, g := range golds {
		row := t.Counts[g]
		n := 0
		for _, c := range row {
			n += c
		}
		gots := rank.Keys(row)
		parts := make([]string, len(gots))
		for i, got := range gots {
			parts[i] = fmt.Sprintf("%s %d", name(got), row[got])
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.4f\t%s\n", name(g), n, row[g], float64(row[g])/float64(n), strings.Join(parts, ", "))
	}
	fmt.Fprintf(tw, "all\t%d\t%d\t%.4f\t\n", t.Total, t.Correct, t.Accuracy())
	tw.Flush()
}
