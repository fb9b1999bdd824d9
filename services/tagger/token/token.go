// Package token splits text into words and normalises them for matching:
// stopword lists and light suffix-stripping stemmers for the ten languages
// newsflow supports (en, de, fr, es, it, pt, ru, uk, pl, nl).
//
// The stopword lists in stopwords/ were written for this repository. The
// stemmers are deliberately light (longest-suffix stripping, one or two
// rounds): they only need to map inflections of a word to one key, the same
// key at model-generation time and at classification time.
package token

import (
	"iter"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Word is one word of a text in its original case.
type Word struct {
	Text string
	// Break reports that punctuation other than a hyphen or an apostrophe
	// separates this word from the previous one, so no phrase spans them.
	Break bool
	// SentenceStart reports that the word opens a sentence or a line, where
	// a capital letter says nothing about it being a name.
	SentenceStart bool
}

// Split cuts s into words: runs of letters, digits and combining marks.
// Hyphens split words without a break; an apostrophe splits too, and an
// English possessive "'s" is dropped.
func Split(s string) []Word {
	// About one word in six bytes of prose: sized once, not grown by
	// doubling (the growth was a sixth of the tagger's allocations).
	out := make([]Word, 0, len(s)/6+1)
	brk, sentence := true, true
	start := -1
	flush := func(end int) {
		if start >= 0 {
			out = append(out, Word{Text: s[start:end], Break: brk, SentenceStart: sentence})
			brk, sentence = false, false
			start = -1
		}
	}
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case isWordRune(r):
			if start < 0 {
				start = i
			}
		case isApostrophe(r):
			flush(i)
			if possessive(s[i+size:]) {
				size++ // skip the "s" as well
			}
		case r == '\n':
			flush(i)
			brk, sentence = true, true
		case r == '-' || r == '\u2010' || r == '\u2011' || unicode.IsSpace(r):
			flush(i)
		case r == '.' || r == '!' || r == '?' || r == '\u2026':
			flush(i)
			brk, sentence = true, true
		default:
			flush(i)
			brk = true
		}
		i += size
	}
	flush(len(s))
	if len(out) == 0 {
		return nil
	}
	return out
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

func isApostrophe(r rune) bool {
	return r == '\'' || r == '\u2019' || r == '\u02bc'
}

// possessive reports whether rest starts with an "s" that ends a word.
func possessive(rest string) bool {
	if rest == "" || (rest[0] != 's' && rest[0] != 'S') {
		return false
	}
	r, _ := utf8.DecodeRuneInString(rest[1:])
	return len(rest) == 1 || !isWordRune(r)
}

// IsNumeric reports whether w holds no letter at all (numbers, years, "3g"
// is not numeric).
func IsNumeric(w string) bool {
	for _, r := range w {
		if unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

// IsContent reports whether lower, a lowercased word, is a content word in
// lang: two letters or more, not a number, not a stopword.
func IsContent(lang, lower string) bool {
	return utf8.RuneCountInString(lower) >= 2 && !IsNumeric(lower) && !IsStopword(lang, lower)
}

// Terms returns the stems of the content words of text: lowercased, without
// stopwords, numbers or one-letter words. A "" element marks a break
// (punctuation or a removed stopword) so callers can form phrases that do
// not span one.
func Terms(lang, text string) []string {
	words := Split(text)
	out := make([]string, 0, len(words))
	for _, w := range words {
		if w.Break && len(out) > 0 && out[len(out)-1] != "" {
			out = append(out, "")
		}
		lower := strings.ToLower(w.Text)
		if !IsContent(lang, lower) {
			if len(out) > 0 && out[len(out)-1] != "" {
				out = append(out, "")
			}
			continue
		}
		out = append(out, Stem(lang, lower))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Grams yields the matching keys of terms (as Terms returns them): each
// stem, then, when the next element is a stem too, the pair "stem next"
// (pair true). The topic model is built and read with these same keys.
func Grams(terms []string) iter.Seq2[string, bool] {
	return func(yield func(string, bool) bool) {
		for i, t := range terms {
			if t == "" {
				continue
			}
			if !yield(t, false) {
				return
			}
			if i+1 < len(terms) && terms[i+1] != "" {
				if !yield(t+" "+terms[i+1], true) {
					return
				}
			}
		}
	}
}
