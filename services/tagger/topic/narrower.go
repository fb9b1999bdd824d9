package topic

import (
	"bufio"
	_ "embed"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/newsflow/newsflow/services/tagger/token"
)

// Second-level topics are reported only on strong evidence: the child's
// own terms (its label and its descendants' labels, from narrower.tsv)
// must weigh at least narrowEvidence and hold at least narrowShare of
// the evidence for the parent's children.
const (
	narrowEvidence = 3.0
	narrowShare    = 0.5
)

//go:embed narrower.tsv
var narrowerFile string

type narrow struct {
	code, parent, label string
}

// narrowerIndex maps a term to the second-level topics it names.
type narrowerIndex struct {
	topics []narrow
	terms  map[string][]int
}

var loadNarrower = sync.OnceValues(func() (*narrowerIndex, error) {
	return parseNarrower(narrowerFile)
})

func parseNarrower(src string) (*narrowerIndex, error) {
	n := &narrowerIndex{terms: map[string][]int{}}
	sc := bufio.NewScanner(strings.NewReader(src))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for line := 1; sc.Scan(); line++ {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		f := strings.Split(l, "\t")
		if len(f) != 4 || !strings.HasPrefix(f[0], "medtop:") || !strings.HasPrefix(f[1], "medtop:") {
			return nil, fmt.Errorf("narrower topics: line %d: want qcode, parent, label, terms", line)
		}
		i := len(n.topics)
		n.topics = append(n.topics, narrow{code: f[0], parent: f[1], label: f[2]})
		for _, t := range strings.Split(f[3], ",") {
			n.terms[t] = append(n.terms[t], i)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("narrower topics: %w", err)
	}
	return n, nil
}

// narrowerFor returns the second-level topic of parent that the terms of
// title and text point to strongly, with its share of the children's
// evidence, or false.
func (n *narrowerIndex) narrowerFor(parent string, title, text []string) (narrow, float64, bool) {
	tf := map[int]map[string]float64{}
	add := func(terms []string, weight float64) {
		for c := range token.Grams(terms) {
			for _, k := range n.terms[c] {
				if n.topics[k].parent != parent {
					continue
				}
				if tf[k] == nil {
					tf[k] = map[string]float64{}
				}
				tf[k][c] += weight
			}
		}
	}
	add(title, titleWeight)
	add(text, 1)
	keys := make([]int, 0, len(tf))
	for k := range tf {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	best, bestE, total := -1, 0.0, 0.0
	for _, k := range keys {
		terms := make([]string, 0, len(tf[k]))
		for t := range tf[k] {
			terms = append(terms, t)
		}
		sort.Strings(terms)
		e := 0.0
		for _, t := range terms {
			e += 1 + math.Log(tf[k][t])
		}
		total += e
		if e > bestE {
			best, bestE = k, e
		}
	}
	if best < 0 || bestE < narrowEvidence || bestE/total < narrowShare {
		return narrow{}, 0, false
	}
	return n.topics[best], bestE / total, true
}

// withNarrower appends, after each level-1 topic of scores, its strongly
// evidenced second-level topic (score: the parent's times its share).
// tt and bt are the terms of the title and the text.
func withNarrower(scores []Score, tt, bt []string) []Score {
	n, err := loadNarrower()
	if err != nil {
		panic(fmt.Sprintf("topic: embedded narrower topics: %v", err))
	}
	out := make([]Score, 0, len(scores)+1)
	for _, s := range scores {
		out = append(out, s)
		if s.Level != 1 {
			continue
		}
		if c, share, ok := n.narrowerFor(s.Code, tt, bt); ok {
			out = append(out, Score{Code: c.code, Label: c.label, Score: s.Score * share, Level: 2})
		}
	}
	return out
}
