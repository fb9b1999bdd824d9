// Package topic classifies article text into IPTC Media Topics.
//
// A Model maps normalised terms (token stems and adjacent stem pairs) to
// associations with topics. The default model, model.tsv, is generated from
// the IPTC Media Topics vocabulary (CC-BY 4.0, see NOTICE) and the
// hand-written seed terms in vocab.tsv by internal/gen; regenerate it with
// go generate after changing either, and commit the result. A test checks
// that the committed file is what the generator produces.
//
// Classification sums, over the document's terms, the term's association
// with each topic weighted by 1+ln(term frequency) (title terms count
// double), and reports each topic's share of the total; in the built-in
// model the five section topics (arts, economy, politics, science and
// technology, sport) weigh sectionPrior times more. After each
// top-level topic the built-in model reports one of its second-level topics
// when the evidence for it is strong (narrower.go, from narrower.tsv).
// Trained models (linear.go) score with naive Bayes instead.
package topic

//go:generate go run ./internal/gen

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/newsflow/newsflow/services/tagger/token"
)

// Score is a topic assigned to a text.
type Score struct {
	Code  string  // IPTC qcode, e.g. "medtop:11000000"
	Label string  // English label
	Score float64 // share of the evidence, 0..1
	Level int     // 1 for top-level topics
}

// Topic is a topic the model can assign.
type Topic struct {
	Code  string
	Label string
	Level int
}

type assoc struct {
	topic  int
	weight float64
}

type entry struct {
	strength float64
	assoc    []assoc
}

// Model is an immutable topic model, safe for concurrent use.
type Model struct {
	topics []Topic
	terms  map[string]entry
	// narrower adds second-level IPTC topics (the built-in model).
	narrower bool
	// linear marks a trained model (see Train): associations are
	// log-likelihood weights of any sign, bias holds the log priors, and a
	// text's scores are the softmax of bias plus weighted term counts.
	linear bool
	bias   []float64
}

const (
	// minEvidence is the summed term strength below which a text is
	// considered to say nothing about any topic: a single weak term in a
	// long text is not a topic.
	minEvidence = 1.0
	// minShare is the share of the evidence a topic other than the best
	// needs to be reported.
	minShare = 0.15
	// sectionPrior multiplies the share of the topics that newsrooms
	// organise whole sections around (see sections): an article whose
	// evidence is split between such a topic and a narrower facet of it
	// ("a minister's school reform": politics and education) is most often
	// filed under the section. 1.25 is a judgement, not a fitted value.
	sectionPrior = 1.25
	// titleWeight counts a title term this many times: headlines name the
	// subject.
	titleWeight = 2
)

// sections are the built-in model's section topics (see sectionPrior):
// arts and media, economy, politics, science and technology, sport.
var sections = map[string]bool{
	"medtop:01000000": true, "medtop:04000000": true, "medtop:11000000": true,
	"medtop:13000000": true, "medtop:15000000": true,
}

// prior is the built-in model's weight of topic i's share.
func (m *Model) prior(i int) float64 {
	if m.narrower && sections[m.topics[i].Code] {
		return sectionPrior
	}
	return 1
}

//go:embed model.tsv
var defaultModel string

// DefaultText returns the text of the built-in model, as Load reads it.
func DefaultText() []byte { return []byte(defaultModel) }

var loadDefault = sync.OnceValues(func() (*Model, error) {
	m, err := Load(strings.NewReader(defaultModel))
	if err != nil {
		return nil, err
	}
	if _, err := loadNarrower(); err != nil {
		return nil, err
	}
	m.narrower = true
	return m, nil
})

// Default returns the model shipped with the package. It is parsed once and
// shared; it panics only if the embedded file is corrupt, which the tests
// rule out.
func Default() *Model {
	m, err := loadDefault()
	if err != nil {
		panic(fmt.Sprintf("topic: embedded model: %v", err))
	}
	return m
}

// Load reads a model in the format of model.tsv.
func Load(r io.Reader) (*Model, error) {
	m := &Model{terms: map[string]entry{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !utf8.ValidString(line) || strings.ContainsFunc(line, func(r rune) bool { return r < ' ' && r != '\t' }) {
			// Not echoed: a binary file would print its bytes.
			return nil, fmt.Errorf("load topic model: line %d is not text: not a model file (want the format of newsflow tagger train)", n)
		}
		if err := m.parseLine(line); err != nil {
			return nil, fmt.Errorf("load topic model: line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("load topic model: %w", err)
	}
	if len(m.topics) == 0 {
		return nil, fmt.Errorf("load topic model: no topics")
	}
	return m, nil
}

func (m *Model) parseLine(line string) error {
	f := strings.Split(line, "\t")
	switch {
	case f[0] == "linear" && len(f) == 1:
		if len(m.topics) > 0 {
			return fmt.Errorf("linear after topics")
		}
		m.linear = true
		return nil
	case f[0] == "topic" && (len(f) == 4 || m.linear && len(f) == 5):
		if len(m.terms) > 0 {
			return fmt.Errorf("topic after terms")
		}
		level, err := strconv.Atoi(f[2])
		if err != nil || level < 1 {
			return fmt.Errorf("bad level %q", f[2])
		}
		if !m.linear && !strings.HasPrefix(f[1], "medtop:") || f[1] == "" || strings.ContainsAny(f[1], " \t") {
			return fmt.Errorf("bad topic code %q", f[1])
		}
		m.topics = append(m.topics, Topic{Code: f[1], Label: f[3], Level: level})
		if m.linear {
			b, err := strconv.ParseFloat(f[4], 64)
			if err != nil || math.IsNaN(b) || math.IsInf(b, 0) {
				return fmt.Errorf("topic %s: bad bias %q", f[1], f[4])
			}
			m.bias = append(m.bias, b)
		}
		return nil
	case f[0] == "term" && len(f) == 4:
		return m.parseTerm(f[1], f[2], f[3])
	default:
		return fmt.Errorf("unknown record %q", f[0])
	}
}

func (m *Model) parseTerm(term, strength, assocs string) error {
	if term == "" {
		return fmt.Errorf("empty term")
	}
	if _, dup := m.terms[term]; dup {
		return fmt.Errorf("duplicate term %q", term)
	}
	s, err := parseUnit(strength)
	if err != nil {
		return fmt.Errorf("term %q: strength: %w", term, err)
	}
	e := entry{strength: s}
	for _, a := range strings.Fields(assocs) {
		idx, w, ok := strings.Cut(a, ":")
		if !ok {
			return fmt.Errorf("term %q: bad association %q", term, a)
		}
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 || i >= len(m.topics) {
			return fmt.Errorf("term %q: bad topic index %q", term, idx)
		}
		wf, err := m.parseWeight(w)
		if err != nil {
			return fmt.Errorf("term %q: association: %w", term, err)
		}
		e.assoc = append(e.assoc, assoc{topic: i, weight: wf})
	}
	if len(e.assoc) == 0 {
		return fmt.Errorf("term %q: no association", term)
	}
	m.terms[term] = e
	return nil
}

// parseWeight parses an association: in [0, 1], or any finite number in a
// linear model.
func (m *Model) parseWeight(s string) (float64, error) {
	if !m.linear {
		return parseUnit(s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("bad weight %q", s)
	}
	return v, nil
}

// parseUnit parses a number in [0, 1].
func parseUnit(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %q: %w", s, err)
	}
	if !(v >= 0 && v <= 1) {
		return 0, fmt.Errorf("%q out of [0,1]", s)
	}
	return v, nil
}

// Topics lists the topics the model can assign, in model order.
func (m *Model) Topics() []Topic {
	return append([]Topic(nil), m.topics...)
}

// Classify scores title and text (in language lang, an ISO 639-1 code or
// "und") against the model's topics. It returns the topics whose share of
// the evidence reaches a threshold, best first, always including the best
// when the text holds any evidence, and nothing for empty or meaningless
// text.
func (m *Model) Classify(title, text, lang string) []Score {
	tt, bt := token.Terms(lang, title), token.Terms(lang, text)
	tf := map[string]float64{}
	m.count(tf, tt, titleWeight)
	m.count(tf, bt, 1)

	// Sum in a fixed order: float addition is not associative, and the same
	// article must always get the same scores.
	terms := make([]string, 0, len(tf))
	for term := range tf {
		terms = append(terms, term)
	}
	sort.Strings(terms)
	if m.linear {
		return m.classifyLinear(terms, tf)
	}
	sums := make([]float64, len(m.topics))
	evidence, total := 0.0, 0.0
	for _, term := range terms {
		n := tf[term]
		e := m.terms[term]
		w := 1 + math.Log(n)
		evidence += w * e.strength
		for _, a := range e.assoc {
			sums[a.topic] += w * a.weight
			total += w * a.weight
		}
	}
	if evidence < minEvidence || total == 0 {
		return nil
	}
	shares := make([]float64, len(sums))
	weighted := 0.0
	for i, s := range sums {
		shares[i] = s * m.prior(i)
		weighted += shares[i]
	}
	for i := range shares {
		shares[i] /= weighted
	}
	if m.narrower {
		return withNarrower(m.ranked(shares), tt, bt)
	}
	return m.ranked(shares)
}

// ranked turns per-topic shares into the reported scores: the best, and
// the others whose share reaches minShare, best first.
func (m *Model) ranked(shares []float64) []Score {
	var out []Score
	for i, share := range shares {
		if share > 0 {
			t := m.topics[i]
			out = append(out, Score{Code: t.Code, Label: t.Label, Score: share, Level: t.Level})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].Code < out[j].Code
	})
	keep := 1
	for keep < len(out) && out[keep].Score >= minShare {
		keep++
	}
	return out[:keep]
}

// count adds the model's terms found in a text's terms (single stems and
// adjacent pairs) to tf with the given weight.
func (m *Model) count(tf map[string]float64, terms []string, weight float64) {
	for t := range token.Grams(terms) {
		if m.hasTerm(t) {
			tf[t] += weight
		}
	}
}

func (m *Model) hasTerm(t string) bool {
	_, ok := m.terms[t]
	return ok
}
