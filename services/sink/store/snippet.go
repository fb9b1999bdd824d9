package store

import (
	"strings"
	"unicode/utf8"
)

const (
	snippetWords   = 30  // words in a snippet
	snippetContext = 8   // words kept before the first match
	snippetRunes   = 300 // bound for text without spaces (CJK, URLs)
)

// snippet returns a passage of text around the first word that starts with
// one of terms, or the opening of text when no term is found. It is computed
// here rather than by FTS5's snippet() so that the PostgreSQL store can give
// the same result.
func snippet(text string, terms []string) string {
	words := strings.Fields(text)
	start := 0
	if i := firstMatch(words, terms); i > snippetContext {
		start = i - snippetContext
	}
	end := min(len(words), start+snippetWords)
	s := strings.Join(words[start:end], " ")
	cut := end < len(words)
	if utf8.RuneCountInString(s) > snippetRunes {
		s = string([]rune(s)[:snippetRunes])
		cut = true
	}
	if start > 0 {
		s = "…" + s
	}
	if cut {
		s += "…"
	}
	return s
}

func firstMatch(words, terms []string) int {
	if len(terms) == 0 {
		return -1
	}
	for i, w := range words {
		w = strings.ToLower(strings.TrimFunc(w, notWordRune))
		for _, t := range terms {
			if t != "" && strings.HasPrefix(w, t) {
				return i
			}
		}
	}
	return -1
}
