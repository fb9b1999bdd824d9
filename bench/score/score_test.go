package score

import (
	"math"
	"slices"
	"testing"
)

func TestTokens(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"Hello, world!", []string{"Hello", "world"}},
		{"snake_case and 3.14", []string{"snake_case", "and", "3", "14"}},
		{"Привіт, світе — Grüße ½", []string{"Привіт", "світе", "Grüße", "½"}},
		{"don't", []string{"don", "t"}},
		{"  \n\t ", nil},
	}
	for _, c := range cases {
		if got := Tokens(c.in); !slices.Equal(got, c.want) {
			t.Errorf("Tokens(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestShingles(t *testing.T) {
	if got := Shingles(Tokens("a b")); len(got) != 1 || got["a\x00b"] != 1 {
		t.Errorf("short text: %v, want one short shingle", got)
	}
	got := Shingles(Tokens("a b c d a b c d"))
	// abcd, bcda, cdab, dabc, abcd: abcd twice.
	if len(got) != 4 || got["a\x00b\x00c\x00d"] != 2 {
		t.Errorf("repeated shingle: %v", got)
	}
	if got := Shingles(nil); len(got) != 0 {
		t.Errorf("empty text: %v", got)
	}
}

func TestCompare(t *testing.T) {
	cases := []struct {
		name              string
		pred, truth       string
		tp, fp, fn        int
		precision, recall float64
		exact             bool
	}{
		// Tokens keep their case: the first shingle differs.
		{"case", "one two three four five six", "One two three four five six.", 2, 1, 1, 2.0 / 3, 2.0 / 3, false},
		// Prediction adds "seven": one extra shingle.
		{"extra", "a b c d e f g", "a b c d e f", 3, 1, 0, 0.75, 1, false},
		// Prediction misses the last two tokens: 3 of 5 truth shingles.
		{"missing", "a b c d e f", "a b c d e f g h", 3, 0, 2, 1, 0.6, false},
		{"disjoint", "p q r s", "w x y z", 0, 1, 1, 0, 0, false},
		{"empty prediction", "", "a b c d", 0, 0, 1, 0, 0, false},
		{"both empty", "", "", 0, 0, 0, 1, 1, true},
		{"exact", "a, b. c d", "a b c d", 1, 0, 0, 1, 1, true},
	}
	for _, c := range cases {
		p := Compare(c.pred, c.truth)
		if p.TP != c.tp || p.FP != c.fp || p.FN != c.fn {
			t.Errorf("%s: tp/fp/fn %d/%d/%d, want %d/%d/%d", c.name, p.TP, p.FP, p.FN, c.tp, c.fp, c.fn)
		}
		if !near(p.Precision(), c.precision) || !near(p.Recall(), c.recall) {
			t.Errorf("%s: P %.3f R %.3f, want %.3f %.3f", c.name, p.Precision(), p.Recall(), c.precision, c.recall)
		}
		if p.Exact != c.exact {
			t.Errorf("%s: exact %v, want %v", c.name, p.Exact, c.exact)
		}
	}
}

func TestSummarize(t *testing.T) {
	pages := []Page{
		{TP: 3, FP: 1, FN: 0},              // P .75, R 1
		{TP: 3, FP: 0, FN: 2},              // P 1, R .6
		{TP: 0, FP: 0, FN: 1},              // no prediction: not in precision; R 0
		{TP: 0, FP: 0, FN: 0, Exact: true}, // both empty: in neither average
	}
	s := Summarize(pages)
	wantP := (0.75 + 1) / 2
	wantR := (1 + 0.6 + 0) / 3
	wantF := 2 * wantP * wantR / (wantP + wantR)
	if !near(s.Precision, wantP) || !near(s.Recall, wantR) || !near(s.F1, wantF) {
		t.Errorf("P %.4f R %.4f F1 %.4f, want %.4f %.4f %.4f", s.Precision, s.Recall, s.F1, wantP, wantR, wantF)
	}
	if !near(s.Accuracy, 0.25) || s.Pages != 4 {
		t.Errorf("accuracy %.3f over %d pages, want 0.25 over 4", s.Accuracy, s.Pages)
	}
	// F1 of the averages is not the average of per-page F1s.
	perPage := (2*0.75/1.75 + 2*0.6/1.6 + 0) / 3
	if near(s.F1, perPage) {
		t.Errorf("F1 %.4f equals the mean of per-page F1", s.F1)
	}
	if z := Summarize(nil); z.F1 != 0 || z.Accuracy != 0 {
		t.Errorf("no pages: %+v", z)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestCompareWords(t *testing.T) {
	w := CompareWords("The cat sat. The end, the END", "the cat sat on the mat")
	// predicted: the cat sat the end the end (7); expected: the cat sat on the mat (6)
	// overlap: the×2 (min(3,2)), cat, sat = 4
	if w.Overlap != 4 || w.Predicted != 7 || w.Expected != 6 {
		t.Fatalf("CompareWords = %+v, want overlap 4 of 7 predicted, 6 expected", w)
	}
	if !near(w.Precision(), 4.0/7) || !near(w.Recall(), 4.0/6) {
		t.Errorf("P %v R %v, want 4/7 and 4/6", w.Precision(), w.Recall())
	}
	empty := CompareWords("", "some text")
	if empty.Precision() != 0 || empty.Recall() != 0 || empty.F1() != 0 {
		t.Errorf("an empty prediction must score 0: %+v", empty)
	}
	s := SummarizeWords([]WordPage{CompareWords("a b", "a b"), empty})
	if !near(s.F1, 0.5) || !near(s.Precision, 0.5) || !near(s.Recall, 0.5) {
		t.Errorf("macro average of a perfect and an empty page = %+v, want 0.5 each", s)
	}
}

func TestSnippetsFound(t *testing.T) {
	text := "First paragraph with Some Words\nSecond   one here"
	got := SnippetsFound(text, []string{"some words", "second one", "with some words second", "absent", ""})
	if got != 3 {
		t.Errorf("SnippetsFound = %d, want 3 (case and white space do not matter; blank snippets never count)", got)
	}
}
