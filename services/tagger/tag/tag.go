// Package tag combines language detection, topic classification and keyword
// extraction into the tagger stage's result for one article.
package tag

import (
	"github.com/newsflow/newsflow/services/tagger/keyword"
	"github.com/newsflow/newsflow/services/tagger/lang"
	"github.com/newsflow/newsflow/services/tagger/topic"
)

// keywordCount is how many keywords an article gets.
const keywordCount = 10

// Result is what the tagger adds to an article.
type Result struct {
	Language           string // ISO 639-1, or "und"
	LanguageConfidence float64
	Topics             []topic.Score
	Keywords           []keyword.Keyword
}

// Tagger tags articles. It holds only an immutable model, so one Tagger is
// safe for concurrent use.
type Tagger struct {
	model *topic.Model
}

// New returns a Tagger that classifies with m; nil means topic.Default().
func New(m *topic.Model) *Tagger {
	if m == nil {
		m = topic.Default()
	}
	return &Tagger{model: m}
}

// Tag detects the language of the article, then classifies and extracts
// keywords with that language's stopwords and stemming. The title counts
// for language detection too: short texts need every word.
func (t *Tagger) Tag(title, text string) Result {
	detected := lang.Detect(title + "\n" + text)
	return Result{
		Language:           detected.Code,
		LanguageConfidence: detected.Confidence,
		Topics:             t.model.Classify(title, text, detected.Code),
		Keywords:           keyword.Extract(title, text, detected.Code, keywordCount),
	}
}
