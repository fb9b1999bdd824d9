// Package tagger is the tagger stage: language, IPTC Media Topics and
// keywords for each normalized article (package tag does the work).
package tagger

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/services/tagger/tag"
	"github.com/newsflow/newsflow/services/tagger/topic"
	"github.com/newsflow/newsflow/stage"
)

// Name is the stage name.
const Name = "tagger"

// Config is the tagger's own configuration.
type Config struct {
	// ModelFile replaces the built-in topic model.
	ModelFile string
}

// RegisterFlags registers the tagger's flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.ModelFile, "model", c.ModelFile, "topic model `file`, e.g. from newsflow tagger train (default: the built-in IPTC Media Topics model)")
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	if c.ModelFile != "" {
		if _, err := os.Stat(c.ModelFile); err != nil {
			return fmt.Errorf("-model: %w", err)
		}
	}
	return nil
}

// Tagger builds the tagger this configuration describes; the CLI's tag
// command uses it too.
func (c Config) Tagger() (*tag.Tagger, error) {
	m, err := c.Model()
	if err != nil {
		return nil, err
	}
	return tag.New(m), nil
}

// Model loads the topic model this configuration names.
func (c Config) Model() (*topic.Model, error) {
	if c.ModelFile == "" {
		return topic.Default(), nil
	}
	f, err := os.Open(c.ModelFile)
	if err != nil {
		return nil, fmt.Errorf("open topic model: %w", err)
	}
	defer f.Close()
	m, err := topic.Load(f)
	if err != nil {
		return nil, fmt.Errorf("load topic model %s: %w", c.ModelFile, err)
	}
	return m, nil
}

// Stage is the tagger's handler.
type Stage struct {
	t      *tag.Tagger
	topics *prometheus.CounterVec
}

// New builds the handler, registering its metrics on rt's registry.
func New(cfg Config, rt *stage.Runtime) (*Stage, error) {
	t, err := cfg.Tagger()
	if err != nil {
		return nil, err
	}
	topics := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "newsflow", Name: "tags_assigned_total",
		Help: "Topics assigned to articles, by IPTC Media Topic label (top-level topics only).",
	}, []string{"topic"})
	if err := rt.Telemetry().Registry.Register(topics); err != nil {
		return nil, fmt.Errorf("register tagger metrics: %w", err)
	}
	return &Stage{t: t, topics: topics}, nil
}

// Run consumes normalized articles and publishes tagged ones until ctx ends.
func Run(ctx context.Context, rt *stage.Runtime, cfg Config) error {
	s, err := New(cfg, rt)
	if err != nil {
		return err
	}
	return rt.Consume(ctx, stage.SubjectNormalized, stage.SubjectTagged, s.Handle)
}

// Handle tags one article.
func (s *Stage) Handle(_ context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
	n := a.GetNormalized()
	if strings.TrimSpace(n.GetText()) == "" {
		return nil, stage.Permanent("no_text", errors.New("article has no normalized text"))
	}
	res := s.t.Tag(n.GetTitle(), n.GetText())
	a.Tagged = Tagged(res)
	if a.Tagged.Language == "und" && n.GetLanguage() != "" {
		// Too little text to tell: trust what the page declared.
		a.Tagged.Language = n.GetLanguage()
	}
	for _, tp := range a.Tagged.Topics {
		if tp.Level == 1 {
			s.topics.WithLabelValues(tp.Label).Inc()
		}
	}
	return a, nil
}

// Tagged converts a tagging result into its message form.
func Tagged(res tag.Result) *newsflowv1.Tagged {
	out := &newsflowv1.Tagged{Language: res.Language, LanguageConfidence: float32(res.LanguageConfidence)}
	for _, tp := range res.Topics {
		out.Topics = append(out.Topics, &newsflowv1.Topic{Code: tp.Code, Label: tp.Label, Score: float32(tp.Score), Level: int32(tp.Level)})
	}
	for _, k := range res.Keywords {
		out.Keywords = append(out.Keywords, &newsflowv1.Keyword{Term: k.Term, Score: float32(k.Score)})
	}
	return out
}
