package extract

import (
	"unicode/utf8"

	"github.com/abadojack/whatlanggo"
)

// detectSample is how much text language detection reads: trigram
// statistics settle within a kilobyte of prose.
const detectSample = 1024

// detectLanguage guesses the ISO 639-1 code of text, for pages that declare
// none; "" unless the detector calls its guess reliable.
func detectLanguage(text string) string {
	if len(text) > detectSample {
		cut := detectSample
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	info := whatlanggo.Detect(text)
	if info.Lang < 0 || !info.IsReliable() {
		return ""
	}
	return info.Lang.Iso6391()
}
