package tagger

import (
	"crypto/sha256"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/newsflow/newsflow/services/tagger/tag"
)

// A story relink sends an article through the tagger again only to link it
// anew: its title and text are those of its first pass, and tagging them is
// a pure function of them (the model is fixed for the process's life). The
// tagger therefore keeps the results of the articles it tagged last, by
// title and text, and a relink takes its result from there when it is
// still held, skipping all but the story linking. First passes always tag:
// two different articles with the same text (syndicated copies) each pay
// for their own, so what the cache saves is the relinks' work and nothing
// else.
//
// recentTagged is how many results are kept: 2.7 KB each on the heap (the
// MinHash signature is 1 KB of it; measured over 1,000 farm articles), so
// 4,096 take about 11 MB. Relinks are sent
// once the tagger has caught up, mostly within a few thousand articles of
// their first pass; one whose result has gone is tagged again.
const recentTagged = 4096

type recentResults struct {
	held *lru.Cache[[sha256.Size]byte, tag.Result]
}

func newRecentResults(size int) *recentResults {
	c, err := lru.New[[sha256.Size]byte, tag.Result](size)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return &recentResults{held: c}
}

func resultKey(title, text string) [sha256.Size]byte {
	h := sha256.New()
	h.Write([]byte(title))
	h.Write([]byte{0})
	h.Write([]byte(text))
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// tag returns t's result for title and text: for a relink the one held, if
// any (reused reports that); otherwise tagged now and then held. The
// result's slices are shared with the cache: callers only read them.
func (r *recentResults) tag(t *tag.Tagger, relink bool, title, text string) (res tag.Result, reused bool) {
	k := resultKey(title, text)
	if relink {
		if res, ok := r.held.Get(k); ok {
			return res, true
		}
	}
	res = t.Tag(title, text)
	r.held.Add(k, res)
	return res, false
}
