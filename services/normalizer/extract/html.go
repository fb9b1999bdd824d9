package extract

import (
	"bytes"
	"log/slog"
	"net/url"
	"strings"
	"unicode/utf8"

	readability "codeberg.org/readeck/go-readability/v2"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// enoughChars is the text below which a method's result counts as having
// found no article, whatever the extractor's own minimum: the chain's
// decisions do not change with WithMinChars.
const enoughChars = DefaultMinChars

// extractHTML reads the metadata from the untouched tree, strips the
// elements that are boilerplate by their markup, lets readability pick the
// main content node, and renders that node one block per line.
//
// That primary text is checked against how much prose the page holds (all
// its paragraphs, its densest block of paragraphs, its <article>): when it
// is under enoughChars, or its prose under two thirds of the largest of
// those, the fallbacks are tried in order: readability on the unpruned
// page, the JSON-LD articleBody, the <article> or [itemprop=articleBody]
// element, the densest block. The first that finds enoughChars and half as
// much again as the primary serves the page. When none does, the primary
// text stays if it has enoughChars; else the first fallback that has them,
// else the longest text found.
// It stops early, with what it has, once b is spent.
func extractHTML(body []byte, base *url.URL, b *budget) (*Document, []string) {
	src := body
	root, err := parsePage(body)
	if err != nil {
		// Reading a byte slice cannot fail, so the page is nested too deeply
		// for the parser: parse it again with the deepest wrappers left out,
		// and only if that fails too, take the tokenizer's crude pass.
		flat, ok := capDepth(body, b)
		if !ok {
			return &Document{}, nil
		}
		if root, err = parsePage(flat); err != nil {
			doc, lines := extractFlat(body, base, b)
			doc.Method = MethodFlat
			return doc, lines
		}
		src = flat
	}
	streamed := bytes.Contains(src, []byte(`id="S:`))
	if streamed {
		placeStreamed(root)
	}
	doc, ldBody := readPage(root, base)
	paras := paraProse(root)
	prune(root, b)
	if b.spent() {
		return doc, nil
	}
	// How much prose the page holds, by three measures readability does not
	// use: all its paragraphs, its densest block, its article element.
	dense, art, kept := densestProse(root), proseLen(articleElement(root)), paraProse(root)
	ref := max(paras, dense, art)

	doc.Method = MethodPrimary
	content := readable(root, base)
	if content == nil || b.expired() {
		return doc, nil
	}
	lines := renderBlocks(content, b)
	n, prose := chars(lines), proseLen(content)
	if n >= enoughChars && 3*prose >= 2*ref || b.expired() {
		return doc, dropTitle(lines, doc.Title)
	}

	// The fallbacks, in order; each is computed only if the ones before it
	// fell short.
	parse := func(prunes bool) *html.Node {
		r, err := parsePage(src)
		if err != nil {
			return nil
		}
		if streamed {
			placeStreamed(r)
		}
		if prunes {
			prune(r, b)
		}
		return r
	}
	var pruned *html.Node // one fresh pruned tree for the last two
	fromPruned := func(pick func(*html.Node) *html.Node) func() []string {
		return func() []string {
			if pruned == nil {
				pruned = parse(true)
			}
			if pruned != nil {
				if n := pick(pruned); n != nil {
					return renderBlocks(n, b)
				}
			}
			return nil
		}
	}
	// A fallback whose prose, known from the primary tree, is no more than
	// the primary text's is skipped; so is readability on the unpruned page
	// when pruning removed almost no paragraphs (under 5%) and the primary
	// text is not short: it would see the paragraphs the primary saw.
	fallbacks := []struct {
		method string
		skip   bool
		run    func() []string
	}{
		{MethodUnpruned, n >= enoughChars && 20*kept >= 19*paras, func() []string {
			if r := parse(false); r != nil {
				if c := readable(r, base); c != nil {
					return renderBlocks(c, b)
				}
			}
			return nil
		}},
		{MethodJSONLD, ldBody == "", func() []string { return ldLines(ldBody, b) }},
		{MethodArticle, art <= prose, fromPruned(articleElement)},
		{MethodDensity, dense <= prose, fromPruned(densest)},
	}
	tried := make([][]string, len(fallbacks))
	for i, f := range fallbacks {
		if b.expired() {
			return doc, dropTitle(lines, doc.Title)
		}
		if f.skip {
			continue
		}
		got := f.run()
		if m := chars(got); m >= enoughChars && 2*m >= 3*n {
			doc.Method = f.method
			return doc, dropTitle(got, doc.Title)
		}
		tried[i] = got
	}
	// None found much more than the primary text: keep it if it is enough,
	// else take the first fallback that is, else the longest of all.
	if n >= enoughChars {
		return doc, dropTitle(lines, doc.Title)
	}
	best, bestN := lines, n
	for i, got := range tried {
		if m := chars(got); m >= enoughChars || m > bestN {
			best, bestN, doc.Method = got, m, fallbacks[i].method
			if m >= enoughChars {
				break
			}
		}
	}
	return doc, dropTitle(best, doc.Title)
}

// placeStreamed does what a streaming React page's script does in the
// browser: the server sends a placeholder <template id="B:n"> where a part
// of the page belongs and the part itself later, in <div hidden id="S:n">;
// each part moves into its placeholder's place. Without this the article of
// such a page sits in a hidden element, which pruning removes.
func placeStreamed(root *html.Node) {
	holders := map[string]*html.Node{}
	var parts []*html.Node
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			id := attr(n, "id")
			switch {
			case n.DataAtom == atom.Template && strings.HasPrefix(id, "B:"):
				holders[id[2:]] = n
			case n.DataAtom == atom.Div && strings.HasPrefix(id, "S:") && hasAttr(n, "hidden"):
				parts = append(parts, n)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	for _, part := range parts {
		holder := holders[attr(part, "id")[2:]]
		if holder == nil || holder.Parent == nil || part.Parent == nil || isAncestor(part, holder) {
			continue
		}
		for c := part.FirstChild; c != nil; c = part.FirstChild {
			part.RemoveChild(c)
			holder.Parent.InsertBefore(c, holder)
		}
		holder.Parent.RemoveChild(holder)
		part.Parent.RemoveChild(part)
	}
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func isAncestor(a, n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		if p == a {
			return true
		}
	}
	return false
}

// quiet is the logger readability gets.
var quiet = slog.New(slog.DiscardHandler)

// readable lets readability pick the content node of root, which it
// mutates; the body if it picks none.
func readable(root *html.Node, base *url.URL) *html.Node {
	p := readability.NewParser()
	p.DisableJSONLD = true // readPage has read it already
	// Its default logger formats every Info record into io.Discard: a
	// handler that is never enabled formats nothing.
	p.Logger = quiet
	if art, err := p.ParseAndMutate(root, base); err == nil && art.Node != nil {
		return art.Node
	}
	return findElement(root, "body")
}

// dropTitle removes a first line that repeats the headline: it is metadata,
// not body text.
func dropTitle(lines []string, title string) []string {
	if len(lines) > 0 && title != "" && lines[0] == title {
		return lines[1:]
	}
	return lines
}

// chars is the number of characters of the lines.
func chars(lines []string) int {
	n := 0
	for _, l := range lines {
		n += utf8.RuneCountInString(l)
	}
	return n
}

// ldLines turns a JSON-LD articleBody into lines: rendered as HTML when it
// holds markup, else one line per line of the text.
func ldLines(body string, b *budget) []string {
	if body == "" {
		return nil
	}
	if strings.Contains(body, "</") || strings.Contains(body, "<br") {
		root, err := html.Parse(strings.NewReader(body))
		if err != nil {
			return nil
		}
		return renderBlocks(root, b)
	}
	var lines []string
	for l := range strings.SplitSeq(body, "\n") {
		if l = collapse(l); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

// articleElement is the <article> or [itemprop=articleBody] element under
// root with the most prose, nil if there is none.
func articleElement(root *html.Node) *html.Node {
	var best *html.Node
	bestLen := 0
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.DataAtom == atom.Article || strings.EqualFold(attr(n, "itemprop"), "articleBody")) {
			if l := proseLen(n); l > bestLen {
				best, bestLen = n, l
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return best
}

// minParagraph is the least prose, in non-space bytes, that makes a
// paragraph count towards its block's density.
const minParagraph = 25

// densest finds the block whose paragraphs hold the most prose: each
// paragraph (a <p>, or a run of text directly in a block) of at least
// minParagraph adds its prose to its parent's score, and half of it to its
// grandparent's. It returns the best block, nil if there is none.
func densest(root *html.Node) *html.Node {
	n, _ := densestScored(root)
	return n
}

// densestProse is the score of the densest block, 0 if there is none.
func densestProse(root *html.Node) int {
	_, s := densestScored(root)
	return s
}

func densestScored(root *html.Node) (*html.Node, int) {
	var best *html.Node
	bestScore := 0
	// walk returns the prose of n's own paragraphs and records n's score:
	// that, and half of its children's own.
	var walk func(n *html.Node) int
	walk = func(n *html.Node) int {
		own, half := 0, 0
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			switch {
			case c.Type == html.TextNode:
				if l := proseLen(c); l >= minParagraph && n.Type == html.ElementNode && n.DataAtom != atom.P {
					own += l
				}
			case c.Type != html.ElementNode || skipAtoms[c.DataAtom]:
			case c.DataAtom == atom.P || c.DataAtom == atom.Pre || c.DataAtom == atom.Blockquote:
				if l := proseLen(c); l >= minParagraph {
					own += l
				}
			default:
				half += walk(c) / 2
			}
		}
		if s := own + half; s > bestScore && n.Type == html.ElementNode {
			best, bestScore = n, s
		}
		return own
	}
	walk(root)
	return best, bestScore
}

func findElement(n *html.Node, tag string) *html.Node {
	if n.Type == html.ElementNode && n.Data == tag {
		return n
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if f := findElement(c, tag); f != nil {
			return f
		}
	}
	return nil
}

// paraProse is the prose of all paragraphs (<p> of at least minParagraph)
// under n.
func paraProse(n *html.Node) int {
	t := 0
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && skipAtoms[n.DataAtom] {
			return
		}
		if n.Type == html.ElementNode && n.DataAtom == atom.P {
			if l := proseLen(n); l >= minParagraph {
				t += l
			}
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return t
}
