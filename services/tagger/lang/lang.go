// Package lang detects the language of article text.
//
// It wraps github.com/abadojack/whatlanggo (trigram profiles compiled into
// the binary, a few MB resident) rather than lingua-go: lingua embeds about
// 125 MB of models in every binary and needs about 35 MB resident even in
// low-accuracy mode restricted to ten languages (430 MB in high-accuracy
// mode), while on our test sentences both were equally accurate.
package lang

import (
	"unicode"
	"unicode/utf8"

	"github.com/abadojack/whatlanggo"
)

// Undetermined is the code reported when the language cannot be told.
const Undetermined = "und"

// Result is a detected language.
type Result struct {
	Code       string  // ISO 639-1, or "und" when unknown
	Confidence float64 // 0..1
}

// minLetters is the fewest letters worth guessing from: below it trigram
// statistics are noise and "und" is the honest answer.
const minLetters = 3

// The languages newsflow supports end to end (stopwords, stemming). Text in
// one of these scripts that the unrestricted detector finds only weakly is
// re-decided among them, which keeps close pairs (Spanish/Portuguese,
// Russian/Ukrainian) from drifting to a neighbour such as Galician or
// Belarusian.
var supported = [...]whatlanggo.Lang{
	whatlanggo.Eng, whatlanggo.Deu, whatlanggo.Fra, whatlanggo.Spa, whatlanggo.Ita,
	whatlanggo.Por, whatlanggo.Rus, whatlanggo.Ukr, whatlanggo.Pol, whatlanggo.Nld,
}

// Supported reports the ISO 639-1 codes of the languages the tagger fully
// supports.
func Supported() []string {
	codes := make([]string, len(supported))
	for i, l := range supported {
		codes[i] = l.Iso6391()
	}
	return codes
}

// maxSample bounds the text examined: trigram statistics settle within a
// kilobyte of prose, and detection cost grows with the text (cutting 4 KiB
// to 1 KiB took BenchmarkTag from about 1.2 ms to 0.87 ms per article).
const maxSample = 512

// Detect guesses the language of text. It is safe for concurrent use.
func Detect(text string) Result {
	text = sample(text)
	if countLetters(text) < minLetters {
		return Result{Code: Undetermined}
	}
	info := detect(text, nil)
	if info.Lang < 0 {
		return Result{Code: Undetermined}
	}
	if isSupported(info.Lang) || info.IsReliable() {
		return result(info)
	}
	// A fresh map per call: detect only reads it, and sharing a package
	// level map would be global mutable state.
	white := make(map[whatlanggo.Lang]bool, len(supported))
	for _, l := range supported {
		white[l] = true
	}
	restricted := detect(text, white)
	if restricted.Lang < 0 {
		return result(info)
	}
	return result(restricted)
}

func result(info whatlanggo.Info) Result {
	code := info.Lang.Iso6391()
	if code == "" {
		return Result{Code: Undetermined}
	}
	return Result{Code: code, Confidence: info.Confidence}
}

func isSupported(l whatlanggo.Lang) bool {
	for _, s := range supported {
		if s == l {
			return true
		}
	}
	return false
}

// sample cuts text to at most maxSample bytes on a rune boundary.
func sample(text string) string {
	if len(text) <= maxSample {
		return text
	}
	cut := maxSample
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut]
}

func countLetters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
			if n >= minLetters {
				return n
			}
		}
	}
	return n
}
