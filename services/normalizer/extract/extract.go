// Package extract turns a fetched page (HTML, or plain text for local
// ingests) into an article's main text and metadata, with boilerplate
// stripped by the text rules of package boilerplate.
package extract

import (
	"bytes"
	"context"
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
	// subtag ("en"); if none is declared, the language detected from the
	// text when the detector is confident; else "".
	Language string
	// CanonicalURL and LeadImageURL are absolute, "" if none.
	SiteName, CanonicalURL, LeadImageURL string
	// Text is the main text, one block (paragraph, heading, list item, table
	// row) per line, joined by "\n", with no blank lines and no trailing newline.
	Text string
	// Method is how the text was found: one of the Method* constants.
	Method       string
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
	// ErrTimeout means extraction took longer than its time limit (see
	// WithTimeout). It is permanent: the page would take as long again.
	ErrTimeout = errors.New("extraction timed out")
	// ErrTooLarge means the page is longer than the input cap (see
	// WithMaxBytes). It is permanent.
	ErrTooLarge = errors.New("page too large")
)

// Defaults of the Extractor's limits.
const (
	// DefaultMinChars is the least text, in characters, an article may have.
	DefaultMinChars = 200
	// DefaultMaxBytes is the largest page extracted. The largest page of the
	// extraction benchmark is 1.5 MB; parsing and scoring cost about 0.2 s
	// a megabyte on one core for the worst shapes (one huge text node).
	DefaultMaxBytes = 8 << 20
	// DefaultTimeout is the time limit of one extraction.
	DefaultTimeout = 10 * time.Second
)

// Extractor extracts articles. It holds the rule set and is safe for
// concurrent use.
type Extractor struct {
	rules    *boilerplate.Set
	minChars int
	maxBytes int
	timeout  time.Duration
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

// WithMaxBytes sets the largest page Extract accepts; a longer one gives
// ErrTooLarge. Zero means no cap.
func WithMaxBytes(n int) Option {
	return func(e *Extractor) error {
		if n < 0 {
			return fmt.Errorf("max bytes %d: must not be negative", n)
		}
		e.maxBytes = n
		return nil
	}
}

// WithTimeout sets the time limit of one extraction; past it Extract
// returns ErrTimeout. Zero means no limit beyond the context's.
func WithTimeout(d time.Duration) Option {
	return func(e *Extractor) error {
		if d < 0 {
			return fmt.Errorf("timeout %s: must not be negative", d)
		}
		e.timeout = d
		return nil
	}
}

// New returns an Extractor with the embedded default rules and the options applied.
func New(opts ...Option) (*Extractor, error) {
	rules, err := boilerplate.Default()
	if err != nil {
		return nil, err
	}
	e := &Extractor{rules: rules, minChars: DefaultMinChars, maxBytes: DefaultMaxBytes, timeout: DefaultTimeout}
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
	return e.ExtractContext(context.Background(), body, contentType, pageURL)
}

// ExtractContext is Extract with a deadline: the earlier of ctx's deadline
// and the extractor's time limit. Past it, the extraction stops at its next
// check and returns ErrTimeout (the check is cooperative: readability's
// scoring pass runs to its end, bounded by the input cap).
func (e *Extractor) ExtractContext(ctx context.Context, body []byte, contentType, pageURL string) (*Document, error) {
	if e.maxBytes > 0 && len(body) > e.maxBytes {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrTooLarge, len(body), e.maxBytes)
	}
	isHTML, err := classify(body, contentType)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	var deadline time.Time
	if e.timeout > 0 {
		deadline = start.Add(e.timeout)
	}
	if d, ok := ctx.Deadline(); ok && (deadline.IsZero() || d.Before(deadline)) {
		deadline = d
	}
	b := newBudget(deadline)
	timedOut := func() error {
		return fmt.Errorf("%w after %s", ErrTimeout, time.Since(start).Round(time.Millisecond))
	}
	base, _ := url.Parse(pageURL)
	if base != nil && !base.IsAbs() {
		base = nil
	}
	var doc *Document
	var lines []string
	if isHTML {
		doc, lines = extractHTML(body, base, b)
	} else {
		doc, lines = &Document{Method: MethodText}, textLines(body)
	}
	if b.expired() {
		return nil, timedOut()
	}
	host := ""
	if base != nil {
		host = base.Hostname()
	}
	res := e.rules.Apply(lines, host)
	if b.expired() {
		return nil, timedOut()
	}
	if !isHTML {
		doc.Title = textTitle(res.Lines)
	}
	doc.Text = strings.Join(res.Lines, "\n")
	if doc.Language == "" {
		doc.Language = detectLanguage(doc.Text)
	}
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
	if looksBinary(body) {
		return false, fmt.Errorf("%w: binary data, not text (%s by its first bytes)", ErrUnsupported, http.DetectContentType(body[:min(len(body), 512)]))
	}
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

// looksBinary reports whether body is binary data rather than text: more
// than 5% of its first 4 KiB are control bytes other than tab, newline,
// form feed and carriage return. Text and markup have next to none; random
// or compressed bytes about 11%.
func looksBinary(body []byte) bool {
	head := body[:min(len(body), 4096)]
	if len(head) == 0 {
		return false
	}
	controls := 0
	for _, c := range head {
		if (c < 0x20 && c != '\t' && c != '\n' && c != '\f' && c != '\r') || c == 0x7f {
			controls++
		}
	}
	return controls*20 > len(head)
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
