package boilerplate

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Kind says what a rule does with the lines it matches.
type Kind int

// The kinds run in this order, see the package comment.
const (
	KindBlock Kind = iota + 1
	KindCut
	KindDrop
	KindStrip
)

var kindNames = map[string]Kind{"block": KindBlock, "cut": KindCut, "drop": KindDrop, "strip": KindStrip}

func (k Kind) String() string {
	for name, v := range kindNames {
		if v == k {
			return name
		}
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Where limits the lines a rule may touch.
type Where int

// Lines a rule may touch.
const (
	WhereAny  Where = iota + 1
	WhereTail       // the last Tail fraction of the lines
	WhereLast       // only the last line
)

var whereNames = map[string]Where{"any": WhereAny, "tail": WhereTail, "last": WhereLast}

// Case is a rule's own test: applying the rule alone to In gives Out.
type Case struct {
	In, Out []string
}

// Rule is one compiled text rule.
type Rule struct {
	Name  string
	Kind  Kind
	Where Where
	Tests []Case

	match, start, end []*regexp.Regexp
	inner             []*regexp.Regexp // block: every line between the markers matches one
	after             []*regexp.Regexp // cut: every line after the marker matches one
	anchorEnd         bool
	span              int
	tail              float64
	maxLen            int
	// need holds what the patterns that need something of a line need.
	need map[*regexp.Regexp]need
}

// anyMatch reports whether one of res matches line; a pattern is not run
// on a line that lacks what it needs.
func (r *Rule) anyMatch(res []*regexp.Regexp, line string) bool {
	digits := int8(-1) // unknown
	for _, re := range res {
		if n, ok := r.need[re]; ok && n.rulesOut(line, &digits) {
			continue
		}
		if re.MatchString(line) {
			return true
		}
	}
	return false
}

// fits reports whether a marker line is short enough for the rule to consider.
func (r *Rule) fits(line string) bool {
	return r.maxLen <= 0 || utf8.RuneCountInString(line) <= r.maxLen
}

// from is the index of the first line the rule may touch.
func (r *Rule) from(n int) int {
	switch r.Where {
	case WhereLast:
		return max(n-1, 0)
	case WhereTail:
		return min(int(float64(n)*(1-r.tail)), n)
	}
	return 0
}

// Apply runs the rule alone over lines and returns the lines that remain and
// whether the rule changed anything. lines is not modified.
func (r *Rule) Apply(lines []string) ([]string, bool) {
	switch r.Kind {
	case KindDrop:
		return r.applyDrop(lines)
	case KindCut:
		return r.applyCut(lines)
	case KindStrip:
		return r.applyStrip(lines)
	case KindBlock:
		return r.applyBlock(lines)
	}
	return lines, false
}

func (r *Rule) applyDrop(lines []string) ([]string, bool) {
	var out []string // nil until a line is dropped
	for i := r.from(len(lines)); i < len(lines); i++ {
		l := lines[i]
		if r.fits(l) && r.anyMatch(r.match, l) {
			if out == nil {
				out = append(make([]string, 0, len(lines)-1), lines[:i]...)
			}
			continue
		}
		if out != nil {
			out = append(out, l)
		}
	}
	if out == nil {
		return lines, false
	}
	return out, true
}

func (r *Rule) applyCut(lines []string) ([]string, bool) {
	for i := r.from(len(lines)); i < len(lines); i++ {
		if r.fits(lines[i]) && r.anyMatch(r.match, lines[i]) && r.allAfter(lines[i+1:]) {
			return lines[:i:i], true
		}
	}
	return lines, false
}

// allAfter reports whether every line of tail matches an after pattern (or
// the rule has none).
func (r *Rule) allAfter(tail []string) bool {
	if len(r.after) == 0 {
		return true
	}
	for _, l := range tail {
		if !r.anyMatch(r.after, l) {
			return false
		}
	}
	return true
}

// innerFits reports whether the lines strictly between two block markers
// may go with them: each fits maxlen and matches an inner pattern (if the
// rule has any).
func (r *Rule) innerFits(lines []string) bool {
	for _, l := range lines {
		if !r.fits(l) || len(r.inner) > 0 && !r.anyMatch(r.inner, l) {
			return false
		}
	}
	return true
}

func (r *Rule) applyStrip(lines []string) ([]string, bool) {
	var out []string
	changed := false
	for i := r.from(len(lines)); i < len(lines); i++ {
		l := lines[i]
		for _, re := range r.match {
			loc := re.FindStringSubmatchIndex(l)
			if loc == nil || loc[1] != len(l) {
				continue
			}
			cut := loc[0]
			if g := re.SubexpIndex("strip"); g > 0 && loc[2*g] >= 0 {
				cut = loc[2*g]
			}
			if out == nil {
				out = slices.Clone(lines)
			}
			l = strings.TrimRightFunc(l[:cut], isSpace)
			out[i] = l
			changed = true
		}
	}
	if !changed {
		return lines, false
	}
	return slices.DeleteFunc(out, func(s string) bool { return s == "" }), true
}

func (r *Rule) applyBlock(lines []string) ([]string, bool) {
	drop := make([]bool, len(lines))
	changed := false
	for i := r.from(len(lines)); i < len(lines); i++ {
		var first, last int
		if r.anchorEnd {
			if !r.fits(lines[i]) || !r.anyMatch(r.end, lines[i]) {
				continue
			}
			first, last = -1, i
			for j := i - 1; j >= 0 && j >= i-r.span && !drop[j]; j-- {
				if r.fits(lines[j]) && r.anyMatch(r.start, lines[j]) {
					first = j
					break
				}
			}
		} else {
			if !r.fits(lines[i]) || !r.anyMatch(r.start, lines[i]) {
				continue
			}
			first, last = i, -1
			for j := i + 1; j < len(lines) && j <= i+r.span; j++ {
				if r.fits(lines[j]) && r.anyMatch(r.end, lines[j]) {
					last = j
					break
				}
			}
		}
		if first < 0 || last < 0 || !r.innerFits(lines[first+1:last]) {
			continue
		}
		for j := first; j <= last; j++ {
			drop[j] = true
		}
		changed = true
		i = last
	}
	if !changed {
		return lines, false
	}
	out := make([]string, 0, len(lines))
	for i, l := range lines {
		if !drop[i] {
			out = append(out, l)
		}
	}
	return out, true
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\u00a0' || r == '\u202f'
}

// check runs the rule's own test cases.
func (r *Rule) check() error {
	if len(r.Tests) == 0 {
		return fmt.Errorf("rule %s: no test case (in/out)", r.Name)
	}
	for i, c := range r.Tests {
		got, _ := r.Apply(slices.Clone(c.In))
		if !slices.Equal(got, c.Out) {
			return fmt.Errorf("rule %s: test %d: got %q, want %q", r.Name, i+1, got, c.Out)
		}
	}
	return nil
}
