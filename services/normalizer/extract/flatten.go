package extract

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// maxOpenDepth is how deeply capDepth lets elements nest: well under the 512
// open elements html.Parse accepts, so the tree the parser builds from the
// result (which may nest a little deeper than the tags say, through implied
// and reconstructed elements) still fits.
const maxOpenDepth = 384

// wrappers are the elements capDepth drops below maxOpenDepth: containers
// and inline formatting that carry no structure of their own. Everything
// else stays however deep it sits: paragraphs and headings, the landmarks and
// furniture that pruning removes (aside, nav, footer), and the raw-text
// elements (script, style) whose content must not turn into text.
var wrappers = map[atom.Atom]bool{
	atom.Div: true, atom.Span: true, atom.Section: true, atom.Font: true, atom.Center: true,
	atom.B: true, atom.I: true, atom.U: true, atom.Em: true, atom.Strong: true,
	atom.Small: true, atom.Big: true,
}

// capDepth rewrites a page too deeply nested for html.Parse: the start and
// end tags of wrapper elements below maxOpenDepth are left out, everything
// else is copied as it was. The article inside a thousand <div>s then
// parses, and gets the same pruning and scoring as any other page. ok is
// false if b ran out before the end.
func capDepth(body []byte, b *budget) (out []byte, ok bool) {
	z := html.NewTokenizer(bytes.NewReader(body))
	var buf bytes.Buffer
	buf.Grow(len(body))
	type open struct {
		name string
		kept bool
	}
	var stack []open
	for !b.spent() {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return buf.Bytes(), true
		case html.StartTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if isVoid(a) {
				break
			}
			kept := len(stack) < maxOpenDepth || !wrappers[a] || markedBoilerplate(z)
			stack = append(stack, open{string(name), kept})
			if !kept {
				continue
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			kept := true
			for i := len(stack) - 1; i >= 0; i-- {
				if stack[i].name == string(name) {
					kept = stack[i].kept
					stack = stack[:i]
					break
				}
			}
			if !kept {
				continue
			}
		}
		buf.Write(z.Raw())
	}
	return nil, false
}

// markedBoilerplate reports whether the current start tag's class, id or
// role names boilerplate (a share bar, a related list): such a wrapper is
// kept, so that pruning finds it and removes it with its content.
func markedBoilerplate(z *html.Tokenizer) bool {
	for {
		k, v, more := z.TagAttr()
		switch string(k) {
		case "class", "id":
			if boilerplateName(string(v)) {
				return true
			}
		case "role":
			if pruneRoles[strings.ToLower(string(v))] {
				return true
			}
		}
		if !more {
			return false
		}
	}
}

// isVoid reports whether elements of a never have content or an end tag.
func isVoid(a atom.Atom) bool {
	switch a {
	case atom.Area, atom.Base, atom.Br, atom.Col, atom.Embed, atom.Hr, atom.Img, atom.Input,
		atom.Link, atom.Meta, atom.Source, atom.Track, atom.Wbr:
		return true
	}
	return false
}
