// Package entity finds the people, organisations and places an article
// names, each under one canonical name.
//
// Known entities come from an embedded gazetteer (gazetteer.tsv, written
// for newsflow): every country, the main regions and cities, international
// organisations and heads of state and government, each with its spelling
// variants ("Zelensky", "Zelenskiy" and "Zelenskyy" are Volodymyr
// Zelenskyy; "US", "U.S." and "United States" are the United States). Other
// names are found from capitalisation: a run of capitalised words, with
// leading titles and nationality adjectives removed ("German Chancellor
// Friedrich Merz" is Friedrich Merz), is an organisation when it ends in
// a word such as Ministry or Council, a place when it ends in Square or
// River, and a person when it has two to four words none of which the
// article also writes in lower case (which rules out headline-cased
// phrases). A lone surname counts for the person of that surname named in
// full elsewhere in the article.
package entity

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/newsflow/newsflow/services/tagger/internal/rank"
	"github.com/newsflow/newsflow/services/tagger/token"
)

// Entity types, as in the Tagged message.
const (
	Person       = "person"
	Organisation = "organisation"
	Place        = "place"
)

// Entity is an entity named in an article.
type Entity struct {
	Name     string   // canonical
	Type     string   // Person, Organisation or Place
	Subtype  string   // for places: country, region or city when known; "international" for organisations
	Mentions int      // times named, title included
	Aliases  []string // surface forms, most frequent first
}

// Key is the form under which two articles' entities are the same: the
// canonical name folded, with transliteration variants of name endings
// merged.
func (e Entity) Key() string { return NameKey(e.Name) }

// NameKey folds a name for comparison: lower case, no diacritics, and the
// Slavic endings -yy, -iy, -yi, -ij written as -y.
func NameKey(name string) string {
	words := strings.Fields(token.Fold(name))
	for i, w := range words {
		for _, end := range []string{"yy", "iy", "yi", "ij"} {
			if strings.HasSuffix(w, end) && len(w) > 4 {
				w = strings.TrimSuffix(w, end) + "y"
				break
			}
		}
		words[i] = w
	}
	return strings.Join(words, " ")
}

// word is one word of the text.
type word struct {
	text  string
	fold  string
	upper bool // starts with a capital
	brk   bool // punctuation before it
}

// joinInitials writes "U.S." as "US" and "J.D." as "JD": a run of two or
// more capital-and-full-stop pairs that starts a word loses its stops. A
// scan, not a regular expression: this runs over every article and the
// regexp took a tenth of the tagger's time.
func joinInitials(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	var b strings.Builder
	last := 0 // s[last:i] is not yet written
	for i := 0; i+3 < len(s); i++ {
		if !initialAt(s, i) || i > 0 && isWordByte(s[i-1]) {
			continue
		}
		j := i
		for initialAt(s, j) {
			j += 2
		}
		if j-i < 4 {
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:i])
		for k := i; k < j; k += 2 {
			b.WriteByte(s[k])
		}
		last, i = j, j-1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// initialAt reports whether s[i:] starts with a capital and a full stop.
func initialAt(s string, i int) bool {
	return i+1 < len(s) && s[i] >= 'A' && s[i] <= 'Z' && s[i+1] == '.'
}

// isWordByte is the ASCII word class of a regexp's \b.
func isWordByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

// unwrap joins lines broken inside a sentence (a line that ends in a letter
// or comma, followed by one that starts with a letter) with a space.
func unwrap(s string) string {
	var out []byte
	for i := strings.IndexByte(s, '\n'); i >= 0; {
		if i > 0 && i+1 < len(s) {
			prev, _ := utf8.DecodeLastRuneInString(s[:i])
			next, _ := utf8.DecodeRuneInString(s[i+1:])
			if (prev == ',' || unicode.IsLetter(prev)) && unicode.IsLetter(next) {
				if out == nil {
					out = []byte(s)
				}
				out[i] = ' '
			}
		}
		j := strings.IndexByte(s[i+1:], '\n')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	if out == nil {
		return s
	}
	return string(out)
}

// split cuts s, initials already joined (see joinInitials), into words.
func split(s string) []word {
	ws := token.Split(s)
	out := make([]word, len(ws))
	for i, w := range ws {
		out[i] = word{text: w.Text, fold: token.Fold(w.Text), upper: upperFirst(w.Text), brk: w.Break}
	}
	return out
}

// titleCased reports a headline-like line: every word of four letters or
// more capitalised.
func titleCased(ws []word) bool {
	for _, w := range ws {
		if !w.upper && utf8.RuneCountInString(w.text) >= 4 {
			return false
		}
	}
	return true
}

// found accumulates the mentions of one entity.
type found struct {
	Entity
	forms map[string]int
	order int
}

type collector struct {
	byKey map[string]*found
	next  int
}

func (c *collector) add(name, typ, subtype, form string) {
	key := NameKey(name)
	f := c.byKey[key]
	if f == nil {
		f = &found{Entity: Entity{Name: name, Type: typ, Subtype: subtype}, forms: map[string]int{}, order: c.next}
		c.next++
		c.byKey[key] = f
	}
	f.Mentions++
	f.forms[form]++
}

// Extract returns the entities title and text name, most mentioned first.
func Extract(title, text string) []Entity {
	g := defaultGazetteer()
	var lines [][]word
	for _, line := range strings.Split(unwrap(joinInitials(text)), "\n") {
		if ws := split(line); len(ws) > 0 {
			lines = append(lines, ws)
		}
	}
	lower := map[string]bool{}
	for _, ws := range lines {
		for _, w := range ws {
			if !w.upper {
				lower[w.fold] = true
				lower["~"+token.Stem("en", w.fold)] = true
			}
		}
	}
	c := &collector{byKey: map[string]*found{}}
	// Headlines and subheadings are title-cased: only the gazetteer and
	// surnames count there, no guessing from capitals.
	singles := scan(g, c, split(joinInitials(title)), lower, false)
	for _, ws := range lines {
		singles = append(singles, scan(g, c, ws, lower, !titleCased(ws))...)
	}
	// A lone surname is the person of that surname named in full.
	surname := map[string]string{}
	for key, f := range c.byKey {
		if f.Type != Person {
			continue
		}
		parts := strings.Fields(key)
		if len(parts) < 2 {
			continue
		}
		last := parts[len(parts)-1]
		if prev, ok := surname[last]; ok && prev != key {
			surname[last] = "" // two people share it: ambiguous
			continue
		}
		surname[last] = key
	}
	for _, s := range singles {
		if key := surname[NameKey(s)]; key != "" {
			f := c.byKey[key]
			f.Mentions++
			f.forms[s]++
		}
	}
	out := make([]*found, 0, len(c.byKey))
	for _, f := range c.byKey {
		f.Aliases = rank.Keys(f.forms)
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Mentions != out[j].Mentions {
			return out[i].Mentions > out[j].Mentions
		}
		return out[i].order < out[j].order
	})
	ents := make([]Entity, len(out))
	for i, f := range out {
		ents[i] = f.Entity
	}
	return ents
}

// scan finds the gazetteer's entities in words and, when discover is set,
// names from capitalisation. It returns the lone capitalised words left
// over, which may be surnames.
func scan(g *gazetteer, c *collector, words []word, lower map[string]bool, discover bool) []string {
	var singles []string
	for i := 0; i < len(words); {
		if a, ok := g.match(words[i:]); ok {
			// A nationality before a title ("Slovak Prime Minister") names
			// the country's government, so the country; alone it does not.
			n := len(a.words)
			if !a.demonym || i+n < len(words) && !words[i+n].brk && title[words[i+n].fold] {
				c.add(a.ent.name, a.ent.typ, a.ent.subtype, surface(words[i:i+n]))
			}
			i += len(a.words)
			continue
		}
		if !words[i].upper {
			i++
			continue
		}
		j := i + 1
		for j < len(words) && !words[j].brk && (words[j].upper || connector[words[j].fold] && j+1 < len(words) && words[j+1].upper && !words[j+1].brk) {
			if _, ok := g.match(words[j:]); ok {
				break
			}
			j++
		}
		run := words[i:j]
		article := i > 0 && !run[0].brk && determiner[words[i-1].fold]
		i = j
		if !discover {
			if len(run) == 1 {
				singles = append(singles, run[0].text)
			}
			continue
		}
		singles = append(singles, classify(c, run, lower, article)...)
	}
	return singles
}

// classify records a run of capitalised words the gazetteer does not know.
// article reports a determiner before the run ("the", "an", "for"), which
// a person's name does not take.
func classify(c *collector, run []word, lower map[string]bool, article bool) []string {
	last := run[len(run)-1].fold
	if len(run) >= 2 && orgSuffix[last] {
		for len(run) > 2 && (run[0].fold == "the" || title[run[0].fold]) {
			run = run[1:]
		}
		c.add(surface(run), Organisation, "", surface(run))
		return nil
	}
	if len(run) >= 2 && placeSuffix[last] {
		c.add(surface(run), Place, "", surface(run))
		return nil
	}
	for len(run) > 0 && title[run[0].fold] {
		run = run[1:]
	}
	switch {
	case len(run) == 1:
		return []string{run[0].text}
	case !article && len(run) >= 2 && len(run) <= 4 && nameLike(run, lower):
		c.add(surface(run), Person, "", surface(run))
	}
	return nil
}

// nameLike reports whether every word of run could be part of a name: not
// a title, stopword, month, day or word of page furniture, and never
// written in lower case in the article (connectors such as "von" aside).
// lower holds the folded lower-case words of the article and, prefixed
// with "~", their stems.
func nameLike(run []word, lower map[string]bool) bool {
	for i, w := range run {
		if connector[w.fold] {
			continue
		}
		// After the first word, a word the article also uses in lower case
		// in another form ("Securing" beside "security") is no name either.
		if i > 0 && lower["~"+token.Stem("en", w.fold)] {
			return false
		}
		if utf8.RuneCountInString(w.text) < 2 || lower[w.fold] || title[w.fold] || calendar[w.fold] || furniture[w.fold] ||
			token.IsStopword("", w.fold) || token.IsNumeric(w.fold) || allCaps(w.text) {
			return false
		}
		if r, _ := utf8.DecodeRuneInString(w.text); !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

// match finds the longest gazetteer alias at the start of ws.
func (g *gazetteer) match(ws []word) (alias, bool) {
	if len(ws) == 0 {
		return alias{}, false
	}
	for _, a := range g.byFirst[ws[0].fold] {
		if a.matches(ws) {
			return a, true
		}
	}
	return alias{}, false
}

func surface(ws []word) string {
	parts := make([]string, len(ws))
	for i, w := range ws {
		parts[i] = w.text
	}
	return strings.Join(parts, " ")
}

func set(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// title holds the (folded) words of titles and roles that precede a name.
var title = set(`president presidents vice prime minister ministers chancellor secretary general chief director managing
foreign defence defense finance interior economy justice state chairman chairwoman chair head leader king queen prince
princess pope mr mrs ms dr sir dame lord lady senator sen rep representative governor mayor ambassador envoy special
commissioner speaker mep mp gen colonel col admiral captain lieutenant judge justice professor prof former deputy acting
opposition spokesman spokeswoman spokesperson officer ceo executive founder coach manager premier emir sheikh crown
archbishop bishop cardinal sergeant commander minister-president federal national high representative u.s us
bundeskanzler kanzler präsident prasident presidente président ministre premier-ministre`)

// connector holds lower-case words that can stand inside a name.
var connector = set(`von van der den de da di del la le bin al ibn dos das`)

var orgSuffix = set(`ministry council party commission bank group union court agency committee parliament university
institute foundation association company corporation corp inc ltd plc llc police army navy force forces office department
service conference organisation organization fund federation assembly authority board bureau club league cabinet senate
congress government guard network news times post press agency`)

var placeSuffix = set(`square street road avenue bridge river sea ocean lake mountain mountains island islands valley
park airport station palace cathedral stadium county province oblast district`)

// furniture holds words that label the parts of a news page rather than
// name anyone: "Key Story", "Top Stories", "Live Updates", "Related
// Articles", "Most Read", "Editor's Picks". A capitalised run holding one is
// a label, not a person. "Story" is also a rare surname; in news text the
// label is far more common.
var furniture = set(`story stories news newsletter newsletters headline headlines update updates live video videos
photo photos gallery podcast podcasts related read share comments subscribe subscription advertisement sponsored
trending popular latest breaking exclusive recommended picks highlights article articles topics menu login`)

var determiner = set(`the a an for this that these our their its`)

var calendar = set(`monday tuesday wednesday thursday friday saturday sunday january february march april may june july
august september october november december`)
