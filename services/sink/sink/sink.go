// Package sink is the sink stage: it stores tagged articles idempotently and
// serves the query API.
package sink

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/services/sink/api"
	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/stage"
)

// Name is the stage name.
const Name = "sink"

// Config is the sink's own configuration.
type Config struct {
	// Store names the database: "sqlite:PATH".
	Store string
}

// DefaultConfig returns the defaults of the sink's flags.
func DefaultConfig() Config { return Config{Store: "sqlite:newsflow.db"} }

// RegisterFlags registers the sink's flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Store, "store", c.Store, "article store: sqlite:`PATH`")
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	if _, err := c.SQLitePath(); err != nil {
		return fmt.Errorf("-store: %w", err)
	}
	return nil
}

// SQLitePath returns the database file named by Store.
func (c Config) SQLitePath() (string, error) {
	path, ok := strings.CutPrefix(c.Store, "sqlite:")
	if !ok || path == "" {
		return "", fmt.Errorf("want sqlite:PATH, got %q", c.Store)
	}
	return path, nil
}

// Open opens the configured store.
func (c Config) Open(ctx context.Context) (*store.Store, error) {
	path, err := c.SQLitePath()
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, path)
}

// OpenExisting opens the configured store for reading; unlike Open it does
// not create a missing database.
func (c Config) OpenExisting(ctx context.Context) (*store.Store, error) {
	path, err := c.SQLitePath()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return store.Open(ctx, path)
}

// Sink is the stage's handler.
type Sink struct {
	st *store.Store
	m  *metrics
}

// New builds the handler over st, registering its metrics on reg.
func New(st *store.Store, reg prometheus.Registerer) *Sink {
	return &Sink{st: st, m: newMetrics(reg)}
}

// Run opens the store, serves the API on the runtime's HTTP mux and stores
// tagged articles until ctx ends.
func Run(ctx context.Context, rt *stage.Runtime, cfg Config) error {
	st, err := cfg.Open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	rt.Health().Add("sink/store", st.Ping)
	rt.Handle("/api/", api.New(st))
	s := New(st, rt.Telemetry().Registry)
	return rt.Consume(ctx, stage.SubjectTagged, "", s.Handle)
}

// Handle stores one article. A store error is retried unless the store
// says it is permanent; a redelivery of a stored version is a duplicate.
func (s *Sink) Handle(ctx context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
	rec := Record(a)
	outcome, err := s.st.Upsert(ctx, rec)
	if err != nil {
		s.m.storeErrors.Inc()
		if store.Transient(err) {
			return nil, fmt.Errorf("store article %s: %w", a.GetId(), err)
		}
		return nil, stage.Permanent("store", fmt.Errorf("store article %s: %w", a.GetId(), err))
	}
	switch outcome {
	case store.Unchanged:
		s.m.rows.WithLabelValues("duplicate").Inc()
		return nil, stage.ErrDuplicate
	case store.Stale:
		s.m.rows.WithLabelValues("stale").Inc()
		return nil, stage.ErrDuplicate
	}
	s.m.rows.WithLabelValues(outcome.String()).Inc()
	now := time.Now()
	if f := a.GetFetch().GetFetchedAt(); f.IsValid() {
		s.m.fetchToStored.Observe(now.Sub(f.AsTime()).Seconds())
	}
	if p := published(a); !p.IsZero() {
		s.m.freshness.Observe(now.Sub(p).Seconds())
	}
	return nil, nil
}

// Record converts an article message into the store's form.
func Record(a *newsflowv1.Article) *store.Article {
	n, t := a.GetNormalized(), a.GetTagged()
	rec := &store.Article{
		ID:           a.GetId(),
		URL:          a.GetUrl(),
		CanonicalURL: a.GetCanonicalUrl(),
		Feed:         a.GetFeed(),
		Source:       a.GetSource(),
		ContentHash:  a.GetContentHash(),
		Title:        n.GetTitle(),
		Byline:       n.GetByline(),
		Language:     t.GetLanguage(),
		Text:         n.GetText(),
	}
	if rec.Title == "" {
		rec.Title = a.GetFetch().GetFeedTitle()
	}
	if p := published(a); !p.IsZero() {
		rec.Published = &p
	}
	if f := a.GetFetch().GetFetchedAt(); f.IsValid() {
		rec.FetchedAt = f.AsTime()
	}
	for _, tp := range t.GetTopics() {
		rec.Topics = append(rec.Topics, store.Topic{Code: tp.GetCode(), Label: tp.GetLabel(), Score: float64(tp.GetScore()), Level: int(tp.GetLevel())})
	}
	for _, k := range t.GetKeywords() {
		rec.Keywords = append(rec.Keywords, k.GetTerm())
	}
	return rec
}

// published is when the article was published: the page's own date, else
// the feed's.
func published(a *newsflowv1.Article) time.Time {
	if p := a.GetNormalized().GetPublishedAt(); p.IsValid() {
		return p.AsTime()
	}
	if p := a.GetFetch().GetFeedPublishedAt(); p.IsValid() {
		return p.AsTime()
	}
	return time.Time{}
}
