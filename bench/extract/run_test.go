package main

import (
	"strings"
	"testing"
)

// TestRunMini runs the whole command on a one-page benchmark whose article
// the normalizer extracts exactly.
func TestRunMini(t *testing.T) {
	var out strings.Builder
	if err := run(config{dirs: "testdata/mini", runs: 1, only: "newsflow", worst: 1}, &out); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	for _, want := range []string{
		"1 pages",
		// shingle F1, P, R, accuracy; word F1, P, R; 2 of 3 must-contain
		// snippets found, 0 of 2 must-not-contain, no empty page
		"newsflow  1.0000     1.0000  1.0000     1.000   1.0000  1.0000  1.0000  66.7%     0.0%      0",
		"newsflow  word F1  1.0000  1.0000  0.0000    1.0000",
		"pages by extraction method: primary 1",
		"ferry  word F1 1.000",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestRunErrors(t *testing.T) {
	if err := run(config{dirs: "testdata/none", runs: 1}, &strings.Builder{}); err == nil {
		t.Error("a missing directory must fail")
	}
	if err := run(config{dirs: "testdata/mini", runs: 1, only: "nosuch"}, &strings.Builder{}); err == nil {
		t.Error("an unknown extractor must fail")
	}
}
