package extract

import (
	"bytes"
	"net/url"

	readability "codeberg.org/readeck/go-readability/v2"
	"golang.org/x/net/html"
)

// extractHTML reads the metadata from the untouched tree, strips the
// elements that are boilerplate by their markup, lets readability pick the
// main content node, and renders that node one block per line.
// It stops early, with what it has, once b is spent.
func extractHTML(body []byte, base *url.URL, b *budget) (*Document, []string) {
	root, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		// Reading a byte slice cannot fail, so the page is nested too deeply
		// for the parser: parse it again with the deepest wrappers left out,
		// and only if that fails too, take the tokenizer's crude pass.
		flat, ok := capDepth(body, b)
		if !ok {
			return &Document{}, nil
		}
		if root, err = html.Parse(bytes.NewReader(flat)); err != nil {
			return extractFlat(body, base, b)
		}
	}
	doc := readMeta(root, base)
	prune(root, b)
	if b.spent() {
		return doc, nil
	}

	p := readability.NewParser()
	p.DisableJSONLD = true // readMeta has read it already
	var content *html.Node
	if art, err := p.ParseAndMutate(root, base); err == nil {
		content = art.Node
	}
	if content == nil {
		content = findElement(root, "body")
	}
	if content == nil {
		return doc, nil
	}
	if b.expired() {
		return doc, nil
	}
	lines := renderBlocks(content, b)
	if len(lines) > 0 && doc.Title != "" && lines[0] == doc.Title {
		// The headline is metadata, not body text.
		lines = lines[1:]
	}
	return doc, lines
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
