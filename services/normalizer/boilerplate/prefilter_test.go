package boilerplate

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"
)

func TestNeedsDigit(t *testing.T) {
	for expr, want := range map[string]bool{
		`\d+`:                           true,
		`(?i)^jan(uary)? \d{1,2}$`:      true,
		`^(1|2)$`:                       true,
		`^[0-9]{2}:[0-9]{2}$`:           true,
		`^(\d+ )?comments$`:             false, // the digits are optional
		`^a|\d`:                         false, // one branch has none
		`^x?\d*$`:                       false,
		`^[0-9a]$`:                      false, // the class holds a letter
		`(?i)^read more$`:               false,
		`^(?:\d{1,4}|\d{1,2}:\d{2}) x$`: true,
	} {
		require.Equal(t, want, needOf(regexp.MustCompile(expr)).digit, expr)
	}
}

func TestNeedsLiterals(t *testing.T) {
	for expr, want := range map[string][]literal{
		`(?i)^[^.!?]{1,250}\bcontributed (reporting|to)`: {{"contributed ", true}},
		`(?i)(©|copyright|all rights reserved\b)`:        nil, // © is not ASCII under folding
		`(©|Copyright \d{4})`:                            {{"©", false}, {"Copyright ", false}},
		`(?i)\ball rights reserved\.?$`:                  {{"all rights reserved", true}},
		`(?i)\b(read|see) more$`:                         {{" more", true}},
		`(\d+ )?comments$`:                               {{"comments", false}},
		`^x?y*$`:                                         nil,
		`(?i)(a|b?)c`:                                    {{"c", true}},
		// Anchored at the start on literals: the pattern fails at once on
		// most lines, and a search for literals would only cost more.
		`(?i)^(read|see) more$`:      nil,
		`^\(?(reuters|afp)(/| via )`: nil,
		`^(©|Copyright \d{4})`:       nil,
	} {
		got := needOf(regexp.MustCompile(expr)).any
		require.Equal(t, want, got, expr)
	}
}

// TestOnlyTwoLettersFoldToASCII: containsFold leaves a line with the
// Kelvin sign or the long s to the pattern, as the only non-ASCII letters
// whose case folding reaches an ASCII one.
func TestOnlyTwoLettersFoldToASCII(t *testing.T) {
	found := map[rune]bool{}
	for c := rune(0); c < 0x80; c++ {
		for f := unicode.SimpleFold(c); f != c; f = unicode.SimpleFold(f) {
			if f >= 0x80 {
				found[f] = true
			}
		}
	}
	require.Equal(t, map[rune]bool{'\u017f': true, '\u212a': true}, found)
}

// TestPrefilterChangesNothing: a pattern is never skipped on a line it
// matches. The lines: the default rules' own cases, variants of them in
// other cases and with letters that fold to ASCII ones (the Kelvin sign,
// the long s), and, when ../shared is there, the extraction benchmarks'
// texts.
func TestPrefilterChangesNothing(t *testing.T) {
	s, err := Default()
	require.NoError(t, err)
	var lines []string
	for _, r := range s.global.rules {
		for _, c := range r.Tests {
			lines = append(lines, c.In...)
		}
	}
	lines = append(lines, "March 3, 2026", "Updated 10:45 GMT", "Monday", "Published on the third of March",
		"The council voted 7 to 2 on Monday.", "© 2026 Harbour Post", "Read more", "Share",
		"12 comments", "Comments", "Story continues below advertisement",
		"Jane Roe contributed reporting.", "Jane Roe contributed to this report from Paris.",
		"Click \u212aere to read", "clic\u212a here", "Cli\u212a here", "Ali\u017fon contributed reporting.",
		"Copyright 2026", "all rights re\u017ferved", "ALL RIGHTS RESERVED.")
	bench := benchLines(t)
	for i := 0; i < len(bench); i += max(len(bench)/5000, 1) { // every n-th: the test's time
		lines = append(lines, bench[i])
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, l := range lines[:min(len(lines), 3000)] {
		lines = append(lines, strings.ToUpper(l), strings.ToLower(l), flipCase(rng, l))
	}
	patterns, skipped := 0, 0
	for _, r := range s.global.rules {
		for re, n := range r.need {
			patterns++
			for _, l := range lines {
				digits := int8(-1)
				if n.rulesOut(l, &digits) {
					skipped++
					require.False(t, re.MatchString(l), "rule %s skipped %q on %q", r.Name, re, l)
				}
			}
		}
	}
	require.Positive(t, patterns, "the default rules have patterns with a need")
	require.Positive(t, skipped, "some lines are skipped")
	t.Logf("%d patterns with a need, %d lines, %d runs skipped", patterns, len(lines), skipped)
}

func flipCase(rng *rand.Rand, s string) string {
	b := []byte(s)
	for i, c := range b {
		if rng.IntN(2) == 0 && 'a' <= asciiLower(c) && asciiLower(c) <= 'z' {
			b[i] = c ^ 0x20
		}
	}
	return string(b)
}

// benchLines returns the lines of the extraction benchmarks' texts in
// ../shared beside the repository, or none when it is not there.
func benchLines(t *testing.T) []string {
	dir, err := filepath.Abs(".")
	require.NoError(t, err)
	var lines []string
	for ; filepath.Dir(dir) != dir; dir = filepath.Dir(dir) {
		for _, set := range []string{"extraction-bench", "extraction-bench-wcxb"} {
			b, err := os.ReadFile(filepath.Join(dir, "..", "shared", set, "ground-truth.json"))
			if err != nil {
				continue
			}
			var truth map[string]struct {
				ArticleBody string `json:"articleBody"`
			}
			require.NoError(t, json.Unmarshal(b, &truth), set)
			for _, a := range truth {
				for l := range strings.Lines(a.ArticleBody) {
					if l = strings.TrimSpace(l); l != "" {
						lines = append(lines, l)
					}
				}
			}
		}
		if lines != nil {
			return lines
		}
	}
	return nil
}
