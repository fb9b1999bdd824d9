package entity

import (
	"bufio"
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/newsflow/newsflow/services/tagger/token"
)

//go:embed gazetteer.tsv
var gazetteerFile string

// known is a gazetteer entity.
type known struct {
	name, typ, subtype string
}

// alias is one way of writing a known entity, as words.
type alias struct {
	words []string // as written in the gazetteer
	ent   *known
	// demonym marks an adjective that names the country's people; it
	// strips from titles but is no entity.
	demonym bool
}

// gazetteer indexes aliases by the fold of their first word.
type gazetteer struct {
	byFirst  map[string][]alias // longest alias first
	maxWords int
}

var loadGazetteer = sync.OnceValues(func() (*gazetteer, error) {
	return parseGazetteer(gazetteerFile)
})

// defaultGazetteer returns the embedded gazetteer; it panics only when the
// embedded file is corrupt, which the tests rule out.
func defaultGazetteer() *gazetteer {
	g, err := loadGazetteer()
	if err != nil {
		panic(fmt.Sprintf("entity: embedded gazetteer: %v", err))
	}
	return g
}

var kinds = map[string][2]string{
	"country": {Place, "country"},
	"region":  {Place, "region"},
	"city":    {Place, "city"},
	"intl":    {Organisation, "international"},
	"org":     {Organisation, ""},
	"person":  {Person, ""},
	"demonym": {Place, "country"},
}

func parseGazetteer(src string) (*gazetteer, error) {
	g := &gazetteer{byFirst: map[string][]alias{}}
	seen := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 || len(f) > 3 || f[1] == "" {
			return nil, fmt.Errorf("gazetteer line %d: want kind, name and optional aliases", n)
		}
		kind, ok := kinds[f[0]]
		if !ok {
			return nil, fmt.Errorf("gazetteer line %d: unknown kind %q", n, f[0])
		}
		ent := &known{name: f[1], typ: kind[0], subtype: kind[1]}
		forms := []string{}
		if f[0] != "demonym" {
			forms = append(forms, f[1])
		}
		if len(f) == 3 {
			for _, a := range strings.Split(f[2], ";") {
				if a = strings.TrimSpace(a); a != "" {
					forms = append(forms, a)
				}
			}
		}
		for _, form := range forms {
			words := aliasWords(form)
			if len(words) == 0 {
				return nil, fmt.Errorf("gazetteer line %d: alias %q has no word", n, form)
			}
			key := foldWords(words)
			if prev, dup := seen[key]; dup && prev != f[1] {
				return nil, fmt.Errorf("gazetteer line %d: alias %q already names %s", n, form, prev)
			}
			seen[key] = f[1]
			first := token.Fold(words[0])
			g.byFirst[first] = append(g.byFirst[first], alias{words: words, ent: ent, demonym: f[0] == "demonym"})
			g.maxWords = max(g.maxWords, len(words))
		}
	}
	for k, as := range g.byFirst {
		// Longest first, so "United States of America" wins over "United States".
		for i := 1; i < len(as); i++ {
			for j := i; j > 0 && len(as[j].words) > len(as[j-1].words); j-- {
				as[j], as[j-1] = as[j-1], as[j]
			}
		}
		g.byFirst[k] = as
	}
	return g, nil
}

// aliasWords splits a gazetteer form the way article text is split.
func aliasWords(form string) []string {
	var out []string
	for _, w := range token.Split(joinInitials(form)) {
		out = append(out, w.Text)
	}
	return out
}

func foldWords(words []string) string {
	var sb strings.Builder
	for i, w := range words {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(token.Fold(w))
	}
	return sb.String()
}

// matches reports whether the text words spell the alias: the same words
// folded, an all-capitals alias word written in capitals, and a
// capitalised alias word capitalised in the text.
func (a alias) matches(ws []word) bool {
	if len(ws) < len(a.words) {
		return false
	}
	for i, aw := range a.words {
		tw := ws[i]
		if i > 0 && tw.brk {
			return false
		}
		if tw.fold != token.Fold(aw) {
			return false
		}
		switch {
		case allCaps(aw):
			if tw.text != aw {
				return false
			}
		case upperFirst(aw) && !tw.upper:
			return false
		}
	}
	return true
}

func upperFirst(s string) bool {
	r, _ := utf8.DecodeRuneInString(s)
	return unicode.IsUpper(r)
}

// allCaps reports an acronym: two or more letters, all capitals.
func allCaps(s string) bool {
	letters := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			if !unicode.IsUpper(r) {
				return false
			}
			letters++
		}
	}
	return letters >= 2
}
