// Package modelgen derives the topic model from the IPTC Media Topics
// vocabulary (cptall-x-all.json, CC-BY 4.0) and the hand-written seed
// vocabulary in topic/vocab.tsv.
//
// Every concept's labels and definitions (English, German, French, Spanish,
// Portuguese) count as text of its top-level ancestor; labels weigh more than
// definitions and seed terms more than either. For each term the generator
// stores how strongly it points to each top-level topic: its share of the
// term's size-normalised frequency across topics, scaled by how specific the
// term is (one minus the normalised entropy of that distribution) and by how
// much evidence there is for it. Word pairs from labels and seed phrases are
// terms too ("world cup", "interest rate"); a seed phrase's single words
// count phraseWordShare as much as the phrase. vocab.tsv lines with the
// qcode "*" list generic words, which the model leaves out.
package modelgen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/newsflow/newsflow/services/tagger/token"
)

// Weights of one occurrence by where the term was found.
const (
	labelWeight      = 3.0
	definitionWeight = 0.5
	seedWeight       = 16.0
	// phraseWordShare is the share of seedWeight a word of a seed phrase
	// gets on its own.
	phraseWordShare = 0.5
	// evidenceScale is the weight at which a term's evidence factor reaches
	// 1-1/e: one seed, or a handful of label/definition occurrences.
	evidenceScale = 4.0
	// Associations and strengths below these are dropped to keep the model
	// small; they would not change a ranking.
	minAssoc    = 0.02
	minStrength = 0.05
)

// iptcLangs maps IPTC's language keys to ours, with a weight that keeps the
// two Portuguese variants (nearly identical text) from counting twice.
// A slice, not a map: float sums must run in a fixed order for the output
// to be reproducible byte for byte.
var iptcLangs = []struct {
	key, code string
	weight    float64
}{
	{"en-GB", "en", 1}, {"de", "de", 1}, {"fr", "fr", 1}, {"es", "es", 1},
	{"pt-PT", "pt", 0.5}, {"pt-BR", "pt", 0.5},
}

type concept struct {
	QCode      string            `json:"qcode"`
	PrefLabel  map[string]string `json:"prefLabel"`
	Definition map[string]string `json:"definition"`
	Broader    []string          `json:"broader"`
}

type scheme struct {
	ConceptSet []concept `json:"conceptSet"`
}

// Topic is a top-level Media Topic.
type Topic struct {
	Code  string
	Label string
}

type builder struct {
	topics []Topic
	index  map[string]int             // qcode of a top-level topic → position
	counts map[string]map[int]float64 // term → topic → weight
	// generic holds single words that news uses on any topic ("team",
	// "record", "work"): they say nothing about the topic and are left out
	// of the model. Pairs that contain them ("world record") stay.
	generic map[string]bool
	totals  []float64 // topic → total weight
}

// Build reads the IPTC JSON and the seed vocabulary and returns the model
// file's bytes. The output is deterministic.
func Build(iptc, vocab io.Reader) ([]byte, error) {
	var s scheme
	if err := json.NewDecoder(iptc).Decode(&s); err != nil {
		return nil, fmt.Errorf("decode iptc media topics: %w", err)
	}
	b, err := newBuilder(s.ConceptSet)
	if err != nil {
		return nil, err
	}
	if err := b.addConcepts(s.ConceptSet); err != nil {
		return nil, err
	}
	if err := b.addVocab(vocab); err != nil {
		return nil, err
	}
	return b.encode(), nil
}

func qcode(ref string) string {
	if i := strings.LastIndexByte(ref, '/'); i >= 0 {
		return "medtop:" + ref[i+1:]
	}
	return ref
}

func newBuilder(concepts []concept) (*builder, error) {
	b := &builder{index: map[string]int{}, counts: map[string]map[int]float64{}, generic: map[string]bool{}}
	for _, c := range concepts {
		if len(c.Broader) == 0 {
			b.topics = append(b.topics, Topic{Code: c.QCode, Label: c.PrefLabel["en-GB"]})
		}
	}
	if len(b.topics) == 0 {
		return nil, fmt.Errorf("iptc media topics: no top-level concept")
	}
	sort.Slice(b.topics, func(i, j int) bool { return b.topics[i].Code < b.topics[j].Code })
	for i, t := range b.topics {
		b.index[t.Code] = i
	}
	b.totals = make([]float64, len(b.topics))
	return b, nil
}

// top finds the top-level ancestor of a concept.
func (b *builder) top(byCode map[string]concept, c concept) (int, bool) {
	for range 10 { // the scheme has six levels; the bound guards against cycles
		if i, ok := b.index[c.QCode]; ok {
			return i, true
		}
		if len(c.Broader) == 0 {
			return 0, false
		}
		parent, ok := byCode[qcode(c.Broader[0])]
		if !ok {
			return 0, false
		}
		c = parent
	}
	return 0, false
}

func (b *builder) addConcepts(concepts []concept) error {
	byCode := make(map[string]concept, len(concepts))
	for _, c := range concepts {
		byCode[c.QCode] = c
	}
	for _, c := range concepts {
		topic, ok := b.top(byCode, c)
		if !ok {
			return fmt.Errorf("iptc concept %s: no top-level ancestor", c.QCode)
		}
		for _, l := range iptcLangs {
			if label := c.PrefLabel[l.key]; label != "" {
				b.addText(topic, l.code, label, labelWeight*l.weight, true)
			}
			if def := c.Definition[l.key]; def != "" {
				b.addText(topic, l.code, def, definitionWeight*l.weight, false)
			}
		}
	}
	return nil
}

// addVocab reads lines "qcode TAB lang TAB term, term, ...". The qcode "*"
// marks generic words (see builder.generic).
func (b *builder) addVocab(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != 3 {
			return fmt.Errorf("vocab line %d: want 3 tab-separated fields, got %d", n, len(fields))
		}
		if fields[0] == "*" {
			for _, phrase := range strings.Split(fields[2], ",") {
				for _, t := range token.Terms(fields[1], phrase) {
					b.generic[t] = true
				}
			}
			continue
		}
		topic, ok := b.index[fields[0]]
		if !ok {
			return fmt.Errorf("vocab line %d: %q is not a top-level media topic", n, fields[0])
		}
		for _, phrase := range strings.Split(fields[2], ",") {
			b.addPhrase(topic, fields[1], phrase)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read vocab: %w", err)
	}
	return nil
}

// addPhrase adds a seed term. The words of a phrase of several words count
// as evidence too, but weaker than the phrase: "shot put" is sport, "put"
// alone is not.
func (b *builder) addPhrase(topic int, lang, phrase string) {
	terms := token.Terms(lang, phrase)
	single := seedWeight
	if len(terms) > 1 {
		single = seedWeight * phraseWordShare
	}
	for t, pair := range token.Grams(terms) {
		if pair {
			b.add(topic, t, seedWeight)
		} else {
			b.add(topic, t, single)
		}
	}
}

func (b *builder) addText(topic int, lang, text string, weight float64, pairs bool) {
	for t, pair := range token.Grams(token.Terms(lang, text)) {
		if pairs || !pair {
			b.add(topic, t, weight)
		}
	}
}

func (b *builder) add(topic int, term string, weight float64) {
	m := b.counts[term]
	if m == nil {
		m = map[int]float64{}
		b.counts[term] = m
	}
	m[topic] += weight
	b.totals[topic] += weight
}

func (b *builder) encode() []byte {
	var sb strings.Builder
	sb.WriteString("# newsflow topic model v1: generated by go run ./internal/gen, do not edit.\n")
	sb.WriteString("# Derived from IPTC Media Topics (c) IPTC, CC-BY 4.0, and newsflow's vocab.tsv; see NOTICE.\n")
	sb.WriteString("# topic TAB qcode TAB level TAB English label\n# term TAB stem(s) TAB strength TAB topic-index:association ...\n")
	for _, t := range b.topics {
		fmt.Fprintf(&sb, "topic\t%s\t1\t%s\n", t.Code, t.Label)
	}
	terms := make([]string, 0, len(b.counts))
	for t := range b.counts {
		terms = append(terms, t)
	}
	sort.Strings(terms)
	k := float64(len(b.topics))
	for _, t := range terms {
		if b.generic[t] {
			continue
		}
		m := b.counts[t]
		topics := make([]int, 0, len(m))
		for c := range m {
			topics = append(topics, c)
		}
		sort.Ints(topics)
		norm, total := 0.0, 0.0
		for _, c := range topics {
			norm += m[c] / b.totals[c]
			total += m[c]
		}
		entropy := 0.0
		for _, c := range topics {
			p := m[c] / b.totals[c] / norm
			entropy -= p * math.Log(p)
		}
		strength := (1 - entropy/math.Log(k)) * (1 - math.Exp(-total/evidenceScale))
		if strength < minStrength {
			continue
		}
		var assoc []string
		for _, c := range topics {
			a := m[c] / b.totals[c] / norm * strength
			if a >= minAssoc {
				assoc = append(assoc, strconv.Itoa(c)+":"+strconv.FormatFloat(a, 'f', 3, 64))
			}
		}
		if len(assoc) == 0 {
			continue
		}
		fmt.Fprintf(&sb, "term\t%s\t%s\t%s\n", t, strconv.FormatFloat(strength, 'f', 3, 64), strings.Join(assoc, " "))
	}
	return []byte(sb.String())
}
