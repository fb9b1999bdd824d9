package extract

import (
	"strings"
	"unicode"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// blockAtoms are the elements that start and end a line of output.
var blockAtoms = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true,
	atom.Body: true, atom.Caption: true, atom.Center: true, atom.Dd: true,
	atom.Details: true, atom.Dialog: true, atom.Div: true, atom.Dl: true, atom.Dt: true,
	atom.Fieldset: true, atom.Figcaption: true, atom.Figure: true, atom.Footer: true,
	atom.Form: true, atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true,
	atom.H5: true, atom.H6: true, atom.Header: true, atom.Hr: true, atom.Html: true,
	atom.Legend: true, atom.Li: true, atom.Main: true, atom.Nav: true, atom.Ol: true,
	atom.P: true, atom.Pre: true, atom.Section: true, atom.Summary: true,
	atom.Table: true, atom.Tbody: true, atom.Tfoot: true, atom.Thead: true,
	atom.Tr: true, atom.Ul: true,
}

// skipAtoms never hold article text.
var skipAtoms = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Head: true, atom.Svg: true, atom.Math: true, atom.Iframe: true,
	atom.Object: true, atom.Embed: true, atom.Canvas: true, atom.Select: true,
	atom.Button: true, atom.Textarea: true,
}

// renderer writes text one block per line. Whitespace inside a block
// collapses to single spaces; table cells are separated by a tab.
type renderer struct {
	b     *budget
	lines []string
	cells []string
	cur   strings.Builder
	pre   int
	// link is the depth of open <a> elements; linked and plain count the
	// non-space bytes of the current line written inside and outside them.
	link          int
	linked, plain int
}

func renderBlocks(n *html.Node, b *budget) []string {
	r := renderer{b: b}
	r.walk(n)
	r.flush()
	return r.lines
}

func (r *renderer) walk(n *html.Node) {
	if r.b.spent() {
		return
	}
	switch n.Type {
	case html.TextNode:
		if r.pre > 0 {
			r.writePre(n.Data)
		} else {
			r.cur.WriteString(n.Data)
		}
		if c := nonSpace(n.Data); r.link > 0 {
			r.linked += c
		} else {
			r.plain += c
		}
		return
	case html.ElementNode:
	case html.DocumentNode:
	default:
		return
	}
	a := n.DataAtom
	if skipAtoms[a] {
		return
	}
	switch a {
	case atom.Br:
		r.flush()
		return
	case atom.Td, atom.Th:
		r.endCell()
	case atom.Pre:
		r.pre++
	case atom.A:
		r.link++
	}
	block := blockAtoms[a]
	if block {
		r.flush()
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		r.walk(c)
	}
	switch a {
	case atom.Td, atom.Th:
		r.endCell()
	case atom.Pre:
		r.pre--
	case atom.A:
		r.link--
	}
	if block {
		r.flush()
	}
}

// writePre keeps the line breaks of preformatted text.
func (r *renderer) writePre(s string) {
	for {
		line, rest, found := strings.Cut(s, "\n")
		r.cur.WriteString(line)
		if !found {
			return
		}
		r.flush()
		s = rest
	}
}

func (r *renderer) endCell() {
	if c := collapse(r.cur.String()); c != "" {
		r.cells = append(r.cells, c)
	}
	r.cur.Reset()
}

func (r *renderer) flush() {
	if len(r.cells) > 0 {
		r.endCell()
		r.lines = append(r.lines, strings.Join(r.cells, "\t"))
		r.cells = r.cells[:0]
		r.linked, r.plain = 0, 0
		return
	}
	// A line that is one link and nothing else is a pointer to another
	// page ("SEE ALSO THIS STORY", a related-stories list), not article text.
	if s := collapse(r.cur.String()); s != "" && !(r.linked > 0 && r.plain == 0) {
		r.lines = append(r.lines, s)
	}
	r.cur.Reset()
	r.linked, r.plain = 0, 0
}

// collapse trims s and turns each run of white space (as unicode.IsSpace
// has it) into one space. It returns s itself when there is nothing to do,
// and otherwise allocates once.
func collapse(s string) string {
	clean, space := true, true // space: the last rune was white space (or none yet)
	for _, c := range s {
		isSpace := unicode.IsSpace(c)
		if isSpace && (space || c != ' ') {
			clean = false
			break
		}
		space = isSpace
	}
	if clean && !space {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	pending := false
	for _, c := range s {
		if unicode.IsSpace(c) {
			pending = b.Len() > 0
			continue
		}
		if pending {
			b.WriteByte(' ')
			pending = false
		}
		b.WriteRune(c)
	}
	return b.String()
}

// nonSpace counts the bytes of s that are not ASCII white space.
func nonSpace(s string) int {
	c := 0
	for i := 0; i < len(s); i++ {
		if b := s[i]; b != ' ' && b != '\n' && b != '\t' && b != '\r' {
			c++
		}
	}
	return c
}
