package score

import "strings"

// WCXB's metric (../shared/extraction-bench-wcxb/README.md): per page,
// precision, recall and F1 over lowercased \w+ tokens counted as multisets;
// each of the three is averaged over the pages. An empty prediction scores 0.

// WordPage is the word-level comparison of one prediction with its ground
// truth.
type WordPage struct {
	// Overlap is the sum over tokens of the smaller of the two counts;
	// Predicted and Expected are the two texts' token counts.
	Overlap, Predicted, Expected int
}

// CompareWords scores a predicted text against the expected one on words.
func CompareWords(predicted, expected string) WordPage {
	pt, et := Tokens(strings.ToLower(predicted)), Tokens(strings.ToLower(expected))
	counts := make(map[string]int, len(et))
	for _, t := range et {
		counts[t]++
	}
	w := WordPage{Predicted: len(pt), Expected: len(et)}
	for _, t := range pt {
		if counts[t] > 0 {
			counts[t]--
			w.Overlap++
		}
	}
	return w
}

// Precision is overlap/predicted, 0 for an empty prediction.
func (w WordPage) Precision() float64 {
	if w.Predicted == 0 {
		return 0
	}
	return float64(w.Overlap) / float64(w.Predicted)
}

// Recall is overlap/expected, 0 for an empty prediction or truth.
func (w WordPage) Recall() float64 {
	if w.Expected == 0 || w.Predicted == 0 {
		return 0
	}
	return float64(w.Overlap) / float64(w.Expected)
}

// F1 is the page's harmonic mean of precision and recall.
func (w WordPage) F1() float64 { return F1(w.Precision(), w.Recall()) }

// WordSummary is the word metric over a set of pages: the macro averages.
type WordSummary struct {
	Pages                 int
	Precision, Recall, F1 float64
}

// SummarizeWords averages precision, recall and F1 over every page.
func SummarizeWords(pages []WordPage) WordSummary {
	s := WordSummary{Pages: len(pages)}
	if len(pages) == 0 {
		return s
	}
	for _, p := range pages {
		s.Precision += p.Precision()
		s.Recall += p.Recall()
		s.F1 += p.F1()
	}
	n := float64(len(pages))
	s.Precision /= n
	s.Recall /= n
	s.F1 /= n
	return s
}

// SnippetsFound counts the snippets that occur in text, compared in lower
// case with every run of white space read as one space (an extraction puts
// each block on its own line; a snippet within a block is still found).
func SnippetsFound(text string, snippets []string) int {
	norm := func(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }
	t := norm(text)
	n := 0
	for _, s := range snippets {
		if s = norm(s); s != "" && strings.Contains(t, s) {
			n++
		}
	}
	return n
}
