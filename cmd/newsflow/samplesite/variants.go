package samplesite

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Variants renders article pages whose text is the corpus's, respun: a
// load or soak harness that serves thousands of articles from 33 would
// otherwise serve each text thousands of times, and measure a duplicate
// storm (story relinks) instead of ingestion. A variant keeps its article's
// page, layout and boilerplate, and replaces about two in three of its
// words of three letters or more: capitalised ones (names) with capitalised
// words of any article in the same language, others with words of the same
// article, so that its subject, and with it its topic, stays. By the
// tagger's MinHash, a variant's three-word shingles are on average 10% its
// article's (at most 20%) and 2% another variant's (at most 5%): well under
// the containment of 0.3 from which the tagger takes a text as derived.
type Variants struct {
	s     *site
	names map[string][]string // language → capitalised words of the corpus
	words [][]string          // by article: its other words
}

// NewVariants prepares the corpus for Page.
func NewVariants() *Variants {
	s, err := newSite(mustCorpus())
	if err != nil {
		panic(fmt.Sprintf("samplesite: %v", err)) // embedded, and tested
	}
	v := &Variants{s: s, names: map[string][]string{}}
	for _, a := range s.c.articles {
		var own []string
		for _, p := range append([]string{a.Title}, a.Paragraphs...) {
			for _, tok := range strings.Fields(p) {
				_, w, _ := splitWord(tok)
				switch {
				case w == "":
				case isName(w):
					v.names[a.Language] = append(v.names[a.Language], w)
				default:
					own = append(own, w)
				}
			}
		}
		slices.Sort(own)
		v.words = append(v.words, slices.Compact(own))
	}
	for l, ns := range v.names {
		slices.Sort(ns)
		v.names[l] = slices.Compact(ns)
	}
	return v
}

// Len is the number of articles variants are made of.
func (v *Variants) Len() int { return len(v.s.c.articles) }

// Page renders a variant of article i (0 ≤ i < Len) as served at base:
// the same seed gives the same page; seed 0 the article itself.
func (v *Variants) Page(base string, i int, seed uint64) []byte {
	var buf bytes.Buffer
	if err := v.s.article.Execute(&buf, v.s.articlePage(base, i, v.article(i, seed))); err != nil {
		panic(fmt.Sprintf("samplesite: render article %d: %v", i, err)) // embedded, and tested
	}
	return buf.Bytes()
}

// article is the variant seed of article i.
func (v *Variants) article(i int, seed uint64) Article {
	a := v.s.c.articles[i]
	if seed == 0 {
		return a
	}
	rng := rand.New(rand.NewPCG(seed, uint64(i)))
	a.Title = v.respin(rng, i, a.Language, a.Title)
	a.Paragraphs = slices.Clone(a.Paragraphs)
	for j, p := range a.Paragraphs {
		a.Paragraphs[j] = v.respin(rng, i, a.Language, p)
	}
	return a
}

// respin replaces about half the words of text (see Variants).
func (v *Variants) respin(rng *rand.Rand, i int, language, text string) string {
	toks := strings.Fields(text)
	for k, tok := range toks {
		pre, w, post := splitWord(tok)
		if w == "" || rng.IntN(3) == 0 {
			continue
		}
		pool := v.words[i]
		if isName(w) {
			pool = v.names[language]
		}
		if len(pool) > 0 {
			toks[k] = pre + pool[rng.IntN(len(pool))] + post
		}
	}
	return strings.Join(toks, " ")
}

// splitWord splits a token into leading punctuation, a word of letters
// (hyphens and apostrophes inside allowed) of at least three letters, and
// what follows; word is "" when the token holds none.
func splitWord(tok string) (pre, word, post string) {
	start := strings.IndexFunc(tok, unicode.IsLetter)
	if start < 0 {
		return tok, "", ""
	}
	end := strings.LastIndexFunc(tok, unicode.IsLetter)
	_, size := utf8.DecodeRuneInString(tok[end:])
	word = tok[start : end+size]
	if utf8.RuneCountInString(word) < 3 || strings.IndexFunc(word, func(r rune) bool {
		return !unicode.IsLetter(r) && r != '-' && r != '\'' && r != '’'
	}) >= 0 {
		return tok, "", ""
	}
	return tok[:start], word, tok[end+size:]
}

// isName reports whether a word starts with a capital letter.
func isName(w string) bool {
	r, _ := utf8.DecodeRuneInString(w)
	return unicode.IsUpper(r)
}
