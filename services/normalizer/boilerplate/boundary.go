package boilerplate

import "strings"

// wordBoundary stands for \b in rule patterns. Go's \b is ASCII only: it
// sees no boundary between "комментарий" and a space or the end of the
// line, so Russian and Ukrainian phrases ending in \b never matched, and it
// sees one inside "réalisée" (between "é" and "e"). RE2 has no look-around,
// so the replacement is the start or end of the line or one character that
// is not a letter, digit or '_' in any script: a boundary that consumes the
// separator next to it. The rules' patterns (a phrase, \b, optional text)
// allow that, and each rule's test cases check it.
const wordBoundary = `(?:^|$|[^\p{L}\p{N}_])`

// unicodeBoundaries rewrites every \b outside a character class of a rule
// pattern into wordBoundary.
func unicodeBoundaries(expr string) string {
	if !strings.Contains(expr, `\b`) {
		return expr
	}
	var b strings.Builder
	inClass := false
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case c == '\\' && i+1 < len(expr):
			if expr[i+1] == 'b' && !inClass {
				b.WriteString(wordBoundary)
			} else {
				b.WriteByte(c)
				b.WriteByte(expr[i+1])
			}
			i++
			continue
		case c == '[' && !inClass:
			inClass = true
			// A ']' right after '[' or '[^' is a literal member.
			b.WriteByte(c)
			if i+1 < len(expr) && expr[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(expr) && expr[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
			continue
		case c == '[' && inClass && strings.HasPrefix(expr[i:], "[:"):
			// A POSIX class such as [:alpha:] inside a class.
			if end := strings.Index(expr[i+2:], ":]"); end >= 0 {
				b.WriteString(expr[i : i+2+end+2])
				i += 2 + end + 1
				continue
			}
		case c == ']' && inClass:
			inClass = false
		}
		b.WriteByte(c)
	}
	return b.String()
}
