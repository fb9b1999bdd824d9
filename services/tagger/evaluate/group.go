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
	x := story.New(cfg)
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	res := make([]tag.Result, len(docs))
	parallel(len(docs), func(i int) { res[i] = tg.TagIn(lang.Result{Code: docs[i].Lang}, docs[i].Title, docs[i].Text) })
	out := make([]Grouped, len(docs))
	for i, d := range docs {
		r := x.Assign(story.Record{ID: id(d), Time: start.Add(time.Duration(i) * time.Second), Sig: res[i].Signature, Features: res[i].Features()})
		out[i] = Grouped{Doc: d, Link: r.Link, Entities: res[i].Entities}
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
