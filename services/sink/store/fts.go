package store

import (
	"strings"
	"unicode"
)

// searchWord is one word of a search: literal text, and whether a trailing
// '*' asked for a prefix search.
type searchWord struct {
	text   string
	prefix bool
}

// searchWords splits user search text into words. Control characters and
// invalid UTF-8 are removed; words with no letter or digit are dropped since
// they would tokenize to nothing. terms are the lowercased words, for
// snippets.
func searchWords(q string) (words []searchWord, terms []string) {
	for _, w := range strings.Fields(q) {
		prefix := strings.HasSuffix(w, "*")
		w = strings.TrimRight(w, "*")
		w = strings.Map(func(r rune) rune {
			if r == unicode.ReplacementChar || unicode.IsControl(r) {
				return -1
			}
			return r
		}, w)
		if !strings.ContainsFunc(w, isWordRune) {
			continue
		}
		words = append(words, searchWord{text: w, prefix: prefix})
		terms = append(terms, strings.ToLower(strings.TrimFunc(w, notWordRune)))
	}
	return words, terms
}

// matchExpr turns user text into an FTS5 MATCH expression that cannot be a
// syntax error: every word becomes a quoted string (FTS5 operators and column
// filters inside it are plain text), the words are ANDed, and a trailing '*'
// keeps its meaning as a prefix search. An empty expr means nothing
// searchable was given.
func matchExpr(q string) (expr string, terms []string) {
	words, terms := searchWords(q)
	var b strings.Builder
	for _, w := range words {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(w.text, `"`, `""`))
		b.WriteByte('"')
		if w.prefix {
			b.WriteByte('*')
		}
	}
	return b.String(), terms
}

func isWordRune(r rune) bool  { return unicode.IsLetter(r) || unicode.IsDigit(r) }
func notWordRune(r rune) bool { return !isWordRune(r) }
