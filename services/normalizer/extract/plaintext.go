package extract

import (
	"strings"
	"unicode/utf8"
)

const (
	// hardWrapWidth is the longest line of a text that may be hard-wrapped: a
	// text with a longer line keeps one paragraph per line.
	hardWrapWidth = 100
	// minWrapWidth is the narrowest wrap width believed: a text whose lines
	// are all shorter is short paragraphs, one per line, not wrapped prose.
	minWrapWidth = 40
)

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
	// cur holds the lines of the block being joined; they are joined once,
	// when the block ends, so a long paragraph costs linear time.
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, " "))
			cur = cur[:0]
		}
	}
	for _, l := range raw {
		switch {
		case l == "":
			flush()
		case !wrapped || isListItem(l):
			flush()
			cur = append(cur, l)
		default:
			cur = append(cur, l)
		}
		if !wrapped {
			flush()
		}
	}
	flush()
	return out
}

// isHardWrapped reports whether the text has blank-line separated
// paragraphs whose lines were broken at a fixed width. It wants evidence,
// not just short lines: no line longer than hardWrapWidth, a wrap width (the
// longest line) of at least minWrapWidth, and at the line breaks inside
// paragraphs, at least three in four where the next word would not have fit
// on the line (as a wrapper breaks) and at most half after the end of a
// sentence (as one paragraph per line would).
func isHardWrapped(lines []string) bool {
	width, blank := 0, false
	for _, l := range lines {
		n := utf8.RuneCountInString(l)
		if n > hardWrapWidth {
			return false
		}
		width = max(width, n)
		blank = blank || l == ""
	}
	if !blank || width < minWrapWidth {
		return false
	}
	// Wrappers aim a little below their limit (fmt breaks at 93% of it).
	full := width - width/10
	breaks, fits, ends := 0, 0, 0
	for i := 0; i+1 < len(lines); i++ {
		l, next := lines[i], lines[i+1]
		if l == "" || next == "" || isListItem(next) {
			continue
		}
		breaks++
		word, _, _ := strings.Cut(next, " ")
		if utf8.RuneCountInString(l)+1+utf8.RuneCountInString(word) > full {
			fits++
		}
		if endsSentence(l) {
			ends++
		}
	}
	return breaks > 0 && fits*4 >= breaks*3 && ends*2 <= breaks
}

// endsSentence reports whether l ends with sentence-final punctuation,
// possibly inside closing quotes or brackets.
func endsSentence(l string) bool {
	l = strings.TrimRight(l, "\"'”’»)]")
	r, _ := utf8.DecodeLastRuneInString(l)
	return strings.ContainsRune(".!?…", r)
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
