package extract

import (
	"bytes"
	"io"

	"golang.org/x/net/html"
)

// parsePage parses an HTML page without its inert parts (see inert).
func parsePage(page []byte) (*html.Node, error) {
	return html.Parse(&spans{body: page, rest: inert(page)})
}

// inert finds in body what no method reads and every method drops: the
// contents of <script> elements other than JSON-LD, of <style>, <svg> (not
// self-closing) and <noscript> elements, and comments. They are about half a
// page's bytes on today's web (WCXB: scripts 22%, styles 20%), and
// parsing them into the tree (text the size of the script, the tokenizer's
// buffer grown to hold it) was a large share of what an extraction
// allocates. It returns the spans of body to keep, in order; the elements
// themselves stay, empty, so the tree has the same shape. The parser reads
// the spans through a spans reader: the page is not copied.
func inert(body []byte) []span {
	var out []span
	last := 0 // body[last:] is kept so far
	cut := func(from, to int) {
		if from > last {
			out = append(out, span{last, from})
		}
		last = to
	}
	for i := 0; i < len(body); {
		j := bytes.IndexByte(body[i:], '<')
		if j < 0 {
			break
		}
		i += j
		rest := body[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := bytes.Index(rest[4:], []byte("-->"))
			if end < 0 {
				cut(i, len(body)) // an unclosed comment runs to the end
				return out
			}
			cut(i, i+4+end+3)
			i += 4 + end + 3
		case len(rest) > 1 && isASCIILetter(rest[1]):
			// A start tag: skip it whole, so that what its attribute
			// values hold ("<style>" in a data attribute) is not read as
			// a tag.
			end := tagEnd(rest)
			if end < 0 {
				return keep(body, out, last)
			}
			name := ""
			for _, n := range inertElements {
				if hasTagPrefix(rest, n) {
					name = n
				}
			}
			tag := rest[:end+1]
			if name == "" || name == "svg" && bytes.HasSuffix(tag, []byte("/>")) ||
				name == "script" && bytes.Contains(bytes.ToLower(tag), []byte("ld+json")) {
				i += end + 1
				continue
			}
			closing := endTag(rest[end+1:], name)
			if closing < 0 {
				return keep(body, out, last)
			}
			// Keep the start and end tags: cut only the contents.
			cut(i+end+1, i+end+1+closing)
			i += end + 1 + closing
		default:
			i++
		}
	}
	return keep(body, out, last)
}

// inertElements are the elements whose contents inert cuts (a script only
// when it is not JSON-LD, an svg only when it is not self-closing).
var inertElements = []string{"script", "style", "svg", "noscript"}

func isASCIILetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// tagEnd is the index of the '>' that ends the tag b starts with, quoted
// attribute values skipped; -1 when there is none.
func tagEnd(b []byte) int {
	var quote byte
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i
		}
	}
	return -1
}

// endTag is the index in b of the first end tag of name ("</name" then
// white space, '/' or '>'), in any case; -1 if none.
func endTag(b []byte, name string) int {
	for i := 0; ; {
		j := indexFold(b[i:], "</"+name)
		if j < 0 {
			return -1
		}
		i += j
		if k := i + 2 + len(name); k >= len(b) || endsTagName(b[k]) {
			return i
		}
		i++
	}
}

// span is a range of a page's bytes, [from, to).
type span struct{ from, to int }

// keep finishes inert's output.
func keep(body []byte, out []span, last int) []span {
	if last < len(body) {
		out = append(out, span{last, len(body)})
	}
	return out
}

// spans reads the spans of a page, in order, without copying it.
type spans struct {
	body []byte
	rest []span
}

func (r *spans) Read(p []byte) (int, error) {
	for len(r.rest) > 0 && r.rest[0].from == r.rest[0].to {
		r.rest = r.rest[1:]
	}
	if len(r.rest) == 0 {
		return 0, io.EOF
	}
	s := &r.rest[0]
	n := copy(p, r.body[s.from:s.to])
	s.from += n
	return n, nil
}

// hasTagPrefix reports whether b starts with the start tag of name ("<name"
// then a space, '>' or '/'), in any case.
func hasTagPrefix(b []byte, name string) bool {
	if len(b) < len(name)+2 || !bytes.EqualFold(b[1:1+len(name)], []byte(name)) {
		return false
	}
	return endsTagName(b[1+len(name)])
}

// endsTagName reports whether c ends a tag's name.
func endsTagName(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '\f', '>', '/':
		return true
	}
	return false
}

// indexFold is the index of the first s in b, in any ASCII case; -1 if none.
func indexFold(b []byte, s string) int {
	for i := 0; i+len(s) <= len(b); {
		j := bytes.IndexByte(b[i:], '<')
		if j < 0 {
			return -1
		}
		i += j
		if i+len(s) <= len(b) && bytes.EqualFold(b[i:i+len(s)], []byte(s)) {
			return i
		}
		i++
	}
	return -1
}
