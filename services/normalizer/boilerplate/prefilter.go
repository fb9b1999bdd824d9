package boilerplate

import (
	"regexp"
	"regexp/syntax"
	"strings"
)

// need is what every line a pattern matches holds, found from the
// pattern's syntax: an ASCII digit, and one of some literals (when any is
// not empty). A line that lacks it cannot match, and the regexp need not
// run. Go's regexp has no such pre-check of its own, and the rules' runs
// over every line were a fifth of the normalizer's CPU: the date-line rule,
// a large case-folded pattern that needs a digit, was a third of the
// rules' time, and the patterns anchored at a line's start but needing a
// word further on ("^[^.!?]{1,250}\bcontributed …") scan each line.
type need struct {
	digit bool
	any   []literal
}

// literal is a string a match holds; fold: under ASCII case folding (s is
// then lowercase ASCII).
type literal struct {
	s    string
	fold bool
}

// maxLiterals bounds the literals of one need: past it, checking them all
// costs more than the match they might spare.
const maxLiterals = 12

// needOf reads what every match of re holds; when it cannot tell, it
// asks for nothing, which only costs the match.
func needOf(re *regexp.Regexp) need {
	tree, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return need{}
	}
	tree = tree.Simplify()
	n := need{digit: mustHaveDigit(tree)}
	if !failsFast(tree) {
		n.any, _ = mustHold(tree)
	}
	return n
}

// failsFast reports whether re is anchored at the start of the text and
// goes on with literals (optional ones first, as in "^\(?(reuters|afp)"):
// it fails on most lines within a few bytes, sooner than a search of the
// line for literals would.
func failsFast(re *syntax.Regexp) bool {
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText {
		return false
	}
	for _, s := range re.Sub[1:] {
		if s.Op != syntax.OpQuest {
			return startsLiteral(s)
		}
		if !startsLiteral(s.Sub[0]) {
			return false
		}
	}
	return false
}

// startsLiteral reports whether every match of re starts with a literal.
func startsLiteral(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral:
		return true
	case syntax.OpCapture, syntax.OpPlus:
		return startsLiteral(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min >= 1 && startsLiteral(re.Sub[0])
	case syntax.OpConcat:
		return len(re.Sub) > 0 && startsLiteral(re.Sub[0])
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			if !startsLiteral(s) {
				return false
			}
		}
		return len(re.Sub) > 0
	}
	return false
}

// rulesOut reports whether line lacks what n asks for. digits tells
// whether line holds a digit (1) or not (0), or that it is not known yet
// (-1): then it is found out, once for all of a line's patterns.
func (n need) rulesOut(line string, digits *int8) bool {
	if n.digit {
		if *digits < 0 {
			*digits = 0
			if hasDigit(line) {
				*digits = 1
			}
		}
		if *digits == 0 {
			return true
		}
	}
	if len(n.any) == 0 {
		return false
	}
	for _, l := range n.any {
		if l.fold && containsFold(line, l.s) || !l.fold && strings.Contains(line, l.s) {
			return false
		}
	}
	return true
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

// mustHold returns literals one of which every match of re holds; ok is
// false when it cannot tell. A case-folded literal counts only when it is
// ASCII: Unicode's folding of other letters is more than lowercasing.
func mustHold(re *syntax.Regexp) (lits []literal, ok bool) {
	switch re.Op {
	case syntax.OpLiteral:
		s := string(re.Rune)
		if re.Flags&syntax.FoldCase == 0 {
			return []literal{{s: s}}, true
		}
		for i := 0; i < len(s); i++ {
			if s[i] >= 0x80 {
				return nil, false
			}
		}
		return []literal{{s: strings.ToLower(s), fold: true}}, true
	case syntax.OpCapture, syntax.OpPlus:
		return mustHold(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return mustHold(re.Sub[0])
		}
	case syntax.OpConcat:
		for _, s := range re.Sub {
			if l, sok := mustHold(s); sok && (!ok || selective(l) > selective(lits)) {
				lits, ok = l, true
			}
		}
		return lits, ok
	case syntax.OpAlternate:
		for _, s := range re.Sub {
			l, sok := mustHold(s)
			if !sok {
				return nil, false
			}
			lits = append(lits, l...)
		}
		if len(lits) > maxLiterals {
			return nil, false
		}
		return lits, len(lits) > 0
	}
	return nil, false
}

// selective ranks a choice of literals: by the shortest of them, the
// one most lines hold.
func selective(lits []literal) int {
	n := -1
	for _, l := range lits {
		if n < 0 || len(l.s) < n {
			n = len(l.s)
		}
	}
	return n
}

// containsFold reports whether s holds lower, a lowercase ASCII string,
// in any case. The Kelvin sign and the long s fold to k and s: a line
// with one is left to the pattern.
func containsFold(s, lower string) bool {
	if strings.ContainsAny(lower, "ks") && strings.ContainsAny(s, "\u212a\u017f") {
		return true
	}
	n := len(lower)
	first := string([]byte{lower[0], asciiUpper(lower[0])})
	for i := 0; i+n <= len(s); i++ {
		k := strings.IndexAny(s[i:len(s)-n+1], first)
		if k < 0 {
			return false
		}
		i += k
		j := 1
		for j < n && asciiLower(s[i+j]) == lower[j] {
			j++
		}
		if j == n {
			return true
		}
	}
	return false
}

func asciiUpper(b byte) byte {
	if 'a' <= b && b <= 'z' {
		return b - ('a' - 'A')
	}
	return b
}

func asciiLower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }
