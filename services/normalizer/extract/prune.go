package extract

import (
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// pruneAtoms are removed wherever they are: they hold navigation, forms,
// embeds or captions, never article paragraphs.
var pruneAtoms = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Nav: true, atom.Aside: true, atom.Form: true, atom.Button: true,
	atom.Select: true, atom.Textarea: true, atom.Input: true, atom.Iframe: true,
	atom.Svg: true, atom.Figure: true, atom.Figcaption: true, atom.Dialog: true,
	atom.Object: true, atom.Embed: true, atom.Canvas: true, atom.Audio: true,
	atom.Video: true, atom.Menu: true,
}

// landmarkAtoms are page header and footer; removed unless they carry much
// of the page's text (some sites wrap the whole story in a <header>).
var landmarkAtoms = map[atom.Atom]bool{atom.Header: true, atom.Footer: true}

var pruneRoles = map[string]bool{
	"navigation": true, "complementary": true, "banner": true, "contentinfo": true,
	"dialog": true, "alertdialog": true, "search": true, "menu": true, "menubar": true,
	"toolbar": true,
}

// Class and id words (split at '-', '_' and spaces; camel case is not
// split) that mark boilerplate containers. A strong word condemns the element
// whatever else its name says; a weak one only when no content word
// ("article", "content", …) is there too, as in "content-with-sidebar".
const (
	strong = 2
	weak   = 1
	good   = -1
)

var nameWords = map[string]int{
	"share": strong, "sharing": strong, "sharebar": strong, "shares": strong, "social": strong,
	"newsletter": strong, "newsletters": strong, "subscribe": strong, "subscription": strong, "signup": strong,
	"related": strong, "recommended": strong, "recommendations": strong, "recirculation": strong,
	"promo": strong, "promos": strong, "bio": strong, "byline": strong, "bylines": strong,
	"comments": strong, "comment": strong, "disqus": strong, "cookie": strong, "cookies": strong,
	"consent": strong, "gdpr": strong, "breadcrumb": strong, "breadcrumbs": strong,
	"caption": strong, "captions": strong, "credit": strong, "credits": strong,
	"ad": strong, "ads": strong, "advert": strong, "adverts": strong, "advertisement": strong,
	"outbrain": strong, "taboola": strong, "paywall": strong, "dateline": strong, "timestamp": strong,
	"rollover": strong, "tooltip": strong, "popover": strong, "hovercard": strong,

	"tags": weak, "sponsored": weak, "popular": weak, "trending": weak, "sidebar": weak,
	"widget": weak, "widgets": weak, "toolbar": weak, "modal": weak, "popup": weak,
	"navbar": weak, "navigation": weak, "menu": weak, "footer": weak, "masthead": weak,
	"meta": weak,

	"article": good, "content": good, "story": good, "post": good, "entry": good,
	"body": good, "main": good, "text": good, "blog": good,
}

// namePairs are two-word class/id phrases, weighed like nameWords.
var namePairs = map[string]int{
	"author bio": strong, "about author": strong, "author box": strong, "author info": strong,
	"more stories": strong, "most read": strong, "see also": strong, "also read": strong,
	"post meta": strong, "entry meta": strong, "article meta": strong,
	"sr only": strong, "visually hidden": strong, "screen reader": strong,
	"read more": weak, // "entry-content-read-more" wraps whole stories
}

// weakKeep is the paragraph prose, in non-space bytes, that keeps a
// container whose class or id is only weakly boilerplate ("widget",
// "sidebar", "meta"): about 150 words of paragraphs are content, wherever
// they sit. (On the development sets: WCXB word F1 0.9437 to 0.9452,
// extraction-bench unchanged; 400 and 800 alike, 1,500 keeps too little.)
const weakKeep = 800

// keepAtoms are never removed for their class or id: a body or article
// element often carries page-wide classes such as "has-sidebar".
var keepAtoms = map[atom.Atom]bool{atom.Html: true, atom.Body: true, atom.Main: true, atom.Article: true}

// prune removes boilerplate elements before readability scores the page, so
// that share bars, captions and related lists never reach the text.
func prune(root *html.Node, b *budget) {
	total := proseLen(root)
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil && !b.spent(); {
			next := c.NextSibling
			if c.Type == html.CommentNode || (c.Type == html.ElementNode && isBoilerplate(c, total)) {
				n.RemoveChild(c)
			} else if c.Type == html.ElementNode {
				walk(c)
			}
			c = next
		}
	}
	walk(root)
}

func isBoilerplate(n *html.Node, total int) bool {
	if pruneAtoms[n.DataAtom] || n.DataAtom == atom.Time && !inProse(n) {
		return true
	}
	var class, id, role, style string
	for _, a := range n.Attr {
		switch a.Key {
		case "hidden":
			return true
		case "aria-hidden":
			if a.Val == "true" {
				return true
			}
		case "class":
			class = a.Val
		case "id":
			id = a.Val
		case "role":
			role = a.Val
		case "style":
			style = a.Val
		}
	}
	if pruneRoles[strings.ToLower(role)] || hiddenByStyle(style) {
		return true
	}
	if keepAtoms[n.DataAtom] {
		return false
	}
	named := max(nameStrength(class), nameStrength(id))
	if !landmarkAtoms[n.DataAtom] && named == 0 {
		return false
	}
	if named == weak && !landmarkAtoms[n.DataAtom] && paraProse(n) >= weakKeep {
		// A weak name on a container of real paragraphs: page builders wrap
		// every part of a story in a "widget".
		return false
	}
	// A container that holds much of the page's prose is the page, whatever
	// its name says ("content-with-sidebar", Blogger's "widget Blog").
	return proseLen(n)*5 < total*2
}

// inProse reports whether n sits in running text (a paragraph, list item,
// quote or cell) rather than standing alone as a dateline.
func inProse(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		switch p.DataAtom {
		case atom.P, atom.Li, atom.Blockquote, atom.Td, atom.Dd:
			return true
		case atom.Div, atom.Article, atom.Section, atom.Header, atom.Main, atom.Body:
			return false
		}
	}
	return false
}

func hiddenByStyle(style string) bool {
	if style == "" {
		return false
	}
	s := strings.ToLower(strings.ReplaceAll(style, " ", ""))
	return strings.Contains(s, "display:none") || strings.Contains(s, "visibility:hidden")
}

func boilerplateName(s string) bool { return nameStrength(s) != 0 }

// nameStrength is strong when a class or id condemns its element whatever
// else it says, weak when it does so only for want of a content word, 0
// when it does not.
func nameStrength(s string) int {
	if s == "" {
		return 0
	}
	prev := ""
	hasWeak, hasGood := false, false
	for w := range strings.FieldsFuncSeq(strings.ToLower(s), func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
	}) {
		weight := nameWords[w]
		if prev != "" && namePairs[prev+" "+w] != 0 {
			weight = namePairs[prev+" "+w]
		}
		switch weight {
		case strong:
			return strong
		case weak:
			hasWeak = true
		case good:
			hasGood = true
		}
		prev = w
	}
	if hasWeak && !hasGood {
		return weak
	}
	return 0
}

// proseLen is the number of non-space bytes of text under n outside links,
// scripts and styles: menus and link lists weigh nothing.
func proseLen(n *html.Node) int {
	if n == nil {
		return 0
	}
	if n.Type == html.TextNode {
		c := 0
		for i := 0; i < len(n.Data); i++ {
			if b := n.Data[i]; b != ' ' && b != '\n' && b != '\t' && b != '\r' {
				c++
			}
		}
		return c
	}
	if n.Type == html.ElementNode && (n.DataAtom == atom.Script || n.DataAtom == atom.Style || n.DataAtom == atom.A) {
		return 0
	}
	c := 0
	for k := n.FirstChild; k != nil; k = k.NextSibling {
		c += proseLen(k)
	}
	return c
}
