package boilerplate

import (
	"regexp"
	"slices"
	"strings"
	"testing"
)

// FuzzParse checks that any rules file parses or fails with an error, and
// that a parsed set applies to any lines without panicking or inventing
// lines.
func FuzzParse(f *testing.F) {
	f.Add(defaultRules, "Para one.\nRead more\nHeadline")
	f.Add([]byte("host news.example\nrule x\nkind cut\nmatch (?i)^more\\b\nin a\\nmore\nout a\n"), "a\nmore\nb")
	f.Add([]byte("rule b\nkind block\nstart ^A\nend ^B\nspan 1\nin A\\nB\nout \n"), "A\nB")
	f.Add([]byte("disable related-tail\nrule s\nkind strip\nmatch (?P<strip> x)$\nin a x\nout a\n"), "a x")
	f.Fuzz(func(t *testing.T, src []byte, text string) {
		if len(src) > 1<<14 || len(text) > 1<<12 {
			return
		}
		s, err := Parse(src)
		if err != nil {
			return
		}
		lines := strings.Split(text, "\n")
		res := s.Apply(slices.Clone(lines), "news.example")
		if len(res.Lines)+res.Removed != len(lines) {
			t.Fatalf("%d lines left and %d removed of %d", len(res.Lines), res.Removed, len(lines))
		}
	})
}

// FuzzUnicodeBoundaries checks that rewriting \b never turns a valid pattern
// into an invalid one.
func FuzzUnicodeBoundaries(f *testing.F) {
	for _, s := range []string{`\bword\b`, `[\b]`, `[]\b]\b`, `[[:alpha:]\b]\b`, `\\b`, `(?i)^(а|b)\b.{0,3}$`, `[^\]]\b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		if _, err := regexp.Compile(expr); err != nil {
			return
		}
		if _, err := regexp.Compile(unicodeBoundaries(expr)); err != nil {
			t.Fatalf("%q compiles, its rewrite %q does not: %v", expr, unicodeBoundaries(expr), err)
		}
	})
}
