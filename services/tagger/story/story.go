// Package story groups articles: it marks a syndicated copy as a duplicate
// of the first seen, an article that reuses a large part of another's text
// as derived from it, and puts different outlets' reports of one event into
// one story.
//
// An Index holds the recent articles (a time window) in memory as compact
// Records: id, time, content signature and weighted features (canonical
// entity names and keywords). Link decides where a new article stands:
//
//   - duplicate: its MinHash Jaccard similarity to a recent article reaches
//     Config.Duplicate (a copy with small edits); it points at that
//     article's own original, so every copy names the first seen;
//   - derived: the share of its shingles found in a recent article
//     (containment) reaches Config.Derived;
//   - same story: the IDF-weighted cosine similarity of the features
//     reaches Config.Similarity with at least Config.MinShared features in
//     common, so outlets that wrote their own text still meet on the people,
//     places and terms of the event. Document frequencies come from the
//     index itself, smoothed by a prior of Config.PriorDocs documents in
//     which nothing occurs, so a small index weighs all features alike and
//     a large one learns that "United States" says little.
//
// An article that matches nothing founds a story whose id is its own id.
// The package is pure (no I/O): the tagger feeds it from a stream that
// every replica publishes to (see package tagger), and the evaluation runs
// it over a corpus in memory.
package story

import (
	"math"
	"sort"
	"sync"
	"time"

	"github.com/newsflow/newsflow/services/tagger/signature"
)

// Feature is a weighted feature of an article: "e:" and a canonical entity
// key, or "k:" and a folded keyword.
type Feature struct {
	Key    string  `json:"k"`
	Weight float64 `json:"w"`
}

// Record is what the index keeps of one article.
type Record struct {
	ID       string              `json:"id"`
	Time     time.Time           `json:"t"`
	Sig      signature.Signature `json:"sig"`
	Features []Feature           `json:"f,omitempty"`
	Link     Link                `json:"link"`
}

// Link is where an article stands among the recent ones.
type Link struct {
	Story       string  `json:"story"`
	DuplicateOf string  `json:"dup,omitempty"`
	DerivedFrom string  `json:"der,omitempty"`
	Overlap     float64 `json:"ov,omitempty"` // Jaccard for a duplicate, containment for a derived article
	Similarity  float64 `json:"sim,omitempty"`
}

// Config holds the grouping thresholds.
type Config struct {
	Window     time.Duration // how far apart in time two articles may be and still group
	Duplicate  float64       // Jaccard similarity of a syndicated copy
	Derived    float64       // containment of an article derived from another
	Similarity float64       // feature cosine of two reports of one story
	MinShared  int           // features two reports of one story share at least
	PriorDocs  float64       // smoothing of document frequencies
	Lookup     int           // rarest features of a new article used to find candidates
	Candidates int           // articles compared at most: those sharing the rarest features first
	MaxRecords int           // records kept at most; the oldest go first
}

// DefaultConfig returns the thresholds the evaluation was run with.
func DefaultConfig() Config {
	return Config{
		Window:     72 * time.Hour,
		Duplicate:  0.7,
		Derived:    0.3,
		Similarity: 0.6,
		MinShared:  6,
		PriorDocs:  200,
		Lookup:     12,
		Candidates: 400,
		MaxRecords: 50000,
	}
}

// KeptHashes is how many MinHash values the index keeps of each record: a
// prefix of the sketch (signature.Jaccard compares prefixes). At the
// duplicate threshold (J = 0.7) the estimate's standard error is about
// 0.04, and it halves the largest part of a record.
const KeptHashes = 128

// Index is the in-memory grouping index; it is safe for concurrent use.
type Index struct {
	cfg       Config
	mu        sync.Mutex
	records   map[string]*Record
	byFeature map[string]*posting
	order     []*Record // insertion order, for expiry
	newest    time.Time
}

// posting lists the records holding a feature. Its key is the one copy of
// the feature's string that all those records share (interned).
type posting struct {
	key  string
	recs []*Record // a slice, not a set: most features have one or two records, and a small map costs ten times more
}

// New returns an empty index.
func New(cfg Config) *Index {
	return &Index{cfg: cfg, records: map[string]*Record{}, byFeature: map[string]*posting{}}
}

// postings is the list of records holding a feature key.
func (x *Index) postings(key string) []*Record {
	if p := x.byFeature[key]; p != nil {
		return p.recs
	}
	return nil
}

// compact returns the copy of r the index stores: the sketch cut to
// KeptHashes values in an array of its own (so the caller's full sketch can
// be freed), feature keys and link ids shared with the records already
// held.
func (x *Index) compact(r Record) *Record {
	if len(r.Sig.MinHash) > KeptHashes {
		r.Sig.MinHash = append([]uint32(nil), r.Sig.MinHash[:KeptHashes]...)
	}
	fs := make([]Feature, len(r.Features))
	for i, f := range r.Features {
		if p := x.byFeature[f.Key]; p != nil {
			f.Key = p.key
		}
		fs[i] = f
	}
	r.Features = fs
	r.Link.Story = x.intern(r.Link.Story)
	r.Link.DuplicateOf = x.intern(r.Link.DuplicateOf)
	r.Link.DerivedFrom = x.intern(r.Link.DerivedFrom)
	return &r
}

// intern returns the id string of the record held under id, if any.
func (x *Index) intern(id string) string {
	if r := x.records[id]; r != nil {
		return r.ID
	}
	return id
}

// Len is the number of records held.
func (x *Index) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return len(x.records)
}

// Assign links r against the index and adds it, in one step, so two
// articles handled at once by this process see each other. It returns r
// with its Link set.
func (x *Index) Assign(r Record) Record {
	x.mu.Lock()
	defer x.mu.Unlock()
	if prev, ok := x.records[r.ID]; ok {
		// A redelivery or a new version of an article already grouped
		// keeps its place unless its text changed into something else.
		r.Link = prev.Link
		if signature.Jaccard(prev.Sig.MinHash, r.Sig.MinHash) < x.cfg.Duplicate {
			x.remove(prev)
			r.Link = x.link(r)
		}
	} else {
		r.Link = x.link(r)
	}
	x.add(x.compact(r))
	return r
}

// Add stores a record linked elsewhere (by another replica); a record with
// the same id replaces the one held.
func (x *Index) Add(r Record) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if prev, ok := x.records[r.ID]; ok {
		x.remove(prev)
	}
	x.add(x.compact(r))
}

func (x *Index) add(r *Record) {
	x.records[r.ID] = r
	x.order = append(x.order, r)
	for _, f := range r.Features {
		p := x.byFeature[f.Key]
		if p == nil {
			p = &posting{key: f.Key}
			x.byFeature[f.Key] = p
		}
		p.recs = append(p.recs, r)
	}
	if r.Time.After(x.newest) {
		x.newest = r.Time
	}
	x.expire()
}

func (x *Index) remove(r *Record) {
	if x.records[r.ID] != r {
		return
	}
	delete(x.records, r.ID)
	for _, f := range r.Features {
		p := x.byFeature[f.Key]
		if p == nil {
			continue
		}
		for i, c := range p.recs {
			if c == r {
				p.recs[i] = p.recs[len(p.recs)-1]
				p.recs[len(p.recs)-1] = nil
				p.recs = p.recs[:len(p.recs)-1]
				break
			}
		}
		if len(p.recs) == 0 {
			delete(x.byFeature, f.Key)
		}
	}
}

// expire drops records older than the window before the newest one, and
// the oldest beyond MaxRecords, walking from the oldest insertion.
func (x *Index) expire() {
	cutoff := x.newest.Add(-x.cfg.Window)
	i := 0
	for ; i < len(x.order); i++ {
		r := x.order[i]
		if x.records[r.ID] != r {
			continue // replaced or removed already
		}
		over := x.cfg.MaxRecords > 0 && len(x.records) > x.cfg.MaxRecords
		if !over && !r.Time.Before(cutoff) {
			break
		}
		x.remove(r)
	}
	clear(x.order[:i])
	x.order = x.order[i:]
}

// idf is the smoothed inverse document frequency of a feature key.
func (x *Index) idf(key string) float64 {
	n := float64(len(x.records)) + x.cfg.PriorDocs
	return math.Log(n / (1 + float64(len(x.postings(key)))))
}

// link decides r's place; x.mu is held.
func (x *Index) link(r Record) Link {
	cands := x.candidates(r)
	weights := x.weigh(r.Features)
	var dup, der, sim *Record
	bestJ, bestC, bestS := 0.0, 0.0, 0.0
	for _, c := range cands {
		if !within(r.Time, c.Time, x.cfg.Window) {
			continue
		}
		if j := signature.Jaccard(r.Sig.MinHash, c.Sig.MinHash); j >= x.cfg.Duplicate && j > bestJ {
			dup, bestJ = c, j
		}
		if ct := signature.Containment(r.Sig, c.Sig); ct >= x.cfg.Derived && ct > bestC {
			der, bestC = c, ct
		}
		if s, shared := x.cosine(weights, c); s >= x.cfg.Similarity && shared >= x.cfg.MinShared && s > bestS {
			sim, bestS = c, s
		}
	}
	switch {
	case dup != nil:
		orig := dup.ID
		if dup.Link.DuplicateOf != "" {
			orig = dup.Link.DuplicateOf
		}
		return Link{Story: dup.Link.Story, DuplicateOf: orig, Overlap: bestJ}
	case der != nil:
		return Link{Story: der.Link.Story, DerivedFrom: der.ID, Overlap: bestC}
	case sim != nil:
		return Link{Story: sim.Link.Story, Similarity: bestS}
	}
	return Link{Story: r.ID}
}

// candidates are the records sharing one of r's rarest features (until
// Config.Candidates are found; a feature more common than that is skipped),
// in a fixed order so that ties resolve the same way every time.
func (x *Index) candidates(r Record) []*Record {
	keys := make([]string, 0, len(r.Features))
	for _, f := range r.Features {
		if len(x.postings(f.Key)) > 0 {
			keys = append(keys, f.Key)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		di, dj := len(x.postings(keys[i])), len(x.postings(keys[j]))
		if di != dj {
			return di < dj
		}
		return keys[i] < keys[j]
	})
	if x.cfg.Lookup > 0 && len(keys) > x.cfg.Lookup {
		keys = keys[:x.cfg.Lookup]
	}
	seen := map[*Record]bool{}
	var out []*Record
	for _, k := range keys {
		recs := x.postings(k)
		if x.cfg.Candidates > 0 && (len(out) >= x.cfg.Candidates || len(recs) > x.cfg.Candidates) {
			break // a feature this common adds nothing a rarer one missed
		}
		for _, c := range recs {
			if !seen[c] && c.ID != r.ID {
				seen[c] = true
				out = append(out, c)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// weigh returns the IDF-weighted features of a new article.
func (x *Index) weigh(fs []Feature) map[string]float64 {
	w := make(map[string]float64, len(fs))
	for _, f := range fs {
		w[f.Key] += f.Weight * x.idf(f.Key)
	}
	return w
}

// cosine compares a new article's weighted features with a record's.
func (x *Index) cosine(w map[string]float64, c *Record) (float64, int) {
	dot, na, nb := 0.0, 0.0, 0.0
	for _, v := range w {
		na += v * v
	}
	shared := 0
	for _, f := range c.Features {
		v := f.Weight * x.idf(f.Key)
		nb += v * v
		if a, ok := w[f.Key]; ok {
			dot += a * v
			shared++
		}
	}
	if na == 0 || nb == 0 {
		return 0, 0
	}
	return dot / math.Sqrt(na*nb), shared
}

func within(a, b time.Time, window time.Duration) bool {
	d := a.Sub(b)
	if d < 0 {
		d = -d
	}
	return d <= window
}
