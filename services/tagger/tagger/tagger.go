// Package tagger is the tagger stage: language, IPTC Media Topics,
// entities, keywords and content signature for each normalized article
// (package tag does the work), and its place among recent articles
// (package story, shared by the replicas through a stream: stories.go).
package tagger

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/services/tagger/story"
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
	// StoryWindow is how far apart two articles may be and still group;
	// it is also the age limit of the story stream.
	StoryWindow time.Duration
	// StoryMax bounds the records the story index holds (about 1.6 KB of heap each).
	StoryMax int
}

// DefaultConfig returns the defaults of the tagger's flags.
func DefaultConfig() Config {
	return Config{StoryWindow: 72 * time.Hour, StoryMax: 10000}
}

// RegisterFlags registers the tagger's flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.ModelFile, "model", c.ModelFile, "topic model `file`, e.g. from newsflow tagger train (default: the built-in IPTC Media Topics model)")
	fs.DurationVar(&c.StoryWindow, "story-window", c.StoryWindow, "how far apart in time two articles may be and still be grouped (duplicates, derived articles, stories)")
	fs.IntVar(&c.StoryMax, "story-max", c.StoryMax, "articles the story index holds at most (about 1.6 KB of heap each); the oldest go first")
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var p stage.Problems
	if c.ModelFile != "" {
		if _, err := os.Stat(c.ModelFile); err != nil {
			p.Add("model", "%v", err)
		}
	}
	if c.StoryWindow < 0 {
		p.Add("story-window", "must not be negative")
	}
	if c.StoryMax < 0 {
		p.Add("story-max", "must not be negative")
	}
	return p.Err()
}

// StoryConfig is the grouping configuration with this config's limits.
func (c Config) StoryConfig() story.Config {
	sc := story.DefaultConfig()
	if c.StoryWindow > 0 {
		sc.Window = c.StoryWindow
	}
	if c.StoryMax > 0 {
		sc.MaxRecords = c.StoryMax
	}
	return sc
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

// Stamp names what makes the tagger's output under c (see stage.Stamp): the
// build and the topic model's content. A retrained model gives a new stamp.
func (c Config) Stamp() (string, error) {
	model := topic.DefaultText()
	if c.ModelFile != "" {
		var err error
		if model, err = os.ReadFile(c.ModelFile); err != nil {
			return "", fmt.Errorf("read topic model: %w", err)
		}
	}
	return stage.Stamp(model), nil
}

// Stage is the tagger's handler.
type Stage struct {
	t       *tag.Tagger
	recent  *recentResults // the last results, for relinks (recent.go)
	m       *metrics
	index   *story.Index
	stories *storyStream // nil: records are not shared (tests)
	relinks *relinker    // nil: stale links are not sent again (tests)
}

// New builds the handler, registering its metrics on rt's registry.
func New(cfg Config, rt *stage.Runtime) (*Stage, error) {
	t, err := cfg.Tagger()
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(rt.Telemetry().Registry)
	if err != nil {
		return nil, err
	}
	return &Stage{t: t, recent: newRecentResults(recentTagged), m: m, index: story.New(cfg.StoryConfig())}, nil
}

// Run consumes normalized articles and publishes tagged ones until ctx ends.
// It first replays the story stream into the index.
func Run(ctx context.Context, rt *stage.Runtime, cfg Config) error {
	s, err := New(cfg, rt)
	if err != nil {
		return err
	}
	v, err := cfg.Stamp()
	if err != nil {
		return err
	}
	rt.SetVersion(v)
	rc := rt.Config()
	top := stage.StageTopology(Name)
	s.relinks = newRelinker(rt.JetStream(), top.Input, uuid.NewString(), func(o string) { s.m.relinks.WithLabelValues(o).Inc() },
		func(n int) { s.m.relinksPending.Set(float64(n)) }, rt.Logger())
	go s.relinks.run(ctx, func(ctx context.Context) bool {
		// Caught up: few messages left for the tagger's consumer and for
		// the sink's (a relink costs the sink a write, and the sink is
		// the slower).
		for _, c := range []struct{ input, name string }{{top.Input, Name}, {top.Output, stage.ConsumerOf(top.Output)}} {
			if c.name == "" {
				continue
			}
			cons, err := rt.JetStream().Consumer(ctx, stage.StreamFor(c.input), c.name)
			if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrStreamNotFound) {
				continue // no sink yet: nothing to wait for
			}
			if err != nil {
				return false
			}
			info, err := cons.Info(ctx)
			if err != nil || info.NumPending+uint64(info.NumAckPending) >= relinkIdleBelow {
				return false
			}
		}
		return true
	})
	s.stories, err = openStories(ctx, rt.JetStream(), s.index, cfg.StoryConfig().Window, rc.StreamReplicas, rc.DuplicateWindow, rt.Logger(), s.m.badRecords.Inc, s.relinkLater)
	if err != nil {
		return err
	}
	defer s.stories.stop()
	return rt.Consume(ctx, top.Input, top.Output, s.Handle)
}

// Handle tags one article and places it among the recent ones.
func (s *Stage) Handle(ctx context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
	n := a.GetNormalized()
	if strings.TrimSpace(n.GetText()) == "" {
		return nil, stage.Permanent("no_text", errors.New("article has no normalized text"))
	}
	from, relink := relinkedFrom(a.GetReplay())
	if relink {
		if ref, held := s.index.Ref(a.GetId()); held && ref > from {
			// A later message of the article (a replay, a new version)
			// came through since this relink was read: it is newer, and
			// it was linked with what the relink would bring.
			s.m.relinks.WithLabelValues(relinkSuperseded).Inc()
			return nil, nil
		}
	}
	res, reused := s.recent.tag(s.t, relink, n.GetTitle(), n.GetText())
	switch {
	case relink && reused:
		s.m.relinkTagging.WithLabelValues("reused").Inc()
	case relink:
		s.m.relinkTagging.WithLabelValues("tagged").Inc()
	}
	a.Tagged = Tagged(res)
	if a.GetId() != "" && res.Signature.Size > 0 {
		r, stale := s.index.Assign(story.Record{ID: a.GetId(), Time: articleTime(a), Sig: res.Signature, Features: res.Features(), Ref: stage.InputSeq(ctx)})
		if s.stories != nil {
			if err := s.stories.publish(ctx, r, a.GetContentHash()); err != nil {
				return nil, err // transient: retried, and the index keeps the link
			}
		}
		if s.relinks != nil {
			// Sent once the tagger has caught up (see relink.go), well
			// after the record is out: the replica handling a relinked
			// article holds it.
			s.relinks.queue(stale)
		}
		l := r.Link
		a.Tagged.Story = &newsflowv1.Story{Id: l.Story, DuplicateOf: l.DuplicateOf, DerivedFrom: l.DerivedFrom, Overlap: float32(l.Overlap)}
		s.m.links.WithLabelValues(linkKind(l, a.GetId())).Inc()
	}
	if a.Tagged.Language == "und" && n.GetLanguage() != "" {
		// Too little text to tell: trust what the page declared.
		a.Tagged.Language = n.GetLanguage()
	}
	for _, tp := range a.Tagged.Topics {
		if tp.Level == 1 {
			s.m.topics.WithLabelValues(tp.Label).Inc()
		}
	}
	return a, nil
}

// relinkLater queues the relinks a record from the story stream (another
// replica's, or this one's linked anew) makes stale.
func (s *Stage) relinkLater(stale []story.Stale) {
	if s.relinks != nil {
		s.relinks.queue(stale)
	}
}

// articleTime is when the article appeared: its publication time, else
// when it was fetched, else now.
func articleTime(a *newsflowv1.Article) time.Time {
	now := time.Now()
	if p := a.GetNormalized().GetPublishedAt(); p.IsValid() && p.AsTime().Before(now.Add(time.Hour)) {
		return p.AsTime()
	}
	if f := a.GetFetch().GetFetchedAt(); f.IsValid() {
		return f.AsTime()
	}
	return now
}

func linkKind(l story.Link, id string) string {
	switch {
	case l.DuplicateOf != "":
		return "duplicate"
	case l.DerivedFrom != "":
		return "derived"
	case l.Story == id:
		return "new_story"
	}
	return "same_story"
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
	for _, e := range res.Entities {
		out.Entities = append(out.Entities, &newsflowv1.Entity{Name: e.Name, Type: e.Type, Subtype: e.Subtype, Mentions: int32(e.Mentions), Aliases: e.Aliases})
	}
	if res.Signature.Size > 0 {
		out.Signature = &newsflowv1.Signature{Simhash: res.Signature.SimHash, Minhash: res.Signature.MinHash}
	}
	return out
}
