package evaluate

import (
	"math/rand/v2"
	"time"

	"github.com/newsflow/newsflow/services/tagger/story"
	"github.com/newsflow/newsflow/services/tagger/tag"
)

// GroupOrders tags docs once and groups them in n arrival orders: the
// given order first, then random ones (from seed). Doc i is published at
// times[i] whatever the order it arrives in.
func GroupOrders(docs []Doc, times []time.Time, tg *tag.Tagger, cfg story.Config, n int, seed uint64) [][]Grouped {
	res := TagAll(docs, tg)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	out := make([][]Grouped, n)
	for k := range out {
		order := rng.Perm(len(docs))
		if k == 0 {
			for i := range order {
				order[i] = i
			}
		}
		out[k] = GroupTagged(docs, res, times, order, cfg)
	}
	return out
}

// SameRelations reports whether two groupings of the same docs link every
// article alike: the same story, duplicate and source (scores aside, which
// follow the feature weights of the moment).
func SameRelations(a, b []Grouped) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i].Link, b[i].Link
		if x.Story != y.Story || x.DuplicateOf != y.DuplicateOf || x.DerivedFrom != y.DerivedFrom {
			return false
		}
	}
	return true
}

// Stories counts the distinct stories of a grouping.
func Stories(gs []Grouped) int {
	seen := map[string]bool{}
	for _, g := range gs {
		seen[g.Link.Story] = true
	}
	return len(seen)
}
