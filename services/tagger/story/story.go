// Package story groups articles: it marks a syndicated copy as a duplicate
// of the first published, an article that reuses a large part of another's
// text (or is largely reused by it) as derived from it, and puts different
// outlets' reports of one event into one story.
//
// An Index holds the recent articles (a time window) in memory as compact
// Records: id, time, content signature and weighted features (canonical
// entity names and keywords). Articles are ordered by time (publication,
// else fetch) and then id, and every relation points from the later
// article to an earlier one, its parent:
//
//   - duplicate: its MinHash Jaccard similarity to an earlier article
//     reaches Config.Duplicate (a copy with small edits); it names the
//     earliest such article, or that article's own original;
//   - derived: the share of one text's shingles found in the other
//     (containment, the larger of the two directions: a shortened copy
//     and an article quoting another whole both count) reaches
//     Config.Derived; it names the earlier article that holds the largest
//     share of the later one's text;
//   - same story: the IDF-weighted cosine similarity of the features
//     reaches Config.Similarity with at least Config.MinShared features in
//     common, so outlets that wrote their own text still meet on the people,
//     places and terms of the event. Document frequencies come from the
//     index itself, smoothed by a prior of Config.PriorDocs documents in
//     which nothing occurs, so a small index weighs all features alike and
//     a large one learns that "United States" says little.
//
// The parent is the best of these among the earlier articles (a duplicate
// before a derived article before a report of the same event), and an
// article's story is its parent's story; an article with no parent founds
// a story whose id is its own id. Every link is thus a function of the set
// of articles, not of the order they arrive in: when an article arrives
// after a later one it is a better parent for, or changes the story of its
// children, Assign returns those later articles as stale, and the caller
// links them again (Assign them anew: the tagger sends their input message
// through the stage once more, Settle does it in memory). Parents are
// always earlier, so relinking ends. Its cost: an arrival relinks at most
// the Config.Candidates articles it is compared with; a group of copies
// arriving in random order relinks about one article per article (each
// time a new first-published copy arrives, every copy moves to it), one
// arriving in publication order none.
//
// Within that rule the result depends on order in two bounded ways: the
// candidates compared are those sharing an article's rarest features (at
// most Config.Candidates), and feature weights follow the index's content
// at the time of comparison.
//
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
	// Ref tells the caller where to find the article again to link it
	// anew (the tagger: its input message's stream sequence); 0 unknown.
	Ref uint64 `json:"ref,omitempty"`

	// held replaces Features in a record the index holds: each feature's
	// posting, which has its key, and its weight.
	held []heldFeature
	// seen marks the record as a candidate of the link numbered so.
	seen uint64
}

type heldFeature struct {
	p *posting
	w float64
}

// Link is where an article stands among the recent ones.
type Link struct {
	Story       string  `json:"story"`
	DuplicateOf string  `json:"dup,omitempty"`
	DerivedFrom string  `json:"der,omitempty"`
	Overlap     float64 `json:"ov,omitempty"` // Jaccard for a duplicate, containment for a derived article
	Similarity  float64 `json:"sim,omitempty"`
	// Parent is the earlier article the link was made through (for a
	// duplicate, the copy matched, whose original DuplicateOf names).
	Parent string `json:"p,omitempty"`
}

// kind ranks a link: a duplicate above a derived article above a report of
// the same story above none.
func (l Link) kind() int {
	switch {
	case l.DuplicateOf != "":
		return kindDuplicate
	case l.DerivedFrom != "":
		return kindDerived
	case l.Parent != "":
		return kindSimilar
	}
	return kindNone
}

const (
	kindNone = iota
	kindSimilar
	kindDerived
	kindDuplicate
)

// Stale names an article whose link an assignment changed: the caller
// links it again (see Index.Assign).
type Stale struct {
	ID   string
	Ref  uint64
	Link Link // the link it has, which no longer holds
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
	// links numbers the links made (see posting.link).
	links uint64
	// idfByDF memoises idf by document frequency for one link (see
	// memoIDF).
	idfByDF []float64
}

// posting lists the records holding a feature. Its key is the one copy of
// the feature's string that all those records share (interned).
type posting struct {
	key  string
	recs []*Record // a slice, not a set: most features have one or two records, and a small map costs ten times more

	// link is the number of the last link whose new article has the
	// feature, and weight that article's weight of it: kept here, a
	// candidate's feature costs no map lookup (in a crowded story every new
	// article meets hundreds of candidates).
	link   uint64
	weight float64
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
// be freed), and link ids shared with the records already held (add
// replaces the features with their postings, which hold the keys).
func (x *Index) compact(r Record) *Record {
	if len(r.Sig.MinHash) > KeptHashes {
		r.Sig.MinHash = append([]uint32(nil), r.Sig.MinHash[:KeptHashes]...)
	}
	r.held, r.seen = nil, 0
	r.Link.Story = x.intern(r.Link.Story)
	r.Link.DuplicateOf = x.intern(r.Link.DuplicateOf)
	r.Link.DerivedFrom = x.intern(r.Link.DerivedFrom)
	r.Link.Parent = x.intern(r.Link.Parent)
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
// with its Link set, and the later articles r's arrival makes stale: those
// r is a better parent for than the one they have, and r's children when
// r's own link changed. An article assigned again (a redelivery, a new
// version, or a stale one linked anew) is linked from scratch, so a
// redelivery gets the link it had.
func (x *Index) Assign(r Record) (Record, []Stale) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if prev, ok := x.records[r.ID]; ok {
		x.remove(prev)
	}
	var stale []Stale
	r.Link, stale = x.link(r, true)
	x.add(x.compact(r))
	return r, stale
}

// Add stores a record linked elsewhere (by another replica); a record with
// the same id replaces the one held. It returns the later articles the
// record makes stale, as Assign does: a replica that did not link r itself
// learns through Add what r changed. (Both replicas may report the same
// article; relinking it twice gives the same link.)
func (x *Index) Add(r Record) []Stale {
	x.mu.Lock()
	defer x.mu.Unlock()
	prev, ok := x.records[r.ID]
	if ok {
		if prev.Link == r.Link && prev.Ref == r.Ref && prev.Time.Equal(r.Time) {
			// The record this replica assigned, back from the stream: its
			// consequences were reported then.
			return nil
		}
		x.remove(prev)
	}
	_, stale := x.link(r, false)
	x.add(x.compact(r))
	return stale
}

// Settle assigns r and links anew, in memory, every article that makes
// stale, and so on until nothing is: what the tagger does through its
// input stream. input returns an article's record as it was first given
// (false: gone). It returns r as linked and how many relinks it took; at
// most limit are done (0: 100 times the index size), a bound that a sound
// index never reaches.
func (x *Index) Settle(r Record, input func(id string) (Record, bool), limit int) (Record, int) {
	out, queue := x.Assign(r)
	if limit <= 0 {
		limit = 100 * (x.Len() + 1)
	}
	// An article waiting in the queue is not queued again: linking it
	// once from scratch serves every cause (the tagger gets the same from
	// its relink generations, see package tagger).
	queued := map[string]bool{}
	for _, s := range queue {
		queued[s.ID] = true
	}
	n := 0
	for ; len(queue) > 0 && n < limit; n++ {
		s := queue[0]
		queue = queue[1:]
		delete(queued, s.ID)
		in, ok := input(s.ID)
		if !ok {
			continue
		}
		got, more := x.Assign(in)
		if got.ID == out.ID {
			out = got
		}
		for _, m := range more {
			if !queued[m.ID] {
				queued[m.ID] = true
				queue = append(queue, m)
			}
		}
	}
	return out, n
}

// Ref returns the Ref of the record the index holds for id.
func (x *Index) Ref(id string) (uint64, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if r := x.records[id]; r != nil {
		return r.Ref, true
	}
	return 0, false
}

// Link returns the link the index holds for id.
func (x *Index) Link(id string) (Link, bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if r := x.records[id]; r != nil {
		return r.Link, true
	}
	return Link{}, false
}

func (x *Index) add(r *Record) {
	x.records[r.ID] = r
	x.order = append(x.order, r)
	r.held = make([]heldFeature, len(r.Features))
	for i, f := range r.Features {
		p := x.byFeature[f.Key]
		if p == nil {
			p = &posting{key: f.Key}
			x.byFeature[f.Key] = p
		}
		p.recs = append(p.recs, r)
		r.held[i] = heldFeature{p, f.Weight}
	}
	r.Features = nil
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
	for _, f := range r.held {
		p := f.p
		for j, c := range p.recs {
			if c == r {
				p.recs[j] = p.recs[len(p.recs)-1]
				p.recs[len(p.recs)-1] = nil
				p.recs = p.recs[:len(p.recs)-1]
				break
			}
		}
		if len(p.recs) == 0 {
			delete(x.byFeature, p.key)
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

// idfOf is the idf of a feature held by df records.
func (x *Index) idfOf(df int) float64 {
	n := float64(len(x.records)) + x.cfg.PriorDocs
	return math.Log(n / (1 + float64(df)))
}

// before orders articles: by time, then id.
func before(a, b *Record) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.Before(b.Time)
	}
	return a.ID < b.ID
}

// relation is how two articles relate, whichever came first.
type relation struct {
	kind  int
	score float64 // Jaccard, containment or cosine, as kind says
}

// relate compares r (with its weighted features w) and c. Its score is
// the Jaccard estimate for a duplicate, the share of the later article's
// shingles found in the earlier for a derived article (the pair counts as
// derived when either text holds enough of the other), and the feature
// cosine for a report of the same story.
func (x *Index) relate(r *Record, w *weighted, c *Record) relation {
	j, rInC, cInR := signature.Overlap(r.Sig, c.Sig)
	if j >= x.cfg.Duplicate {
		return relation{kindDuplicate, j}
	}
	if max(rInC, cInR) >= x.cfg.Derived {
		// Scored by the share of the later text found in the earlier,
		// which for one later article ranks its sources by how much of
		// them it reuses.
		later := rInC
		if before(r, c) {
			later = cInR
		}
		return relation{kindDerived, later}
	}
	if s, shared := x.cosine(w, c); s >= x.cfg.Similarity && shared >= x.cfg.MinShared {
		return relation{kindSimilar, s}
	}
	return relation{}
}

// better reports whether parent p with relation rel is a better parent than
// q with relation cur: a stronger kind; within duplicates the earlier (a
// copy names the first published); otherwise the higher score, then the
// earlier.
func better(rel relation, p *Record, cur relation, q *Record) bool {
	if rel.kind != cur.kind {
		return rel.kind > cur.kind
	}
	if q == nil {
		return true
	}
	if rel.kind != kindDuplicate && rel.score != cur.score {
		return rel.score > cur.score
	}
	return before(p, q)
}

// linkTo is the link of an article whose parent is p, related by rel.
func linkTo(p *Record, rel relation) Link {
	switch rel.kind {
	case kindDuplicate:
		orig := p.ID
		if p.Link.DuplicateOf != "" {
			orig = p.Link.DuplicateOf
		}
		return Link{Story: p.Link.Story, DuplicateOf: orig, Overlap: rel.score, Parent: p.ID}
	case kindDerived:
		return Link{Story: p.Link.Story, DerivedFrom: p.ID, Overlap: rel.score, Parent: p.ID}
	case kindSimilar:
		return Link{Story: p.Link.Story, Similarity: rel.score, Parent: p.ID}
	}
	return Link{}
}

// current is the relation behind a record's link.
func current(l Link) relation {
	switch k := l.kind(); k {
	case kindDuplicate, kindDerived:
		return relation{k, l.Overlap}
	case kindSimilar:
		return relation{k, l.Similarity}
	}
	return relation{}
}

// link decides r's place among the candidates (with assign; otherwise r
// keeps the link it brings) and finds the later ones r makes stale; x.mu is
// held and r is not in the index.
func (x *Index) link(r Record, assign bool) (Link, []Stale) {
	x.links++
	cands := x.candidates(r)
	weights := x.weigh(r.Features)
	var parent *Record
	var best relation
	type later struct {
		c   *Record
		rel relation
	}
	var laters []later
	for _, c := range cands {
		if !within(r.Time, c.Time, x.cfg.Window) {
			continue
		}
		rel := x.relate(&r, weights, c)
		if !before(c, &r) {
			laters = append(laters, later{c, rel})
			continue
		}
		if rel.kind != kindNone && better(rel, c, best, parent) {
			parent, best = c, rel
		}
	}
	if assign {
		r.Link = Link{Story: r.ID}
		if parent != nil {
			r.Link = linkTo(parent, best)
		}
	}
	var stale []Stale
	for _, l := range laters {
		c := l.c
		want := linkTo(&r, l.rel)
		if c.Link.Parent == r.ID {
			// A child of r: stale when what it shows changes with r (its
			// story, original or source), or r no longer relates to it.
			if l.rel.kind == kindNone || !sameRelations(want, c.Link) {
				stale = append(stale, Stale{ID: c.ID, Ref: c.Ref, Link: c.Link})
			}
			continue
		}
		// A better parent is worth a relink only when the article would
		// show other relations; a better parent in the same story changes
		// nothing stored (its children still follow a story change, along
		// the parent it has).
		if l.rel.kind != kindNone && better(l.rel, &r, current(c.Link), x.records[c.Link.Parent]) && !sameRelations(want, c.Link) {
			stale = append(stale, Stale{ID: c.ID, Ref: c.Ref, Link: c.Link})
		}
	}
	return r.Link, stale
}

// sameRelations reports whether two links show the same relations: story,
// original and source (what the article's record stores, scores aside).
func sameRelations(a, b Link) bool {
	return a.Story == b.Story && a.DuplicateOf == b.DuplicateOf && a.DerivedFrom == b.DerivedFrom
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
	var out []*Record
	for _, k := range keys {
		recs := x.postings(k)
		if x.cfg.Candidates > 0 && (len(out) >= x.cfg.Candidates || len(recs) > x.cfg.Candidates) {
			break // a feature this common adds nothing a rarer one missed
		}
		for _, c := range recs {
			if c.seen != x.links && c.ID != r.ID {
				c.seen = x.links
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

// weighted is a new article's IDF-weighted features, for comparing it with
// the candidates of one link (x.mu held, so every idf stays put). The
// weights of the features the index holds are kept in their postings (see
// posting.link).
type weighted struct {
	link uint64  // the link's number
	norm float64 // the squared weights summed
}

// maxMemoDF bounds the document frequencies whose idf is memoised.
const maxMemoDF = 4096

// memoIDF is x.idfOf(df), memoised for the link (the index does not change
// during one, and a crowded story's candidates share most of their
// features).
func (x *Index) memoIDF(df int) float64 {
	if df >= maxMemoDF {
		return x.idfOf(df)
	}
	if df >= len(x.idfByDF) {
		x.idfByDF = append(x.idfByDF, make([]float64, df+1-len(x.idfByDF))...)
	}
	if x.idfByDF[df] == 0 {
		x.idfByDF[df] = x.idfOf(df)
	}
	return x.idfByDF[df]
}

// weigh returns the IDF-weighted features of a new article for the link
// numbered x.links.
func (x *Index) weigh(fs []Feature) *weighted {
	w := &weighted{link: x.links}
	clear(x.idfByDF) // the index has changed since the last link
	var held []*posting
	var unheld []float64        // the weights of features no record holds
	var unheldAt map[string]int // their places in unheld
	for _, f := range fs {
		if p := x.byFeature[f.Key]; p != nil {
			if p.link != w.link {
				p.link, p.weight = w.link, 0
				held = append(held, p)
			}
			p.weight += f.Weight * x.memoIDF(len(p.recs))
			continue
		}
		if unheldAt == nil {
			unheldAt = map[string]int{}
		}
		i, ok := unheldAt[f.Key]
		if !ok {
			i = len(unheld)
			unheldAt[f.Key] = i
			unheld = append(unheld, 0)
		}
		unheld[i] += f.Weight * x.memoIDF(0)
	}
	// Summed in the features' order: the same article gets the same
	// scores on every replica.
	for _, p := range held {
		w.norm += p.weight * p.weight
	}
	for _, v := range unheld {
		w.norm += v * v
	}
	return w
}

// cosine compares a new article's weighted features with a record's.
func (x *Index) cosine(w *weighted, c *Record) (float64, int) {
	dot, nb := 0.0, 0.0
	shared := 0
	for _, f := range c.held {
		v := f.w * x.memoIDF(len(f.p.recs))
		nb += v * v
		if f.p.link == w.link {
			dot += f.p.weight * v
			shared++
		}
	}
	if w.norm == 0 || nb == 0 {
		return 0, 0
	}
	return dot / math.Sqrt(w.norm*nb), shared
}

func within(a, b time.Time, window time.Duration) bool {
	d := a.Sub(b)
	if d < 0 {
		d = -d
	}
	return d <= window
}
