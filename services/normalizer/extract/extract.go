// Package extract turns a fetched page (HTML, or plain text for local
// ingests) into an article's main text and metadata, with boilerplate
// stripped by the text rules of package boilerplate.
package extract

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/newsflow/newsflow/services/normalizer/boilerplate"
)

// Document is an extracted article.
type Document struct {
	Title, Byline       string
	Published, Modified time.Time // zero when unknown
	// Language is the declared language, the lowercased BCP 47 primary
	// subtag ("en"), "" if none.
	Language string
	// CanonicalURL and LeadImageURL are absolute, "" if none.
	SiteName, CanonicalURL, LeadImageURL string
	// Text is the main text, one block (paragraph, heading, list item, table
	// row) per line, joined by "\n", with no blank lines and no trailing newline.
	Text         string
	BytesRemoved int64    // len(body) - len(Text)
	LinesRemoved int      // lines dropped by text rules
	Rules        []string // names of the text rules that fired, sorted, unique
}

var (
	// ErrEmpty means nothing, or less than the minimum, was left after
	// extraction. It is permanent: the page will not get better on retry.
	ErrEmpty = errors.New("no article text")
	// ErrUnsupported means the content type is neither HTML nor text.
	ErrUnsupported = errors.New("unsupported content type")
)

// DefaultMinChars is the least text, in characters, an article may have.
const DefaultMinChars = 200

// Extractor extracts articles. It holds the rule set and is safe for
// concurrent use.
type Extractor struct {
	rules    *boilerplate.Set
	minChars int
}

// Option configures an Extractor.
type Option func(*Extractor) error

// WithRulesFile adds the rules of a per-site override file (format in package
// boilerplate) to the defaults.
func WithRulesFile(path string) Option {
	return func(e *Extractor) error {
		o, err := boilerplate.LoadFile(path)
		if err != nil {
			return err
		}
		e.rules = e.rules.Merge(o)
		return nil
	}
}

// WithRules adds a parsed rule set to the defaults.
func WithRules(s *boilerplate.Set) Option {
	return func(e *Extractor) error {
		e.rules = e.rules.Merge(s)
		return nil
	}
}

// WithMinChars sets the least text an article may have; below it Extract
// returns ErrEmpty. Zero accepts any non-empty text.
func WithMinChars(n int) Option {
	return func(e *Extractor) error {
		if n < 0 {
			return fmt.Errorf("min chars %d: must not be negative", n)
		}
		e.minChars = n
		return nil
	}
}

// New returns an Extractor with the embedded default rules and the options applied.
func New(opts ...Option) (*Extractor, error) {
	rules, err := boilerplate.Default()
	if err != nil {
		return nil, err
	}
	e := &Extractor{rules: rules, minChars: DefaultMinChars}
	for _, opt := range opts {
		if err := opt(e); err != nil {
			return nil, fmt.Errorf("new extractor: %w", err)
		}
	}
	return e, nil
}

// Extract extracts the article from body, which is UTF-8. contentType may be
// "" to sniff; pageURL resolves relative links and selects per-site rules.
func (e *Extractor) Extract(body []byte, contentType, pageURL string) (*Document, error) {
	isHTML, err := classify(body, contentType)
	if err != nil {
		return nil, err
	}
	base, _ := url.Parse(pageURL)
	if base != nil && !base.IsAbs() {
		base = nil
	}
	var doc *Document
	var lines []string
	if isHTML {
		doc, lines = extractHTML(body, base)
	} else {
		doc, lines = &Document{}, textLines(body)
	}
	host := ""
	if base != nil {
		host = base.Hostname()
	}
	res := e.rules.Apply(lines, host)
	if !isHTML {
		doc.Title = textTitle(res.Lines)
	}
	doc.Text = strings.Join(res.Lines, "\n")
	doc.LinesRemoved = res.Removed
	doc.Rules = res.Fired
	doc.BytesRemoved = int64(len(body) - len(doc.Text))
	if n := utf8.RuneCountInString(doc.Text); n == 0 || n < e.minChars {
		return nil, fmt.Errorf("%w: %d characters left, want at least %d", ErrEmpty, n, e.minChars)
	}
	return doc, nil
}

// classify reports whether body is HTML (true) or plain text (false).
func classify(body []byte, contentType string) (bool, error) {
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch mt {
	case "":
		return looksLikeHTML(body), nil
	case "text/html", "application/xhtml+xml":
		return true, nil
	case "text/plain", "text/markdown", "text/x-markdown":
		return false, nil
	}
	return false, fmt.Errorf("%w: %q", ErrUnsupported, mt)
}

func looksLikeHTML(body []byte) bool {
	head := body[:min(len(body), 1024)]
	if strings.HasPrefix(http.DetectContentType(head), "text/html") {
		return true
	}
	head = bytes.TrimLeft(head, "\ufeff \t\r\n")
	// DetectContentType misses fragments such as "<article><p>…"; a body
	// that opens with a tag and closes one is markup.
	return len(head) > 0 && head[0] == '<' && bytes.Contains(head, []byte("</"))
}
