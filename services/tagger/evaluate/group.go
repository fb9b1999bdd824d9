package evaluate

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/newsflow/newsflow/services/tagger/entity"
	"github.com/newsflow/newsflow/services/tagger/lang"
	"github.com/newsflow/newsflow/services/tagger/story"
	"github.com/newsflow/newsflow/services/tagger/tag"
)

// Grouped is an article with its place among the others.
type Grouped struct {
	Doc
	Link     story.Link
	Entities []entity.Entity
}

// Group tags docs (on every CPU) and runs them through one story index in
// order, a second apart: the whole corpus falls in one window, the hardest
// case for false merges.
func Group(docs []Doc, tg *tag.Tagger, cfg story.Config) []Grouped {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	times := make([]time.Time, len(docs))
	order := make([]int, len(docs))
	for i := range docs {
		times[i] = start.Add(time.Duration(i) * time.Second)
		order[i] = i
	}
	return GroupTagged(docs, TagAll(docs, tg), times, order, cfg)
}

// TagAll tags docs on every CPU.
func TagAll(docs []Doc, tg *tag.Tagger) []tag.Result {
	res := make([]tag.Result, len(docs))
	parallel(len(docs), func(i int) { res[i] = tg.TagIn(lang.Result{Code: docs[i].Lang}, docs[i].Title, docs[i].Text) })
	return res
}

// GroupTagged runs tagged docs (res), published at times, through one story
// index in the arrival order given (indexes into docs), linking again what
// each arrival makes stale, as the tagger does; the result is in docs'
// order.
func GroupTagged(docs []Doc, res []tag.Result, times []time.Time, order []int, cfg story.Config) []Grouped {
	x := story.New(cfg)
	records := make(map[string]story.Record, len(docs))
	for i, d := range docs {
		records[id(d)] = story.Record{ID: id(d), Time: times[i], Sig: res[i].Signature, Features: res[i].Features()}
	}
	input := func(id string) (story.Record, bool) {
		r, ok := records[id]
		return r, ok
	}
	for _, i := range order {
		x.Settle(records[id(docs[i])], input, 0)
	}
	out := make([]Grouped, len(docs))
	for i, d := range docs {
		l, _ := x.Link(id(d))
		out[i] = Grouped{Doc: d, Link: l, Entities: res[i].Entities}
	}
	return out
}

// id names a document by its class and file name.
func id(d Doc) string {
	if d.Label == "" {
		return filepath.Base(d.Path)
	}
	return d.Label + "/" + filepath.Base(d.Path)
}

// FalseMerges counts the articles that share a story with an article of
// another label, and the stories of more than one article.
func FalseMerges(gs []Grouped) (merged, multi int) {
	labels := map[string]map[string]bool{}
	size := map[string]int{}
	for _, g := range gs {
		if labels[g.Link.Story] == nil {
			labels[g.Link.Story] = map[string]bool{}
		}
		labels[g.Link.Story][g.Label] = true
		size[g.Link.Story]++
	}
	for _, g := range gs {
		if len(labels[g.Link.Story]) > 1 {
			merged++
		}
	}
	for _, n := range size {
		if n > 1 {
			multi++
		}
	}
	return merged, multi
}

// PrintGrouping writes one row per article: its story, the links and its
// most mentioned entities.
func PrintGrouping(w io.Writer, gs []Grouped, entities int) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "article\tstory\tduplicate of\tderived from\toverlap\tsimilarity")
	for _, g := range gs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f\t%.2f\n", id(g.Doc), g.Link.Story, dash(g.Link.DuplicateOf), dash(g.Link.DerivedFrom), g.Link.Overlap, g.Link.Similarity)
	}
	tw.Flush()
	stories := map[string]bool{}
	for _, g := range gs {
		stories[g.Link.Story] = true
	}
	fmt.Fprintf(w, "%d articles in %d stories\n", len(gs), len(stories))
	if entities <= 0 {
		return
	}
	fmt.Fprintln(w)
	for _, g := range gs {
		var parts []string
		for _, e := range g.Entities {
			kind := e.Type
			if e.Subtype != "" {
				kind += "/" + e.Subtype
			}
			parts = append(parts, fmt.Sprintf("%s (%s, %d)", e.Name, kind, e.Mentions))
		}
		if len(parts) > entities {
			parts = parts[:entities]
		}
		fmt.Fprintf(w, "%s entities: %s\n", id(g.Doc), strings.Join(parts, "; "))
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
