// Package score implements the extraction benchmark's metric: shingles of
// four word tokens compared as multisets, precision and recall averaged over
// pages, F1 the harmonic mean of the two averages, and accuracy the share of
// pages whose token sequence equals the ground truth's.
package score

import (
	"slices"
	"strings"
	"unicode"
)

// Tokens splits s into maximal runs of Unicode letters, digits and '_', as
// Python's re.findall(r'\w+') does.
func Tokens(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return !isWord(r) })
}

// isWord matches Python 3's \w for str patterns: alphanumeric characters
// (letters, and characters with a numeric value) and the underscore. Marks
// (category M) are not alphanumeric in Python, so they split tokens.
func isWord(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.N, r)
}

// shingleSize is the number of tokens in a shingle.
const shingleSize = 4

// Shingles counts the runs of four consecutive tokens of toks; a text of one
// to three tokens is one short shingle, an empty one has none.
func Shingles(toks []string) map[string]int {
	out := map[string]int{}
	if len(toks) == 0 {
		return out
	}
	if len(toks) < shingleSize {
		out[strings.Join(toks, "\x00")]++
		return out
	}
	for i := 0; i+shingleSize <= len(toks); i++ {
		out[strings.Join(toks[i:i+shingleSize], "\x00")]++
	}
	return out
}

// Page is the comparison of one prediction with its ground truth.
type Page struct {
	TP, FP, FN int
	// Exact is true when the token sequences are equal.
	Exact bool
}

// Compare scores a predicted text against the expected one.
func Compare(predicted, expected string) Page {
	pt, et := Tokens(predicted), Tokens(expected)
	ps, es := Shingles(pt), Shingles(et)
	var p Page
	for s, n := range ps {
		m := es[s]
		p.TP += min(n, m)
		p.FP += max(n-m, 0)
	}
	for s, m := range es {
		p.FN += max(m-ps[s], 0)
	}
	p.Exact = slices.Equal(pt, et)
	return p
}

// Precision is tp/(tp+fp); 1 when fp and fn are both 0, 0 when tp+fp is 0
// otherwise.
func (p Page) Precision() float64 {
	if p.FP == 0 && p.FN == 0 {
		return 1
	}
	if p.TP+p.FP == 0 {
		return 0
	}
	return float64(p.TP) / float64(p.TP+p.FP)
}

// Recall is tp/(tp+fn); 1 when fp and fn are both 0, 0 when tp+fn is 0
// otherwise.
func (p Page) Recall() float64 {
	if p.FP == 0 && p.FN == 0 {
		return 1
	}
	if p.TP+p.FN == 0 {
		return 0
	}
	return float64(p.TP) / float64(p.TP+p.FN)
}

// Summary is the metric over a set of pages.
type Summary struct {
	Pages                           int
	Precision, Recall, F1, Accuracy float64
}

// Summarize averages precision over the pages with tp+fp > 0 and recall over
// the pages with tp+fn > 0, and takes F1 as the harmonic mean of the two
// averages.
func Summarize(pages []Page) Summary {
	s := Summary{Pages: len(pages)}
	var pSum, rSum float64
	var pN, rN, exact int
	for _, p := range pages {
		// The README's per-page fractions: tp, fp and fn divided by their
		// sum. Precision and recall are ratios of them, so the division
		// cancels; only whether the denominators are zero matters.
		if p.TP+p.FP > 0 {
			pSum += p.Precision()
			pN++
		}
		if p.TP+p.FN > 0 {
			rSum += p.Recall()
			rN++
		}
		if p.Exact {
			exact++
		}
	}
	if pN > 0 {
		s.Precision = pSum / float64(pN)
	}
	if rN > 0 {
		s.Recall = rSum / float64(rN)
	}
	s.F1 = F1(s.Precision, s.Recall)
	if len(pages) > 0 {
		s.Accuracy = float64(exact) / float64(len(pages))
	}
	return s
}

// F1 is the harmonic mean of precision p and recall r; 0 when both are 0.
func F1(p, r float64) float64 {
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}
