package extract

import (
	"strings"
	"unicode/utf8"
)

// hardWrapWidth is the longest line of a text that may be hard-wrapped: a
// text with a longer line keeps one paragraph per line.
const hardWrapWidth = 100

// textLines splits a plain-text article into one block per line. Paragraphs
// separated by blank lines whose lines were hard-wrapped are joined; a text
// that already has one paragraph per line stays as it is, so no paragraph is
// ever merged into another by guesswork.
func textLines(body []byte) []string {
	s := strings.TrimPrefix(string(body), "\ufeff")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	raw := strings.Split(s, "\n")
	for i, l := range raw {
		raw[i] = strings.TrimSpace(l)
	}
	wrapped := isHardWrapped(raw)
	var out []string
	joinNext := false
	for _, l := range raw {
		switch {
		case l == "":
			joinNext = false
		case wrapped && joinNext && !isListItem(l):
			out[len(out)-1] += " " + l
		default:
			out = append(out, l)
			joinNext = wrapped
		}
	}
	return out
}

// isHardWrapped reports whether the text has blank-line separated
// paragraphs, at least one spanning several lines, and no line too long to
// be the product of wrapping.
func isHardWrapped(lines []string) bool {
	blank, multi := false, false
	for i, l := range lines {
		if utf8.RuneCountInString(l) > hardWrapWidth {
			return false
		}
		if l == "" {
			blank = true
		} else if i > 0 && lines[i-1] != "" {
			multi = true
		}
	}
	return blank && multi
}

func isListItem(l string) bool {
	if strings.HasPrefix(l, "- ") || strings.HasPrefix(l, "* ") || strings.HasPrefix(l, "• ") {
		return true
	}
	i := 0
	for i < len(l) && l[i] >= '0' && l[i] <= '9' {
		i++
	}
	return i > 0 && i < 4 && i+1 < len(l) && (l[i] == '.' || l[i] == ')') && l[i+1] == ' '
}

// textTitle returns the first line when it looks like a headline: short, more
// than one line in the text, and no closing sentence punctuation.
func textTitle(lines []string) string {
	if len(lines) < 2 {
		return ""
	}
	t := lines[0]
	if utf8.RuneCountInString(t) > 150 || len(strings.Fields(t)) > 20 {
		return ""
	}
	if r, _ := utf8.DecodeLastRuneInString(t); strings.ContainsRune(".!?:;,", r) {
		return ""
	}
	return t
}
