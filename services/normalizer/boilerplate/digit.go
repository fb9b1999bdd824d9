package boilerplate

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// needsDigit reports whether every string re matches holds an ASCII digit
// (as \d, [0-9] or a literal digit must). A line without a digit then
// cannot match, and the regexp need not run: the date-line rule, a large
// case-folded pattern that needs a digit, was a third of the rules' time.
// When it cannot tell, it says false, which only costs the match.
func needsDigit(re *regexp.Regexp) bool {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return false
	}
	return mustHaveDigit(tree.Simplify())
}

func mustHaveDigit(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if '0' <= r && r <= '9' {
				return true
			}
		}
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return false
		}
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i] < '0' || re.Rune[i+1] > '9' {
				return false
			}
		}
		return true
	case syntax.OpCapture, syntax.OpPlus:
		return mustHaveDigit(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min >= 1 && mustHaveDigit(re.Sub[0])
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if mustHaveDigit(s) {
				return true
			}
		}
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if !mustHaveDigit(s) {
				return false
			}
		}
		return len(re.Sub) > 0
	}
	return false
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }
