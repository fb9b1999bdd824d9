// Package keyword extracts salient terms and short phrases from an article.
//
// Candidates are runs of up to three content words that no punctuation,
// stopword, number or boilerplate word interrupts (RAKE's idea). A word
// scores by its frequency, with title occurrences counting triple and an
// early first mention counting more (YAKE's position cue); a phrase scores
// the sum of its words' scores scaled by how often the words occur as that
// phrase, so a phrase ranks above its words only when they belong
// together. Inflected forms are grouped by stem (package token). Words are
// lowercased unless they are written capitalised everywhere but at the
// start of a sentence, which keeps proper nouns ("Zelenskyy", "White
// House") in their case.
package keyword

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/newsflow/newsflow/services/tagger/token"
)

// Keyword is a ranked term or phrase.
type Keyword struct {
	Term  string
	Score float64 // relative to the best keyword, which scores 1
}

const (
	maxPhraseWords = 3
	titleWeight    = 3
	// minPhraseCount is how often a phrase must occur to be a candidate: a
	// single co-occurrence is an accident of wording, even in the title.
	minPhraseCount = 2
)

// boilerplate holds words that page furniture leaves in extracted text in
// the supported languages; they are never keywords and break phrases.
var boilerplate = wordSet(`share shared sharing newsletter newsletters subscribe subscribed subscriber subscribers subscription
advertisement advertisements advert adverts ad ads sponsored cookie cookies click tap login signup sign copyright reserved
caption image images photo photos getty follow comment comments print email whatsapp read more related
teilen abonnieren abonnement newsletter werbung anzeige partager abonnez abonner abonnement publicité
compartir suscríbete suscribirse suscripción publicidad anuncio condividi iscriviti abbonamento pubblicità
compartilhar partilhar assine subscrever publicidade anúncio delen abonneren abonnement advertentie reclame
udostępnij subskrybuj subskrypcja reklama поделиться подписаться подписка реклама поділитися підписатися підписка реклама`)

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// word is one content word occurrence.
type word struct {
	stem  string
	text  string
	title bool
	start bool // opens a sentence
}

// stats aggregates one word (by stem) or one phrase.
type stats struct {
	count float64 // weighted: title occurrences count titleWeight
	n     int     // occurrences
	first int     // position of the first occurrence in the article's words
	// form is the one surface form seen until a second appears; from then
	// forms counts them all. Most candidates have one form, and a map for
	// each was a fifth of the tagger's allocations.
	form  string
	forms map[string]int
}

// Extract returns up to n keywords of the article, best first. lang is an
// ISO 639-1 code or "und".
func Extract(title, text, lang string, n int) []Keyword {
	if n <= 0 {
		return nil
	}
	runs := candidates(lang, title, true)
	runs = append(runs, candidates(lang, text, false)...)

	words := map[string]*stats{}
	phrases := map[string]*stats{}
	proper := map[string]int{} // stem → capitalised minus lowercase mid-sentence uses
	pos := 0
	for _, run := range runs {
		for i, w := range run {
			weight := 1.0
			if w.title {
				weight = titleWeight
			}
			add(words, w.stem, w.text, weight, pos)
			if !w.start {
				if isCapitalised(w.text) {
					proper[w.stem]++
				} else {
					proper[w.stem] -= 2
				}
			}
			for size := 2; size <= maxPhraseWords && i+size <= len(run); size++ {
				key, form := join(run[i : i+size])
				add(phrases, key, form, weight, pos)
			}
			pos++
		}
	}
	if pos == 0 {
		return nil
	}

	scored := make([]scoredTerm, 0, len(words)+len(phrases))
	wordScore := map[string]float64{}
	for stem, s := range words {
		sc := s.count * (1 + 0.5*(1-float64(s.first)/float64(pos)))
		wordScore[stem] = sc
		scored = append(scored, scoredTerm{key: stem, words: []string{stem}, score: sc, stats: s})
	}
	for key, s := range phrases {
		if s.n < minPhraseCount {
			continue
		}
		stems := strings.Split(key, " ")
		sum, maxCount := 0.0, 0.0
		for _, st := range stems {
			sum += wordScore[st]
			maxCount = max(maxCount, words[st].count)
		}
		scored = append(scored, scoredTerm{key: key, words: stems, score: sum * s.count / maxCount, stats: s})
	}
	sort.Slice(scored, func(i, j int) bool {
		if scored[i].score != scored[j].score {
			return scored[i].score > scored[j].score
		}
		return scored[i].key < scored[j].key
	})
	return pick(scored, n, proper)
}

type scoredTerm struct {
	key   string
	words []string
	score float64
	stats *stats
}

// pick keeps the n best terms, skipping one that overlaps a better one (a
// word inside a chosen phrase, or a phrase sharing a word with a chosen
// term), and scales scores to the best. Only the kept terms are rendered
// (see display).
func pick(scored []scoredTerm, n int, proper map[string]int) []Keyword {
	var out []Keyword
	used := map[string]bool{}
	best := 0.0
	for _, s := range scored {
		if len(out) == n {
			break
		}
		if overlaps(s.words, used) {
			continue
		}
		for _, w := range s.words {
			used[w] = true
		}
		if best == 0 {
			best = s.score
		}
		out = append(out, Keyword{Term: display(s.key, s.stats, proper), Score: s.score / best})
	}
	return out
}

func overlaps(words []string, used map[string]bool) bool {
	for _, w := range words {
		if used[w] {
			return true
		}
	}
	return false
}

func add(m map[string]*stats, key, form string, weight float64, pos int) {
	s := m[key]
	switch {
	case s == nil:
		s = &stats{first: pos, form: form}
		m[key] = s
	case s.forms != nil:
		s.forms[form]++
	case form != s.form:
		s.forms = map[string]int{s.form: s.n, form: 1}
	}
	s.count += weight
	s.n++
}

func join(run []word) (key, form string) {
	stems := make([]string, len(run))
	texts := make([]string, len(run))
	for i, w := range run {
		stems[i] = w.stem
		texts[i] = w.text
	}
	return strings.Join(stems, " "), strings.Join(texts, " ")
}

// candidates splits text into runs of content words.
func candidates(lang, text string, title bool) [][]word {
	var runs [][]word
	var run []word
	flush := func() {
		if len(run) > 0 {
			runs = append(runs, run)
			run = nil
		}
	}
	for _, w := range token.Split(text) {
		if w.Break {
			flush()
		}
		lower := strings.ToLower(w.Text)
		if !token.IsContent(lang, lower) || boilerplate[lower] {
			flush()
			continue
		}
		run = append(run, word{stem: token.Stem(lang, lower), text: w.Text, title: title, start: w.SentenceStart || title})
	}
	flush()
	return runs
}

func isCapitalised(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsUpper(r)
}

// display renders a word or phrase from its most frequent surface form:
// each word lowercased unless it is a proper noun. key holds the stems, one
// per word of the form.
func display(key string, s *stats, proper map[string]int) string {
	words := strings.Split(s.mostFrequent(), " ")
	stems := strings.Split(key, " ")
	for i, w := range words {
		if i < len(stems) && proper[stems[i]] > 0 {
			r, size := utf8.DecodeRuneInString(w)
			words[i] = string(unicode.ToUpper(r)) + w[size:]
			continue
		}
		words[i] = strings.ToLower(w)
	}
	return strings.Join(words, " ")
}

func (s *stats) mostFrequent() string {
	if s.forms == nil {
		return s.form
	}
	best, bestN := "", 0
	for f, n := range s.forms {
		if n > bestN || (n == bestN && f < best) {
			best, bestN = f, n
		}
	}
	return best
}
