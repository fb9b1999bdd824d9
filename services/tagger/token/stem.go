package token

import (
	"strings"
	"unicode/utf8"
)

// stemmer strips the longest matching suffix, up to rounds times, keeping at
// least minStem runes.
type stemmer struct {
	suffixes []string // longest first
	rounds   int
	minStem  int
}

var stemmers = map[string]stemmer{
	"en": {rounds: 2, minStem: 3, suffixes: words("ational ations ation ements ement ments ment ings ness ities ity ing ies ied ers er ed ly es s e y")},
	"de": {rounds: 2, minStem: 4, suffixes: words("ungen heiten keiten lichen ischen ung heit keit lich isch ern em en er es e s n")},
	"fr": {rounds: 2, minStem: 4, suffixes: words("ements ations ement ation euses iques euse eurs ites ique eur ite ies es s e x")},
	"es": {rounds: 2, minStem: 4, suffixes: words("aciones amientos idades amiento acion istas mente idad ista ores es os as s o a e")},
	"it": {rounds: 1, minStem: 4, suffixes: words("azioni azione amenti amento mente ismo isti iste ista ita i e a o")},
	"pt": {rounds: 2, minStem: 4, suffixes: words("amentos amento idades acoes mente idade istas acao ista oes ao es os as s o a e")},
	"nl": {rounds: 1, minStem: 4, suffixes: words("ingen heden heid lijk ing en s e")},
	"pl": {rounds: 1, minStem: 4, suffixes: words("owie ami ach ego emu ych ymi ów owi om em ie ej ym a e i o u y ą ę")},
	"ru": {rounds: 1, minStem: 3, suffixes: words("ами ями ого его ому ему ыми ими ах ях ов ев ей ий ый ой ая яя ое ее ые ие ом ем ам ям ть а я о е ы и у ю ь й")},
	"uk": {rounds: 1, minStem: 3, suffixes: words("ами ями ого ому ими ах ях ів їв ей ий ій ої ою ею ом ем ам ям ти а я о е и і ї у ю ь й")},
}

// foldLatin removes the diacritics of the Latin letters used by the
// supported languages. Cyrillic is left alone: й, ї and ё carry meaning there.
var foldLatin = strings.NewReplacer(
	"à", "a", "á", "a", "â", "a", "ã", "a", "ä", "a", "å", "a", "ą", "a",
	"ç", "c", "ć", "c", "č", "c",
	"è", "e", "é", "e", "ê", "e", "ë", "e", "ę", "e",
	"ì", "i", "í", "i", "î", "i", "ï", "i",
	"ł", "l", "ñ", "n", "ń", "n",
	"ò", "o", "ó", "o", "ô", "o", "õ", "o", "ö", "o", "ø", "o",
	"ś", "s", "š", "s", "ß", "ss",
	"ù", "u", "ú", "u", "û", "u", "ü", "u",
	"ý", "y", "ÿ", "y", "ź", "z", "ż", "z", "ž", "z",
)

// fold removes the diacritics of s's Latin letters. Words in plain ASCII,
// most of them, have none, and are returned as they are: the replacer
// allocates a copy of every string it is given.
func fold(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return foldLatin.Replace(s)
		}
	}
	return s
}

func words(s string) []string { return strings.Fields(s) }

// Stem maps a lowercased word to its stem in lang. An unknown language uses
// the English rules, which are the mildest. Latin-script words lose their
// diacritics first: writers (and IPTC's labels) are not consistent about
// them, and the suffix tables stay short.
func Stem(lang, lower string) string {
	st, ok := stemmers[lang]
	if !ok {
		st = stemmers["en"]
	}
	lower = fold(lower)
	for range st.rounds {
		cut := st.strip(lower)
		if cut == lower {
			break
		}
		lower = cut
	}
	return lower
}

func (st stemmer) strip(w string) string {
	n := utf8.RuneCountInString(w)
	for _, suf := range st.suffixes {
		if !strings.HasSuffix(w, suf) || n-utf8.RuneCountInString(suf) < st.minStem {
			continue
		}
		// "bus", "crisis", "success": a final s after s, u or i is not a plural.
		if suf == "s" && len(w) >= 2 && strings.ContainsRune("siu", rune(w[len(w)-2])) {
			continue
		}
		return w[:len(w)-len(suf)]
	}
	return w
}

// Fold lowercases s and removes the diacritics of its Latin letters, the
// key under which spelling variants of a name or term meet.
func Fold(s string) string {
	return fold(strings.ToLower(s))
}
