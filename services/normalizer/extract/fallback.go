package extract

import (
	"bytes"
	"net/url"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// textBlockAtoms are the elements whose text the fallback pass keeps, one
// line each.
var textBlockAtoms = map[atom.Atom]bool{
	atom.P: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
	atom.H5: true, atom.H6: true, atom.Li: true,
}

// fallbackSkipAtoms hold no article text in the fallback pass: code, page
// furniture, forms and embeds. All need an end tag, so a count of open ones
// is reliable (<head>, whose end tag is optional, is not here: its text is
// outside any text block anyway).
var fallbackSkipAtoms = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Nav: true, atom.Header: true, atom.Footer: true,
	atom.Aside: true, atom.Form: true, atom.Button: true, atom.Select: true,
	atom.Textarea: true, atom.Figure: true, atom.Figcaption: true, atom.Svg: true,
	atom.Math: true, atom.Iframe: true, atom.Object: true, atom.Dialog: true, atom.Menu: true,
}

// maxMetaDepth bounds how deeply the fallback's metadata tree nests, so an
// end tag's search for its element stays cheap on hostile markup.
const maxMetaDepth = 64

// metaAtoms are the elements readMeta reads; the fallback pass keeps them,
// and only them, in a shallow tree.
var metaAtoms = map[atom.Atom]bool{
	atom.Html: true, atom.Title: true, atom.Meta: true, atom.Link: true, atom.Script: true,
	atom.Article: true, atom.H1: true, atom.Time: true, atom.A: true,
}

// extractFlat is the fallback for pages html.Parse rejects (it refuses
// nesting deeper than 512 open elements). One tokenizer pass builds a shallow
// tree of just the elements readMeta needs, and collects the text of
// paragraphs, headings and list items outside scripts, styles and page
// furniture. Without a real tree there is no readability scoring and no
// pruning by class, so this is cruder than extractHTML, but the article and
// its metadata survive.
func extractFlat(body []byte, base *url.URL, b *budget) (*Document, []string) {
	z := html.NewTokenizer(bytes.NewReader(body))
	root := &html.Node{Type: html.DocumentNode}
	var open []*html.Node // metadata elements not yet closed, outermost first
	skip := map[atom.Atom]int{}
	skipping := 0
	var lines []string
	var cur strings.Builder
	inBlock := 0
	flush := func() {
		if s := collapse(cur.String()); s != "" {
			lines = append(lines, s)
		}
		cur.Reset()
	}
	parent := func() *html.Node {
		if len(open) > 0 {
			return open[len(open)-1]
		}
		return root
	}
	for !b.spent() {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tok := z.Token()
		a := tok.DataAtom
		switch tt {
		case html.TextToken:
			if len(open) > 0 {
				parent().AppendChild(&html.Node{Type: html.TextNode, Data: tok.Data})
			}
			if skipping == 0 && inBlock > 0 {
				cur.WriteString(tok.Data)
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			if metaAtoms[a] || hasToken(attrOf(tok, "class"), "byline") {
				n := &html.Node{Type: html.ElementNode, DataAtom: a, Data: tok.Data, Attr: tok.Attr}
				parent().AppendChild(n)
				if tt == html.StartTagToken && a != atom.Meta && a != atom.Link && len(open) < maxMetaDepth {
					open = append(open, n)
				}
			}
			switch {
			case a == atom.Br:
				flush()
			case tt == html.SelfClosingTagToken:
			case fallbackSkipAtoms[a]:
				skip[a]++
				skipping++
			case textBlockAtoms[a]:
				flush()
				inBlock++
			}
		case html.EndTagToken:
			for i := len(open) - 1; i >= 0; i-- {
				if open[i].Data == tok.Data {
					open = open[:i]
					break
				}
			}
			switch {
			case fallbackSkipAtoms[a] && skip[a] > 0:
				skip[a]--
				skipping--
			case textBlockAtoms[a] && inBlock > 0:
				flush()
				inBlock--
			}
		}
	}
	flush()
	doc := readMeta(root, base)
	if len(lines) > 0 && doc.Title != "" && lines[0] == doc.Title {
		lines = lines[1:]
	}
	return doc, lines
}

func attrOf(t html.Token, key string) string {
	for _, a := range t.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
