// Package tag combines language detection, topic classification, entity
// and keyword extraction and the content signature into the tagger stage's
// result for one article.
package tag

import (
	"math"
	"strings"

	"github.com/newsflow/newsflow/services/tagger/entity"
	"github.com/newsflow/newsflow/services/tagger/keyword"
	"github.com/newsflow/newsflow/services/tagger/lang"
	"github.com/newsflow/newsflow/services/tagger/signature"
	"github.com/newsflow/newsflow/services/tagger/story"
	"github.com/newsflow/newsflow/services/tagger/token"
	"github.com/newsflow/newsflow/services/tagger/topic"
)

// keywordCount is how many keywords an article gets.
const keywordCount = 10

// storyEntities is how many of the most mentioned entities describe an
// article to the story grouping.
const storyEntities = 12

// Result is what the tagger adds to an article.
type Result struct {
	Language           string // ISO 639-1, or "und"
	LanguageConfidence float64
	Topics             []topic.Score
	Keywords           []keyword.Keyword
	Entities           []entity.Entity
	Signature          signature.Signature
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
// for language detection too: short texts need every word. The signature
// covers the text only: outlets rewrite headlines of agency copy.
func (t *Tagger) Tag(title, text string) Result {
	return t.TagIn(lang.Detect(title+"\n"+text), title, text)
}

// TagIn tags an article whose language is known already.
func (t *Tagger) TagIn(language lang.Result, title, text string) Result {
	if strings.TrimSpace(title+text) == "" {
		return Result{Language: language.Code}
	}
	return Result{
		Language:           language.Code,
		LanguageConfidence: language.Confidence,
		Topics:             t.model.Classify(title, text, language.Code),
		Keywords:           keyword.Extract(title, text, language.Code, keywordCount),
		Entities:           entity.Extract(title, text),
		Signature:          signature.Compute(text),
	}
}

// Features describes the article to the story grouping: its most mentioned
// entities (weight 1 + ln mentions) and its keywords (weight by rank
// score), under keys that match across articles.
func (r Result) Features() []story.Feature {
	var fs []story.Feature
	seen := map[string]bool{}
	for i, e := range r.Entities {
		if i == storyEntities {
			break
		}
		key := "e:" + e.Key()
		seen[key] = true
		fs = append(fs, story.Feature{Key: key, Weight: 1 + math.Log(float64(e.Mentions))})
	}
	for _, k := range r.Keywords {
		key := "k:" + token.Fold(k.Term)
		if seen[key] || seen["e:"+entity.NameKey(k.Term)] {
			continue // the keyword is an entity already counted
		}
		seen[key] = true
		fs = append(fs, story.Feature{Key: key, Weight: k.Score})
	}
	return fs
}
