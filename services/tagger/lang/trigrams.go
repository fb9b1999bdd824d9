package lang

import (
	_ "embed"
	"fmt"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/abadojack/whatlanggo"
)

// whatlanggo scores a text against each language of its script in turn:
// for each of a profile's 300 trigrams, most frequent first, the distance
// between its rank there and its rank among the text's trigrams (300 when
// the text lacks it), summed. For a Latin text that is 45 profiles and
// 13,500 string-keyed map lookups, most of them misses: half a
// millisecond a text, a fifth of the tagger's work (BenchmarkDetect,
// BenchmarkTagSeeds). detectProfiles computes the same sums from the
// other side: every language starts with all its trigrams missing, and
// each of the text's few hundred trigrams corrects the languages whose
// profiles hold it, found in one index of the script's profiles. The
// result, confidence included, is whatlanggo's (TestDetectMatchesWhatlanggo),
// except that languages at the same distance are ordered by whatlanggo.Lang
// where whatlanggo leaves it to map order.

// The constants of whatlanggo's scoring.
const (
	maxTrigramDistance = 300
	maxTotalDistance   = 90000
)

//go:embed profiles.tsv
var profilesTSV string

// trigram is a trigram's three runes in one number, ordered as their
// strings are (21 bits a rune: UTF-8 keeps code point order).
type trigram uint64

func pack(a, b, c rune) trigram { return trigram(a)<<42 | trigram(b)<<21 | trigram(c) }

// scriptProfiles are the profiles of one script's languages.
type scriptProfiles struct {
	langs []whatlanggo.Lang // ascending
	// missing is each language's distance from a text with none of its
	// trigrams.
	missing []int
	// holders lists, for each trigram, the profiles holding it and its
	// rank in each.
	holders map[trigram][]holder
}

type holder struct {
	lang int32 // index in langs
	rank int32
}

// byScript is profiles.tsv indexed, loaded on first use.
var byScript = sync.OnceValue(loadProfiles)

// scriptTables maps profiles.tsv's script names to whatlanggo's scripts.
var scriptTables = map[string]*unicode.RangeTable{
	"latin": unicode.Latin, "cyrillic": unicode.Cyrillic, "arabic": unicode.Arabic,
	"devanagari": unicode.Devanagari, "ethiopic": unicode.Ethiopic, "hebrew": unicode.Hebrew,
}

// loadProfiles indexes profiles.tsv; it panics on a malformed file, which
// is embedded and checked by TestProfilesFile.
func loadProfiles() map[*unicode.RangeTable]*scriptProfiles {
	type row struct {
		lang     whatlanggo.Lang
		trigrams []string
	}
	rows := map[*unicode.RangeTable][]row{}
	for line := range strings.Lines(profilesTSV) {
		line = strings.TrimSuffix(line, "\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		script := scriptTables[f[0]]
		if script == nil || len(f) < 3 {
			panic(fmt.Sprintf("lang: profiles.tsv: bad line %.40q", line))
		}
		l := whatlanggo.CodeToLang(f[1])
		if l < 0 {
			panic(fmt.Sprintf("lang: profiles.tsv: unknown language %q", f[1]))
		}
		rows[script] = append(rows[script], row{l, f[2:]})
	}
	out := map[*unicode.RangeTable]*scriptProfiles{}
	for script, rs := range rows {
		slices.SortFunc(rs, func(a, b row) int { return int(a.lang) - int(b.lang) })
		p := &scriptProfiles{holders: map[trigram][]holder{}}
		for i, r := range rs {
			p.langs = append(p.langs, r.lang)
			p.missing = append(p.missing, maxTrigramDistance*len(r.trigrams))
			for rank, t := range r.trigrams {
				rs := []rune(t)
				if len(rs) != 3 || !utf8.ValidString(t) {
					continue // no text trigram matches it: it stays missing
				}
				k := pack(rs[0], rs[1], rs[2])
				p.holders[k] = append(p.holders[k], holder{int32(i), int32(rank)})
			}
		}
		out[script] = p
	}
	return out
}

// ranked is one of a text's trigrams with its rank: most frequent first,
// ties in descending string order, as whatlanggo ranks them.
type ranked struct {
	t     trigram
	count int
}

// textTrigrams are the text's trigrams, ranked, as whatlanggo counts
// them: punctuation, symbols, digits and spaces are spaces, letters lower
// case, and a trigram is skipped when its middle is a space beside another.
func textTrigrams(text string) []ranked {
	counts := make(map[trigram]int, len(text)) // at most a trigram a byte
	r1, r2 := ' ', rune(-1)
	for _, c := range text {
		if isStop(c) {
			c = ' '
		}
		c = unicode.ToLower(c)
		if r2 < 0 {
			r2 = c
			continue
		}
		if !(r2 == ' ' && (r1 == ' ' || c == ' ')) {
			counts[pack(r1, r2, c)]++
		}
		r1, r2 = r2, c
	}
	if r2 >= 0 && !(r2 == ' ') {
		counts[pack(r1, r2, ' ')]++
	}
	out := make([]ranked, 0, len(counts))
	for t, n := range counts {
		out = append(out, ranked{t, n})
	}
	slices.SortFunc(out, func(a, b ranked) int {
		if a.count != b.count {
			return b.count - a.count
		}
		if a.t > b.t {
			return -1
		}
		return 1
	})
	return out
}

// isStop is whatlanggo's stop character.
func isStop(r rune) bool {
	return unicode.IsSymbol(r) || unicode.IsSpace(r) || unicode.IsPunct(r) || unicode.IsDigit(r)
}

// detectProfiles is whatlanggo.DetectWithOptions for a text of a script
// with profiles, restricted to white when it is not empty.
func detectProfiles(text string, p *scriptProfiles, white map[whatlanggo.Lang]bool) (whatlanggo.Lang, float64) {
	ts := textTrigrams(text)
	dist := slices.Clone(p.missing)
	for rank, r := range ts {
		for _, h := range p.holders[r.t] {
			d := rank - int(h.rank)
			if d < 0 {
				d = -d
			}
			dist[h.lang] -= maxTrigramDistance - d
		}
	}
	type scored struct {
		lang whatlanggo.Lang
		dist int
	}
	var all []scored
	for i, l := range p.langs {
		if len(white) == 0 || white[l] {
			all = append(all, scored{l, dist[i]})
		}
	}
	switch len(all) {
	case 0:
		return -1, 0
	case 1:
		return all[0].lang, 1
	}
	slices.SortStableFunc(all, func(a, b scored) int { return a.dist - b.dist })
	score1 := maxTotalDistance - all[0].dist
	score2 := maxTotalDistance - all[1].dist
	switch {
	case score1 == 0:
		return -1, 0
	case score2 == 0:
		// whatlanggo divides the integer score by 500 here.
		return all[0].lang, min(float64(score1/500), 1)
	}
	rate := float64(score1-score2) / float64(score2)
	confident := 12.0/float64(len(ts)) + 0.05
	if rate > confident {
		return all[0].lang, 1
	}
	return all[0].lang, rate / confident
}

// detect is whatlanggo.DetectWithOptions, restricted to white when it is
// not empty, with the scoring of detectProfiles.
func detect(text string, white map[whatlanggo.Lang]bool) whatlanggo.Info {
	script := whatlanggo.DetectScript(text)
	p := byScript()[script]
	if p == nil {
		// No script, or one of one language: whatlanggo needs no profile.
		return whatlanggo.DetectWithOptions(text, whatlanggo.Options{Whitelist: white})
	}
	l, c := detectProfiles(text, p, white)
	return whatlanggo.Info{Lang: l, Script: script, Confidence: c}
}
