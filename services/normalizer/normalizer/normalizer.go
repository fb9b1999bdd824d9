// Package normalizer is the normalizer stage: it turns a fetched page into
// the article's main text and metadata (package extract) and hands it on.
package normalizer

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/newsflow/newsflow/proto/canon"
	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/services/normalizer/boilerplate"
	"github.com/newsflow/newsflow/services/normalizer/extract"
	"github.com/newsflow/newsflow/stage"
)

// Name is the stage name: its consumer, metrics label and dead-letter suffix.
const Name = "normalizer"

// Config is the normalizer's own configuration.
type Config struct {
	// RulesFile adds per-site boilerplate rules to the embedded ones.
	RulesFile string
	// MinChars is the shortest text accepted as an article.
	MinChars int
	// MaxPageBytes is the largest page extracted; larger ones are
	// dead-lettered as too_large.
	MaxPageBytes int
	// ExtractTimeout bounds one page's extraction; slower pages are
	// dead-lettered as timeout.
	ExtractTimeout time.Duration
}

// DefaultConfig returns the defaults of the normalizer's flags.
func DefaultConfig() Config {
	return Config{MinChars: extract.DefaultMinChars, MaxPageBytes: extract.DefaultMaxBytes, ExtractTimeout: extract.DefaultTimeout}
}

// RegisterFlags registers the normalizer's flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.RulesFile, "rules", c.RulesFile, "boilerplate rules `file` with per-site overrides (added to the built-in rules)")
	fs.IntVar(&c.MinChars, "min-chars", c.MinChars, "shortest extracted text, in characters, accepted as an article")
	fs.IntVar(&c.MaxPageBytes, "max-page-bytes", c.MaxPageBytes, "largest page, in bytes, the normalizer extracts (0: no cap); larger ones are dead-lettered")
	fs.DurationVar(&c.ExtractTimeout, "extract-timeout", c.ExtractTimeout, "time limit for extracting one page (0: none); slower pages are dead-lettered")
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var p stage.Problems
	if c.RulesFile != "" {
		if _, err := os.Stat(c.RulesFile); err != nil {
			p.Add("rules", "%v", err)
		}
	}
	if c.MinChars < 0 {
		p.Add("min-chars", "must not be negative, got %d", c.MinChars)
	}
	if c.MaxPageBytes < 0 {
		p.Add("max-page-bytes", "must not be negative, got %d", c.MaxPageBytes)
	}
	if c.ExtractTimeout < 0 {
		p.Add("extract-timeout", "must not be negative, got %s", c.ExtractTimeout)
	}
	return p.Err()
}

// Extractor builds the extractor this configuration describes; the CLI's
// extract command uses it too, so both extract alike.
func (c Config) Extractor() (*extract.Extractor, error) {
	opts := []extract.Option{
		extract.WithMinChars(c.MinChars),
		extract.WithMaxBytes(c.MaxPageBytes),
		extract.WithTimeout(c.ExtractTimeout),
	}
	if c.RulesFile != "" {
		opts = append(opts, extract.WithRulesFile(c.RulesFile))
	}
	return extract.New(opts...)
}

// Stamp names what makes the normalizer's output under c (see stage.Stamp):
// the build, the built-in boilerplate rules, the rules file's content and
// the minimum text length. A changed rule or threshold gives a new stamp.
func (c Config) Stamp() (string, error) {
	parts := [][]byte{boilerplate.DefaultText(), fmt.Appendf(nil, "min-chars=%d", c.MinChars)}
	if c.RulesFile != "" {
		b, err := os.ReadFile(c.RulesFile)
		if err != nil {
			return "", fmt.Errorf("read rules: %w", err)
		}
		parts = append(parts, b)
	}
	return stage.Stamp(parts...), nil
}

// Normalizer is the stage's handler.
type Normalizer struct {
	ex *extract.Extractor
	m  *metrics
}

// New builds the handler, registering its metrics on rt's registry.
func New(cfg Config, rt *stage.Runtime) (*Normalizer, error) {
	ex, err := cfg.Extractor()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(rt.Telemetry().Registry)
	if err != nil {
		return nil, err
	}
	return &Normalizer{ex: ex, m: m}, nil
}

// Run consumes fetched pages and publishes normalized articles until ctx ends.
func Run(ctx context.Context, rt *stage.Runtime, cfg Config) error {
	n, err := New(cfg, rt)
	if err != nil {
		return err
	}
	v, err := cfg.Stamp()
	if err != nil {
		return err
	}
	rt.SetVersion(v)
	top := stage.StageTopology(Name)
	return rt.Consume(ctx, top.Input, top.Output, n.Handle)
}

// Handle extracts one article. Pages with no usable text, content that is
// not HTML or text, pages over the size cap and pages that take too long are
// permanent failures: retrying cannot change them.
func (n *Normalizer) Handle(ctx context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
	f := a.GetFetch()
	source := a.GetSource()
	body, err := stage.FetchBody(f)
	if err != nil {
		return nil, fmt.Errorf("page %s: %w", a.GetUrl(), err)
	}
	if len(body) == 0 {
		n.m.empty.WithLabelValues(source).Inc()
		return nil, stage.Permanentf("empty_body", "page %s has an empty body", a.GetUrl())
	}
	doc, err := n.ex.ExtractContext(ctx, body, f.GetContentType(), a.GetUrl())
	if err != nil {
		reason := "extract"
		switch {
		case errors.Is(err, extract.ErrEmpty):
			n.m.empty.WithLabelValues(source).Inc()
			reason = "empty_extraction"
		case errors.Is(err, extract.ErrTimeout):
			n.m.timeouts.Inc()
			reason = "timeout"
		case errors.Is(err, extract.ErrTooLarge):
			reason = "too_large"
		case errors.Is(err, extract.ErrUnsupported):
			reason = "unsupported_content"
		}
		return nil, stage.Permanent(reason, fmt.Errorf("extract %s: %w", a.GetUrl(), err))
	}
	n.m.methods.WithLabelValues(doc.Method).Inc()
	n.m.removed.WithLabelValues(source).Add(float64(max(doc.BytesRemoved, 0)))
	n.m.ratio.Observe(float64(len(doc.Text)) / float64(len(body)))
	for _, r := range doc.Rules {
		n.m.rules.WithLabelValues(r).Inc()
	}
	a.Normalized = &newsflowv1.Normalized{
		Title:        doc.Title,
		Byline:       doc.Byline,
		PublishedAt:  timestamp(doc.Published),
		ModifiedAt:   timestamp(doc.Modified),
		Text:         doc.Text,
		Language:     doc.Language,
		SiteName:     doc.SiteName,
		LeadImageUrl: doc.LeadImageURL,
		Boilerplate: &newsflowv1.Boilerplate{
			BytesRemoved: doc.BytesRemoved,
			LinesRemoved: int32(doc.LinesRemoved),
			Rules:        doc.Rules,
		},
	}
	if c, err := canon.URL(sameSiteCanonical(doc.CanonicalURL, a.GetUrl())); err == nil && c != a.GetCanonicalUrl() {
		// The page names its canonical address: the article's identity
		// follows it, under the same canonical rule as the fetcher's, so
		// two links to one story become one article.
		a.CanonicalUrl = c
		a.Id = newsflowv1.ArticleID(c)
	}
	// The raw page stays in the fetched stream for replay; later stages
	// need only the text, so it is not carried on.
	a.Fetch.Body, a.Fetch.BodyEncoding = nil, ""
	return a, nil
}

// sameSiteCanonical returns the page's declared canonical URL, without its
// fragment, if it is http(s) on the same host as the fetched URL ("www."
// aside); otherwise "". A page cannot claim another site's identity.
func sameSiteCanonical(canonical, fetched string) string {
	c, err := url.Parse(canonical)
	if err != nil || (c.Scheme != "http" && c.Scheme != "https") || c.Host == "" {
		return ""
	}
	f, err := url.Parse(fetched)
	if err != nil {
		return ""
	}
	site := func(u *url.URL) string { return strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.") }
	if site(c) != site(f) {
		return ""
	}
	c.Fragment, c.RawFragment = "", ""
	return c.String()
}
