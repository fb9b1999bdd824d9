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

// ClassScore is how well one gold class was recognised.
type ClassScore struct {
	Class                 string
	Docs, Predicted, Hits int // documents of the class, documents given it, both
	Precision, Recall, F1 float64
}

// Classes scores every gold class, in code order: precision is the share
// of documents given the class that belong to it, recall the share of its
// documents given it.
func (t Table) Classes() []ClassScore {
	predicted := map[string]int{}
	for _, row := range t.Counts {
		for got, n := range row {
			predicted[got] += n
		}
	}
	var out []ClassScore
	for _, g := range t.golds() {
		c := ClassScore{Class: g, Predicted: predicted[g], Hits: t.Counts[g][g]}
		for _, n := range t.Counts[g] {
			c.Docs += n
		}
		if c.Predicted > 0 {
			c.Precision = float64(c.Hits) / float64(c.Predicted)
		}
		if c.Docs > 0 {
			c.Recall = float64(c.Hits) / float64(c.Docs)
		}
		if c.Precision+c.Recall > 0 {
			c.F1 = 2 * c.Precision * c.Recall / (c.Precision + c.Recall)
		}
		out = append(out, c)
	}
	return out
}

// MacroF1 is the mean of the classes' F1.
func (t Table) MacroF1() float64 {
	cs := t.Classes()
	if len(cs) == 0 {
		return 0
	}
	sum := 0.0
	for _, c := range cs {
		sum += c.F1
	}
	return sum / float64(len(cs))
}

func (t Table) golds() []string {
	golds := make([]string, 0, len(t.Counts))
	for g := range t.Counts {
		golds = append(golds, g)
	}
	sort.Strings(golds)
	return golds
}

// Print writes the table: one row per gold class with its precision,
// recall and F1 and where its documents went, then the confusion matrix
// (rows gold, columns predicted; the topics no document belongs to are
// summed under "other"). names shortens codes for display (nil: as is).
func (t Table) Print(w io.Writer, names map[string]string) {
	name := func(c string) string {
		if n, ok := names[c]; ok {
			return n
		}
		return c
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "class\tdocs\tcorrect\tprecision\trecall\tF1\tpredicted as")
	for _, c := range t.Classes() {
		row := t.Counts[c.Class]
		gots := rank.Keys(row)
		parts := make([]string, len(gots))
		for i, got := range gots {
			parts[i] = fmt.Sprintf("%s %d", name(got), row[got])
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.4f\t%.4f\t%.4f\t%s\n", name(c.Class), c.Docs, c.Hits, c.Precision, c.Recall, c.F1, strings.Join(parts, ", "))
	}
	fmt.Fprintf(tw, "all\t%d\t%d\taccuracy %.4f\t\tmacro %.4f\t\n", t.Total, t.Correct, t.Accuracy(), t.MacroF1())
	tw.Flush()

	golds := t.golds()
	isGold := map[string]bool{}
	for _, g := range golds {
		isGold[g] = true
	}
	fmt.Fprintln(w, "confusion (rows: class, columns: predicted)")
	fmt.Fprint(tw, "\t")
	for _, g := range golds {
		fmt.Fprintf(tw, "%s\t", name(g))
	}
	fmt.Fprintln(tw, "other\tnone\t")
	for _, g := range golds {
		fmt.Fprintf(tw, "%s\t", name(g))
		other := 0
		for got, n := range t.Counts[g] {
			if !isGold[got] && got != "none" {
				other += n
			}
		}
		for _, p := range golds {
			fmt.Fprintf(tw, "%d\t", t.Counts[g][p])
		}
		fmt.Fprintf(tw, "%d\t%d\t\n", other, t.Counts[g]["none"])
	}
	tw.Flush()
}
