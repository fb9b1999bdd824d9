package topic

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/newsflow/newsflow/services/tagger/token"
)

// Doc is a labelled training document.
type Doc struct {
	Label string // topic code: the class directory's name, or an IPTC qcode
	Title string
	Text  string
	Lang  string // ISO 639-1 or "und"
}

// TrainConfig holds the training parameters.
type TrainConfig struct {
	// Alpha is the additive smoothing of term probabilities.
	Alpha float64
	// MinDocs is the fewest documents a term must occur in to be kept.
	MinDocs int
	// Labels names each topic code; a code without one is its own label.
	Labels map[string]string
}

// DefaultTrainConfig returns the parameters the evaluation uses.
func DefaultTrainConfig() TrainConfig { return TrainConfig{Alpha: 0.1, MinDocs: 2} }

// Train fits a multinomial naive Bayes model on docs with sublinear term
// counts (1 + ln tf, title terms doubled, as Classify counts them). Every
// label becomes a level-1 topic. The model is written by Save and read by
// Load like the built-in one.
func Train(docs []Doc, cfg TrainConfig) (*Model, error) {
	if len(docs) == 0 {
		return nil, fmt.Errorf("train topic model: no documents")
	}
	labels := map[string]int{}
	var codes []string
	for _, d := range docs {
		if d.Label == "" || strings.ContainsAny(d.Label, " \t\n") {
			return nil, fmt.Errorf("train topic model: bad label %q", d.Label)
		}
		if _, ok := labels[d.Label]; !ok {
			labels[d.Label] = 0
			codes = append(codes, d.Label)
		}
	}
	if len(codes) < 2 {
		return nil, fmt.Errorf("train topic model: need at least two labels, have %d", len(codes))
	}
	sort.Strings(codes)
	for i, c := range codes {
		labels[c] = i
	}
	k := len(codes)
	docCount := make([]float64, k)
	counts := map[string][]float64{}
	df := map[string]int{}
	for _, d := range docs {
		c := labels[d.Label]
		docCount[c]++
		tf := map[string]float64{}
		countAll(tf, d.Lang, d.Title, titleWeight)
		countAll(tf, d.Lang, d.Text, 1)
		for t, n := range tf {
			df[t]++
			v := counts[t]
			if v == nil {
				v = make([]float64, k)
				counts[t] = v
			}
			v[c] += 1 + math.Log(n)
		}
	}
	totals := make([]float64, k)
	vocab := 0
	for t, v := range counts {
		if df[t] < cfg.MinDocs {
			delete(counts, t)
			continue
		}
		vocab++
		for c := range v {
			totals[c] += v[c]
		}
	}
	m := &Model{linear: true, terms: make(map[string]entry, len(counts))}
	for i, c := range codes {
		label := c
		if l := cfg.Labels[c]; l != "" {
			label = l
		}
		m.topics = append(m.topics, Topic{Code: c, Label: label, Level: 1})
		m.bias = append(m.bias, math.Log(docCount[i]/float64(len(docs))))
	}
	for t, v := range counts {
		logp := make([]float64, k)
		mean := 0.0
		for c := range v {
			logp[c] = math.Log((v[c] + cfg.Alpha) / (totals[c] + cfg.Alpha*float64(vocab)))
			mean += logp[c] / float64(k)
		}
		// Centred per term: a term's common part adds the same to every
		// topic, so only the differences are kept.
		e := entry{strength: 1}
		for c := range logp {
			if w := logp[c] - mean; math.Abs(w) >= 1e-3 {
				e.assoc = append(e.assoc, assoc{topic: c, weight: w})
			}
		}
		if len(e.assoc) > 0 {
			m.terms[t] = e
		}
	}
	return m, nil
}

// countAll is count for training: every single-stem term, not only the
// model's.
func countAll(tf map[string]float64, lang, text string, weight float64) {
	for _, t := range token.Terms(lang, text) {
		if t != "" {
			tf[t] += weight
		}
	}
}

func (m *Model) classifyLinear(terms []string, tf map[string]float64) []Score {
	if len(terms) == 0 {
		return nil
	}
	scores := append([]float64(nil), m.bias...)
	for _, term := range terms {
		w := 1 + math.Log(tf[term])
		for _, a := range m.terms[term].assoc {
			scores[a.topic] += w * a.weight
		}
	}
	best := math.Inf(-1)
	for _, s := range scores {
		best = max(best, s)
	}
	sum := 0.0
	for i, s := range scores {
		scores[i] = math.Exp(s - best)
		sum += scores[i]
	}
	for i := range scores {
		scores[i] /= sum
	}
	return m.ranked(scores)
}

// Save writes a model in the format Load reads.
func (m *Model) Save(w io.Writer) error {
	var sb strings.Builder
	sb.WriteString("# newsflow topic model: trained by newsflow tagger train.\n")
	if m.linear {
		sb.WriteString("# topic TAB code TAB level TAB label TAB log prior; term TAB stem TAB 1 TAB topic-index:weight ...\nlinear\n")
	}
	for i, t := range m.topics {
		fmt.Fprintf(&sb, "topic\t%s\t%d\t%s", t.Code, t.Level, t.Label)
		if m.linear {
			sb.WriteString("\t" + strconv.FormatFloat(m.bias[i], 'g', 6, 64))
		}
		sb.WriteByte('\n')
	}
	terms := make([]string, 0, len(m.terms))
	for t := range m.terms {
		terms = append(terms, t)
	}
	sort.Strings(terms)
	for _, t := range terms {
		e := m.terms[t]
		fmt.Fprintf(&sb, "term\t%s\t%s\t", t, strconv.FormatFloat(e.strength, 'f', 3, 64))
		for i, a := range e.assoc {
			if i > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(strconv.Itoa(a.topic) + ":" + strconv.FormatFloat(a.weight, 'g', 4, 64))
		}
		sb.WriteByte('\n')
	}
	if _, err := io.WriteString(w, sb.String()); err != nil {
		return fmt.Errorf("write topic model: %w", err)
	}
	return nil
}

// Terms is the number of terms the model knows.
func (m *Model) Terms() int { return len(m.terms) }
