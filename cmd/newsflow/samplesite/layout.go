package samplesite

import (
	"fmt"
	"hash/fnv"
	"slices"
)

// chrome holds every fixed string the article template prints outside the
// story, so that BoilerplateLines cannot drift from the pages.
type chrome struct {
	SiteName      string
	LogoMark      string
	Tagline       string
	Home          string
	Cookie        string
	CookieAccept  string
	CookieManage  string
	Share         string
	Newsletter    string
	Subscribe     string
	ReadMore      string
	Advertisement string
	FullBio       string
	Related       string
	AlsoLike      string
	MostRead      string
	Footer        []string
	Copyright     string
}

func siteChrome() chrome {
	return chrome{
		SiteName:      "Newsflow Gazette",
		LogoMark:      "NG",
		Tagline:       "Independent news for Ardenport and the Halvern coast",
		Home:          "Home",
		Cookie:        "We use cookies to keep the site working, to understand how it is used and to show relevant offers. You can change your choice at any time.",
		CookieAccept:  "Accept all",
		CookieManage:  "Manage preferences",
		Share:         "Share on X · Facebook · Email · Copy link",
		Newsletter:    "Sign up for the Morning Briefing newsletter: the stories Ardenport is talking about, in your inbox before 7am every weekday.",
		Subscribe:     "Subscribe",
		ReadMore:      "Read more:",
		Advertisement: "Advertisement",
		FullBio:       "Read full bio →",
		Related:       "Related stories",
		AlsoLike:      "You Might Also Like",
		MostRead:      "Most read",
		Footer:        []string{"About us", "Contact the newsroom", "Corrections", "Advertise with us", "Terms of use", "Privacy policy", "Cookie settings", "Accessibility"},
		Copyright:     "© 2026 Newsflow Gazette. All rights reserved.",
	}
}

var photographers = []string{"Oskar Lindqvist", "Ruth Adeyemi", "Fen Marchetti", "Ilona Brackwater", "Samir Haddou"}

// layout is the per-page variation of the boilerplate. It is derived from a
// hash of the slug so that a page looks the same on every request while
// pages differ from each other, and an extractor cannot lean on one template.
type layout struct {
	ShareTop      bool // share bar under the byline rather than after the story
	CookieTop     bool // consent banner before the header rather than after the footer
	AsideFirst    bool // "Most read" before the article in source order
	Newsletter    bool // newsletter prompt after paragraph 3
	Bio           bool // author box after the story
	ReadMore      int  // index into corpus.articles of the inline link after paragraph 5; -1 for none
	AdAfter       int  // running-text paragraph after which the ad slot sits; 0 puts it in the aside
	BodyClass     string
	Comments      int
	Photographer  string
	Related       []int // same section, indexes into corpus.articles
	AlsoLike      []int // other sections
	RelatedShown  bool
	AlsoLikeShown bool
}

func layoutFor(c *corpus, i int) layout {
	a := c.articles[i]
	f := fnv.New64a()
	f.Write([]byte(a.Slug))
	h := f.Sum64()
	bit := func(n uint) uint64 { return h >> n }
	l := layout{
		ShareTop:      bit(0)&1 == 0,
		CookieTop:     bit(1)&1 == 0,
		AsideFirst:    bit(2)%3 == 0,
		Newsletter:    bit(4)%4 != 0,
		Bio:           bit(6)%3 != 0,
		ReadMore:      -1,
		AdAfter:       []int{2, 4, 0}[bit(8)%3],
		BodyClass:     []string{"article-body", "story-text", ""}[bit(10)%3],
		Comments:      2 + int(bit(12)%57),
		Photographer:  photographers[bit(20)%uint64(len(photographers))],
		RelatedShown:  bit(24)%4 != 0,
		AlsoLikeShown: bit(26)%4 != 0,
	}
	for j, b := range c.articles {
		if j != i && b.Section == a.Section && len(l.Related) < 3 {
			l.Related = append(l.Related, j)
		}
	}
	// Walk the corpus with a stride coprime to its length from a hashed
	// start, so every page gets a different but stable selection.
	n := len(c.articles)
	stride := 7
	for n%stride == 0 {
		stride += 2
	}
	for k, j := 0, int(bit(32)%uint64(n)); k < n && len(l.AlsoLike) < 3; k, j = k+1, (j+stride)%n {
		if c.articles[j].Section != a.Section {
			l.AlsoLike = append(l.AlsoLike, j)
		}
	}
	if bit(40)%3 != 0 {
		for k, j := 0, int(bit(44)%uint64(n)); k < n; k, j = k+1, (j+1)%n {
			if j != i && !slices.Contains(l.Related, j) && !slices.Contains(l.AlsoLike, j) {
				l.ReadMore = j
				break
			}
		}
	}
	return l
}

// mostRead is the same for every page, as on a real site.
func mostRead(c *corpus) []int {
	idx := make([]int, len(c.articles))
	keys := make([]uint64, len(c.articles))
	for i, a := range c.articles {
		idx[i] = i
		f := fnv.New64a()
		f.Write([]byte("most-read:" + a.Slug))
		keys[i] = f.Sum64()
	}
	slices.SortFunc(idx, func(x, y int) int {
		switch {
		case keys[x] < keys[y]:
			return -1
		case keys[x] > keys[y]:
			return 1
		}
		return 0
	})
	return idx[:min(5, len(idx))]
}

func byline(a Article) string { return "By " + a.Author }

func dateline(a Article) string { return a.Published.Format("Monday 2 January 2006, 15:04") }

func photoCredit(l layout) string { return "Photo: " + l.Photographer + "/Newsflow Gazette" }

func commentsTeaser(l layout) string {
	return fmt.Sprintf("Join the conversation: %d comments", l.Comments)
}

// BoilerplateLines returns every string the article pages print outside the
// story text, title and headline links: navigation and breadcrumb labels,
// consent banner, byline and date lines, share bar, photo captions and
// credits, newsletter prompt, inline labels, author boxes, list headings,
// comment teasers and footer. Each entry is the whole text of one element
// with whitespace collapsed, so compare it with whole lines of extracted text;
// short entries such as "Sport" are legitimate words inside a story.
// Headlines of other stories appear in the related lists too; take them from
// Articles.
func BoilerplateLines() []string {
	c := mustCorpus()
	ch := siteChrome()
	lines := []string{
		ch.SiteName, ch.LogoMark, ch.Tagline, ch.Home, ch.Cookie, ch.CookieAccept, ch.CookieManage,
		ch.Share, ch.Newsletter, ch.Subscribe, ch.ReadMore, ch.Advertisement,
		ch.FullBio, ch.Related, ch.AlsoLike, ch.MostRead, ch.Copyright,
	}
	lines = append(lines, ch.Footer...)
	for _, s := range sections {
		lines = append(lines, s.Label)
	}
	for i, a := range c.articles {
		l := layoutFor(c, i)
		lines = append(lines, byline(a), dateline(a), a.caption, photoCredit(l), commentsTeaser(l))
		if l.Bio {
			lines = append(lines, a.Author, c.bios[a.Author])
		}
	}
	slices.Sort(lines)
	return slices.Compact(lines)
}
