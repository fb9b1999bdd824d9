package story

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/newsflow/newsflow/services/tagger/signature"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2025, 8, 19, 9, 0, 0, 0, time.UTC)

func rec(id string, at time.Duration, text string, features ...string) Record {
	fs := make([]Feature, len(features))
	for i, f := range features {
		fs[i] = Feature{Key: f, Weight: 1}
	}
	return Record{ID: id, Time: t0.Add(at), Sig: signature.Compute(text), Features: fs}
}

// words makes a text of n distinct words from a vocabulary named by prefix.
func words(prefix string, n int) string {
	ws := make([]string, n)
	for i := range ws {
		ws[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return strings.Join(ws, " ")
}

var event = []string{"e:putin", "e:zelenskyy", "e:trump", "e:ukraine", "e:alaska", "k:security guarantees", "k:summit"}

// assign is Assign for tests that look at the link only.
func assign(x *Index, r Record) Record {
	out, _ := x.Assign(r)
	return out
}

func TestLinks(t *testing.T) {
	x := New(DefaultConfig())
	agency := words("agency", 300)
	first := assign(x, rec("a", 0, agency, event...))
	require.Equal(t, Link{Story: "a"}, first.Link, "the first article founds its story")

	copyB := assign(x, rec("b", time.Hour, agency+" extra words at the end", event...))
	require.Equal(t, "a", copyB.Link.DuplicateOf)
	require.Equal(t, "a", copyB.Link.Story)
	require.Greater(t, copyB.Link.Overlap, 0.9)

	// A copy of the copy names the first seen.
	copyC := assign(x, rec("c", 2*time.Hour, agency+" extra words at the end.", event...))
	require.Equal(t, "a", copyC.Link.DuplicateOf)

	// Reuses 150 of a's 300 words and adds 150 of its own.
	derived := assign(x, rec("d", 3*time.Hour, words("agency", 150)+" "+words("own", 150), event...))
	require.Equal(t, "", derived.Link.DuplicateOf)
	require.Contains(t, []string{"a", "b", "c"}, derived.Link.DerivedFrom)
	require.Equal(t, "a", derived.Link.Story)

	// Its own text, the same event.
	report := assign(x, rec("e", 4*time.Hour, words("other", 300), event...))
	require.Equal(t, Link{Story: "a", Similarity: report.Link.Similarity, Parent: report.Link.Parent}, report.Link)
	require.Contains(t, []string{"a", "b", "c", "d"}, report.Link.Parent)
	require.Greater(t, report.Link.Similarity, 0.9)

	// Another event sharing one country.
	unrelated := assign(x, rec("f", 4*time.Hour, words("sport", 300), "e:ukraine", "e:kyiv dynamo", "k:football", "k:cup final"))
	require.Equal(t, Link{Story: "f"}, unrelated.Link)

	// The same event after the window: a new story.
	late := assign(x, rec("g", 100*time.Hour, words("later", 300), event...))
	require.Equal(t, Link{Story: "g"}, late.Link)
	require.Equal(t, 1, x.Len(), "records older than the window are gone")
}

func TestRedeliveryKeepsLink(t *testing.T) {
	x := New(DefaultConfig())
	assign(x, rec("a", 0, words("w", 200), event...))
	b := assign(x, rec("b", time.Minute, words("w", 200), event...))
	again := assign(x, rec("b", time.Minute, words("w", 200), event...))
	require.Equal(t, b.Link, again.Link)
	require.Equal(t, 2, x.Len())
}

func TestAddFromAnotherReplica(t *testing.T) {
	x := New(DefaultConfig())
	r := rec("a", 0, words("w", 200), event...)
	r.Link = Link{Story: "s1"}
	x.Add(r)
	got := assign(x, rec("b", time.Minute, words("w", 200), event...))
	require.Equal(t, Link{Story: "s1", DuplicateOf: "a", Overlap: 1, Parent: "a"}, got.Link)
}

func TestMaxRecords(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxRecords = 3
	x := New(cfg)
	for i := range 10 {
		assign(x, rec(fmt.Sprint(i), time.Duration(i)*time.Second, words(fmt.Sprint("w", i, "x"), 50), "k:x"))
	}
	require.Equal(t, 3, x.Len())
}

// BenchmarkAssign links an article against an index of 5,000 (the oldest
// dropped as new ones come, so it stays at that size).
func BenchmarkAssign(b *testing.B) {
	cfg := DefaultConfig()
	cfg.MaxRecords = 5000
	x := New(cfg)
	for i := range 5000 {
		assign(x, rec(fmt.Sprint("seed", i), 0, words(fmt.Sprint("d", i, "w"), 100), fmt.Sprint("e:p", i%500), fmt.Sprint("e:c", i%50), "e:united states", fmt.Sprint("k:", i%300)))
	}
	text := words("new", 600)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		assign(x, rec(fmt.Sprint("n", i), 0, text, fmt.Sprint("e:p", i%500), fmt.Sprint("e:c", i%50), "e:united states", fmt.Sprint("k:", i%300), fmt.Sprint("k:", (i+1)%300)))
	}
}

// BenchmarkAssignCrowded links an article against an index of 5,000
// records in 33 stories of about 150 records each: texts of their own, but
// most features shared within a story, so that every new article has about
// 150 candidates related by the feature cosine (the load harness's farm,
// which serves variants of 33 sample articles, is like this; so is a big
// story's coverage over a few days).
func BenchmarkAssignCrowded(b *testing.B) {
	const stories = 33
	cfg := DefaultConfig()
	cfg.MaxRecords = 5000
	x := New(cfg)
	record := func(n int) Record {
		fs := make([]string, 0, 35)
		for j := range 30 {
			fs = append(fs, fmt.Sprint("k:s", n%stories, "-", j))
		}
		for j := range 5 {
			fs = append(fs, fmt.Sprint("k:r", n, "-", j))
		}
		return rec(fmt.Sprint("a", n), time.Duration(n)*time.Second, words(fmt.Sprint("r", n, "w"), 300), fs...)
	}
	for n := range 5000 {
		assign(x, record(n))
	}
	next := make([]Record, 1000) // signed before the clock starts
	for i := range next {
		next[i] = record(5000 + i)
	}
	for i := 0; b.Loop(); i++ {
		assign(x, next[i%len(next)])
	}
}

func TestRecordsAreCompact(t *testing.T) {
	x := New(DefaultConfig())
	a := assign(x, rec("a", 0, words("w", 200), event...))
	require.Len(t, a.Sig.MinHash, signature.Hashes, "the caller keeps the full sketch (it is published)")
	b := assign(x, rec("b", time.Minute, words("v", 200), event...))

	held := x.records["a"]
	require.Len(t, held.Sig.MinHash, KeptHashes)
	require.Equal(t, a.Sig.MinHash[:KeptHashes], held.Sig.MinHash)
	// b's features are a's: the same postings, which hold the keys.
	require.Nil(t, held.Features, "the postings hold the keys")
	require.Len(t, held.held, len(event))
	for i, f := range x.records["b"].held {
		require.Same(t, held.held[i].p, f.p, f.p.key)
		require.Equal(t, event[i], f.p.key)
	}
	require.Equal(t, unsafe.StringData(held.ID), unsafe.StringData(x.records["b"].Link.Story), "b's story id is a's id")
	require.Equal(t, "a", b.Link.Story)
}

// TestLinksDoNotDependOnOrder assigns two events' articles and unrelated
// ones, each with its own publication time, in 20 arrival orders, relinking
// what each assignment makes stale (Settle). Every order gives the same
// links, pointing from the later article to the earlier.
func TestLinksDoNotDependOnOrder(t *testing.T) {
	orig := words("agency", 300)
	recs := []Record{
		rec("orig", 0, orig, event...),
		rec("copy", 10*time.Minute, orig+" updated with a line at the end", event...),
		rec("excerpt", 20*time.Minute, words("agency", 90), event...),                              // a shortened copy: held by orig
		rec("quotes", 30*time.Minute, words("agency", 120)+" "+words("commentary", 200), event...), // quotes orig at length
		rec("report", 40*time.Minute, words("report", 300), event...),                              // its own text, the same event
		rec("second", 50*time.Minute, words("report", 150)+" "+words("follow", 200), event...),     // reuses half of report
		rec("cup", 5*time.Minute, words("match", 200), "e:rovers", "e:harriers", "e:old quay", "k:cup final", "k:penalty", "k:extra time", "k:replay"),
		rec("cup2", 15*time.Minute, words("fans", 200), "e:rovers", "e:harriers", "e:old quay", "k:cup final", "k:penalty", "k:extra time", "k:replay"),
	}
	for i := range 6 {
		recs = append(recs, rec(fmt.Sprint("other", i), time.Duration(i)*7*time.Minute, words(fmt.Sprint("o", i, "w"), 200), fmt.Sprint("e:person", i), fmt.Sprint("k:topic", i)))
	}
	input := map[string]Record{}
	for _, r := range recs {
		input[r.ID] = r
	}
	lookup := func(id string) (Record, bool) { r, ok := input[id]; return r, ok }

	var first map[string]Link
	rng := rand.New(rand.NewPCG(1, 2))
	for order := range 20 {
		x := New(DefaultConfig())
		relinks := 0
		for _, i := range rng.Perm(len(recs)) {
			_, n := x.Settle(recs[i], lookup, 0)
			relinks += n
		}
		got := map[string]Link{}
		for _, r := range recs {
			l, ok := x.Link(r.ID)
			require.True(t, ok)
			got[r.ID] = l
		}
		if first == nil {
			first = got
			t.Logf("order 1: %d relinks", relinks)
			continue
		}
		for id, l := range got {
			require.Equal(t, first[id], l, "order %d: %s", order+1, id)
		}
	}
	require.Equal(t, "orig", first["copy"].DuplicateOf)
	require.Equal(t, "orig", first["excerpt"].DerivedFrom, "a shortened copy is derived from what it shortens")
	require.Equal(t, "orig", first["quotes"].DerivedFrom)
	require.Equal(t, "report", first["second"].DerivedFrom, "%+v", first["second"])
	for _, id := range []string{"orig", "copy", "excerpt", "quotes", "report", "second"} {
		require.Equal(t, "orig", first[id].Story, id)
	}
	require.Equal(t, "cup", first["cup2"].Story)
	require.Equal(t, "cup", first["cup"].Story)
	for i := range 6 {
		id := fmt.Sprint("other", i)
		require.Equal(t, Link{Story: id}, first[id])
	}
}

// TestLateEarlierArticle is the case arrival order used to lose: the
// later article first. Its link is stale once the earlier one arrives, and
// linking it again points it at the earlier one.
func TestLateEarlierArticle(t *testing.T) {
	x := New(DefaultConfig())
	orig := words("agency", 300)
	later, stale := x.Assign(rec("later", time.Hour, words("agency", 90), event...))
	require.Empty(t, stale)
	require.Equal(t, Link{Story: "later"}, later.Link)
	earlier := rec("earlier", 0, orig, event...)
	earlier.Ref = 7
	e, stale := x.Assign(earlier)
	require.Equal(t, Link{Story: "earlier"}, e.Link, "nothing before it")
	require.Equal(t, []Stale{{ID: "later", Link: Link{Story: "later"}}}, stale)

	again, stale := x.Assign(rec("later", time.Hour, words("agency", 90), event...))
	require.Empty(t, stale)
	require.Equal(t, "earlier", again.Link.DerivedFrom)
	require.Equal(t, "earlier", again.Link.Story)

	// Another replica learns of the earlier article through Add; a record
	// that comes back unchanged reports nothing.
	y := New(DefaultConfig())
	y.Assign(rec("later", time.Hour, words("agency", 90), event...))
	require.Equal(t, []Stale{{ID: "later", Link: Link{Story: "later"}}}, y.Add(e))
	require.Empty(t, y.Add(e))
}
