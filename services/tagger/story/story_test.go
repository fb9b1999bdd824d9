package story

import (
	"fmt"
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

func TestLinks(t *testing.T) {
	x := New(DefaultConfig())
	agency := words("agency", 300)
	first := x.Assign(rec("a", 0, agency, event...))
	require.Equal(t, Link{Story: "a"}, first.Link, "the first article founds its story")

	copyB := x.Assign(rec("b", time.Hour, agency+" extra words at the end", event...))
	require.Equal(t, "a", copyB.Link.DuplicateOf)
	require.Equal(t, "a", copyB.Link.Story)
	require.Greater(t, copyB.Link.Overlap, 0.9)

	// A copy of the copy names the first seen.
	copyC := x.Assign(rec("c", 2*time.Hour, agency+" extra words at the end.", event...))
	require.Equal(t, "a", copyC.Link.DuplicateOf)

	// Reuses 150 of a's 300 words and adds 150 of its own.
	derived := x.Assign(rec("d", 3*time.Hour, words("agency", 150)+" "+words("own", 150), event...))
	require.Equal(t, "", derived.Link.DuplicateOf)
	require.Contains(t, []string{"a", "b", "c"}, derived.Link.DerivedFrom)
	require.Equal(t, "a", derived.Link.Story)

	// Its own text, the same event.
	report := x.Assign(rec("e", 4*time.Hour, words("other", 300), event...))
	require.Equal(t, Link{Story: "a", Similarity: report.Link.Similarity}, report.Link)
	require.Greater(t, report.Link.Similarity, 0.9)

	// Another event sharing one country.
	unrelated := x.Assign(rec("f", 4*time.Hour, words("sport", 300), "e:ukraine", "e:kyiv dynamo", "k:football", "k:cup final"))
	require.Equal(t, Link{Story: "f"}, unrelated.Link)

	// The same event after the window: a new story.
	late := x.Assign(rec("g", 100*time.Hour, words("later", 300), event...))
	require.Equal(t, Link{Story: "g"}, late.Link)
	require.Equal(t, 1, x.Len(), "records older than the window are gone")
}

func TestRedeliveryKeepsLink(t *testing.T) {
	x := New(DefaultConfig())
	x.Assign(rec("a", 0, words("w", 200), event...))
	b := x.Assign(rec("b", time.Minute, words("w", 200), event...))
	again := x.Assign(rec("b", time.Minute, words("w", 200), event...))
	require.Equal(t, b.Link, again.Link)
	require.Equal(t, 2, x.Len())
}

func TestAddFromAnotherReplica(t *testing.T) {
	x := New(DefaultConfig())
	r := rec("a", 0, words("w", 200), event...)
	r.Link = Link{Story: "s1"}
	x.Add(r)
	got := x.Assign(rec("b", time.Minute, words("w", 200), event...))
	require.Equal(t, Link{Story: "s1", DuplicateOf: "a", Overlap: 1}, got.Link)
}

func TestMaxRecords(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxRecords = 3
	x := New(cfg)
	for i := range 10 {
		x.Assign(rec(fmt.Sprint(i), time.Duration(i)*time.Second, words(fmt.Sprint("w", i, "x"), 50), "k:x"))
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
		x.Assign(rec(fmt.Sprint("seed", i), 0, words(fmt.Sprint("d", i, "w"), 100), fmt.Sprint("e:p", i%500), fmt.Sprint("e:c", i%50), "e:united states", fmt.Sprint("k:", i%300)))
	}
	text := words("new", 600)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		x.Assign(rec(fmt.Sprint("n", i), 0, text, fmt.Sprint("e:p", i%500), fmt.Sprint("e:c", i%50), "e:united states", fmt.Sprint("k:", i%300), fmt.Sprint("k:", (i+1)%300)))
	}
}

func TestRecordsAreCompact(t *testing.T) {
	x := New(DefaultConfig())
	a := x.Assign(rec("a", 0, words("w", 200), event...))
	require.Len(t, a.Sig.MinHash, signature.Hashes, "the caller keeps the full sketch (it is published)")
	b := x.Assign(rec("b", time.Minute, words("v", 200), event...))

	held := x.records["a"]
	require.Len(t, held.Sig.MinHash, KeptHashes)
	require.Equal(t, a.Sig.MinHash[:KeptHashes], held.Sig.MinHash)
	// b's features point at the strings a's record brought in.
	for i, f := range x.records["b"].Features {
		require.Equal(t, unsafe.StringData(held.Features[i].Key), unsafe.StringData(f.Key), f.Key)
	}
	require.Equal(t, unsafe.StringData(held.ID), unsafe.StringData(x.records["b"].Link.Story), "b's story id is a's id")
	require.Equal(t, "a", b.Link.Story)
}
