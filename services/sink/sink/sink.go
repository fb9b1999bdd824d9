// Package sink is the sink stage: it stores tagged articles idempotently and
// serves the query API.
package sink

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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
	// Store names the database: "sqlite:PATH" or a postgres:// URL.
	Store string
	// BatchSize and BatchWait bound one write transaction: at most
	// BatchSize articles, gathered for at most BatchWait.
	BatchSize int
	BatchWait time.Duration
	// BatchEvery spaces the write batches while articles keep coming
	// (stage.Batch.Every); 0 writes each batch once articles pause.
	BatchEvery time.Duration
	// MaxAge, when positive, is how long articles are kept (by publication
	// time); older ones are deleted every PruneEvery, PruneBatch at a time.
	MaxAge     time.Duration
	PruneEvery time.Duration
	PruneBatch int
	// API bounds the query API's concurrency and time per request.
	API api.Limits
	// APIToken and APITokenFile give the bearer tokens the API asks for
	// (none: open); RateLimit and RateBurst bound each client's requests.
	APIToken, APITokenFile string
	// AdminToken and AdminTokenFile give the tokens of the admin API (the
	// dead letters); none: the admin API is off.
	AdminToken, AdminTokenFile string
	RateLimit                  float64
	RateBurst                  int
}

// DefaultConfig returns the defaults of the sink's flags.
func DefaultConfig() Config {
	return Config{Store: "sqlite:newsflow.db", BatchSize: 100, BatchWait: 100 * time.Millisecond,
		PruneEvery: time.Hour, PruneBatch: 1000, API: api.DefaultLimits(),
		RateLimit: 20, RateBurst: 40}
}

// RegisterFlags registers the sink's flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Store, "store", c.Store, "article store: sqlite:`PATH` or postgres://user:pass@host:port/db")
	fs.IntVar(&c.BatchSize, "store-batch", c.BatchSize, "most articles written in one store transaction")
	fs.DurationVar(&c.BatchWait, "store-batch-wait", c.BatchWait, "longest a write batch waits to fill")
	fs.DurationVar(&c.BatchEvery, "store-batch-every", c.BatchEvery, "least time between two write batches of one writer while articles keep coming (0: write once they pause)")
	fs.DurationVar(&c.MaxAge, "store-max-age", c.MaxAge, "delete articles published longer ago than this (0: keep all)")
	fs.DurationVar(&c.PruneEvery, "store-prune-every", c.PruneEvery, "how often retention runs")
	fs.IntVar(&c.PruneBatch, "store-prune-batch", c.PruneBatch, "most articles deleted in one retention transaction")
	fs.IntVar(&c.API.Queries, "api-max-queries", c.API.Queries, "most API requests served at once; more get 503 at once")
	fs.IntVar(&c.API.Searches, "api-max-searches", c.API.Searches, "most full-text searches (q) served at once; more get 503 at once")
	fs.DurationVar(&c.API.Timeout, "api-timeout", c.API.Timeout, "time limit of one API request's queries (503 past it)")
	fs.StringVar(&c.APIToken, "api-token", c.APIToken, "bearer `token` the API asks for (empty, and no -api-token-file: the API is open)")
	fs.StringVar(&c.APITokenFile, "api-token-file", c.APITokenFile, "`file` of bearer tokens the API accepts, one a line (a mounted Secret)")
	fs.StringVar(&c.AdminToken, "admin-token", c.AdminToken, "bearer `token` of the admin API (/api/v1/admin/: dead letters); none, and no -admin-token-file: the admin API is off")
	fs.StringVar(&c.AdminTokenFile, "admin-token-file", c.AdminTokenFile, "`file` of admin API tokens, one a line (a mounted Secret)")
	fs.Float64Var(&c.RateLimit, "rate-limit", c.RateLimit, "API requests a second allowed per client (token or address); 0: unlimited")
	fs.IntVar(&c.RateBurst, "rate-burst", c.RateBurst, "API requests a client may send at once above -rate-limit")
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var p stage.Problems
	bad := p.Add
	if strings.HasPrefix(c.Store, "sqlite:") {
		if path, err := c.SQLitePath(); err != nil {
			bad("store", "%v", err)
		} else if err := usableFile(path); err != nil {
			bad("store", "%v", err)
		}
	} else if !store.IsPostgres(c.Store) {
		bad("store", "want sqlite:PATH or postgres://…, got %q", store.Redact(c.Store))
	}
	if c.BatchSize < 1 || c.BatchSize > 10_000 {
		bad("store-batch", "want 1 to 10000, got %d", c.BatchSize)
	}
	if c.BatchWait <= 0 {
		bad("store-batch-wait", "want a positive duration, got %s", c.BatchWait)
	}
	if c.BatchEvery < 0 || c.BatchEvery > c.BatchWait {
		bad("store-batch-every", "want 0 to -store-batch-wait (%s), got %s", c.BatchWait, c.BatchEvery)
	}
	if c.MaxAge < 0 {
		bad("store-max-age", "want 0 (keep all) or a positive duration, got %s", c.MaxAge)
	}
	if c.MaxAge > 0 && c.PruneEvery <= 0 {
		bad("store-prune-every", "want a positive duration, got %s", c.PruneEvery)
	}
	if c.MaxAge > 0 && c.PruneBatch < 1 {
		bad("store-prune-batch", "want at least 1, got %d", c.PruneBatch)
	}
	if c.API.Queries < 1 {
		bad("api-max-queries", "want at least 1, got %d", c.API.Queries)
	}
	if c.API.Searches < 1 || c.API.Searches > c.API.Queries {
		bad("api-max-searches", "want 1 to -api-max-queries (%d), got %d", c.API.Queries, c.API.Searches)
	}
	if _, err := stage.LoadTokens(c.APIToken, c.APITokenFile); err != nil {
		bad("api-token-file", "%v", err)
	}
	if _, err := stage.LoadTokens(c.AdminToken, c.AdminTokenFile); err != nil {
		bad("admin-token-file", "%v", err)
	}
	if c.RateLimit < 0 {
		bad("rate-limit", "want 0 (unlimited) or a positive rate, got %g", c.RateLimit)
	}
	if c.RateLimit > 0 && c.RateBurst < 1 {
		bad("rate-burst", "want at least 1, got %d", c.RateBurst)
	}
	if c.API.Timeout <= 0 {
		bad("api-timeout", "want a positive duration, got %s", c.API.Timeout)
	}
	return p.Err()
}

// withDefaults fills the zero fields of a Config built in code (rather than
// from flags) with DefaultConfig's values.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.BatchSize == 0 {
		c.BatchSize = d.BatchSize
	}
	if c.BatchWait == 0 {
		c.BatchWait = d.BatchWait
	}
	if c.PruneEvery == 0 {
		c.PruneEvery = d.PruneEvery
	}
	if c.PruneBatch == 0 {
		c.PruneBatch = d.PruneBatch
	}
	if c.API == (api.Limits{}) {
		c.API = d.API
	}
	return c
}

// usableFile reports why a SQLite database can never be at path: a
// directory there, or a file where a directory of its path should be.
// Such a store would otherwise be retried forever as if it were down. (A
// missing directory is created when the store opens.)
func usableFile(path string) error {
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory, not a database file", path)
	}
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err == nil {
			if !fi.IsDir() {
				return fmt.Errorf("cannot create %s: %s is not a directory", path, dir)
			}
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("cannot create %s: %w", path, err)
		}
		if parent := filepath.Dir(dir); parent == dir {
			return nil
		}
	}
}

// SQLitePath returns the database file named by Store.
func (c Config) SQLitePath() (string, error) {
	path, ok := strings.CutPrefix(c.Store, "sqlite:")
	if !ok || path == "" {
		return "", fmt.Errorf("want sqlite:PATH, got %q", store.Redact(c.Store))
	}
	return path, nil
}

// Open opens the configured store.
func (c Config) Open(ctx context.Context) (*store.Store, error) {
	return store.OpenDSN(ctx, c.Store)
}

// OpenExisting opens the configured store for reading only: unlike Open it
// creates no file, table or migration, and it refuses a database without
// newsflow's schema (store.ErrNotNewsflow).
func (c Config) OpenExisting(ctx context.Context) (*store.Store, error) {
	return store.OpenReadOnly(ctx, c.Store)
}

// Sink is the stage's handler.
type Sink struct {
	st     *store.Store
	m      *metrics
	report func(error) // the store's readiness
}

// New builds the handler over st, registering its metrics on reg.
func New(st *store.Store, reg prometheus.Registerer) (*Sink, error) {
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	m.up.Set(1)
	return &Sink{st: st, m: m, report: func(error) {}}, nil
}

// Run opens the store (waiting while it is unreachable), serves the API on
// the runtime's HTTP mux and stores tagged articles in batches until ctx
// ends. While the store is down the sink naks what it receives, reports
// not ready and store_up 0, and resumes by itself when the store is back.
func Run(ctx context.Context, rt *stage.Runtime, cfg Config) error {
	cfg = cfg.withDefaults()
	report := rt.Health().Status("sink/store")
	st, err := openWaiting(ctx, rt, cfg, report)
	if err != nil {
		return err
	}
	defer st.Close()
	rt.Health().Add("sink/store-ping", st.Ping)
	tokens, err := stage.LoadTokens(cfg.APIToken, cfg.APITokenFile)
	if err != nil {
		return err
	}
	access := stage.Access{Tokens: tokens, Rate: cfg.RateLimit, Burst: cfg.RateBurst}
	rt.Handle("/api/", access.Guard(api.New(st, api.WithLogger(rt.Logger()), api.WithLimits(cfg.API))))
	rt.Handle("GET /openapi.json", api.OpenAPI())
	admin, err := stage.LoadTokens(cfg.AdminToken, cfg.AdminTokenFile)
	if err != nil {
		return err
	}
	rt.Handle("/api/v1/admin/", adminHandler(rt, admin, access))
	s, err := New(st, rt.Telemetry().Registry)
	if err != nil {
		return err
	}
	s.report = report
	// The helpers stop when Run returns, before the store closes.
	var wg sync.WaitGroup
	defer wg.Wait()
	hctx, stopHelpers := context.WithCancel(ctx)
	defer stopHelpers()
	if cfg.MaxAge > 0 {
		wg.Go(func() { s.prune(hctx, rt.Logger(), cfg) })
	}
	wg.Go(func() { s.countDeadLetters(hctx, rt) })
	b := stage.Batch{Size: cfg.BatchSize, Wait: cfg.BatchWait, Every: cfg.BatchEvery}
	if st.Engine() == "sqlite" {
		// One writer: one batch at a time, gathering what came while
		// the last was written. With -workers 4 the workers split the
		// stream into small batches that waited for each other, and in
		// TestLoad's distributed run commits were a third of the sink's
		// CPU.
		b.Writers = 1
	}
	return rt.ConsumeBatch(ctx, stage.StageTopology(Name).Input, b, s.HandleBatch)
}

// openWaiting opens the store, retrying with a growing delay while the
// failure is transient (the database not up yet).
func openWaiting(ctx context.Context, rt *stage.Runtime, cfg Config, report func(error)) (*store.Store, error) {
	for attempt := 1; ; attempt++ {
		st, err := cfg.Open(ctx)
		if err == nil || !store.Transient(err) || ctx.Err() != nil {
			report(err)
			return st, err
		}
		report(err)
		delay := min(time.Duration(attempt)*time.Second, 30*time.Second)
		rt.Logger().Warn("store unreachable; retrying", "error", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(delay):
		}
	}
}

// prune deletes articles older than cfg.MaxAge every cfg.PruneEvery.
func (s *Sink) prune(ctx context.Context, log *slog.Logger, cfg Config) {
	t := time.NewTicker(cfg.PruneEvery)
	defer t.Stop()
	for {
		n, err := s.st.DeleteOlderThan(ctx, time.Now().Add(-cfg.MaxAge), cfg.PruneBatch)
		s.m.deleted.Add(float64(n))
		if err != nil && ctx.Err() == nil {
			log.Warn("retention", "error", err, "deleted", n)
		} else if n > 0 {
			log.Info("retention", "deleted", n, "max_age", cfg.MaxAge)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Handle stores one article: HandleBatch of one.
func (s *Sink) Handle(ctx context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
	return nil, s.HandleBatch(ctx, []*newsflowv1.Article{a})[0]
}

// HandleBatch stores articles in one transaction and returns what the
// runtime should do with each: nil (stored: ack), stage.ErrDuplicate
// (already stored: ack), a permanent error (an article the store rejects:
// dead-letter) or stage.ErrUnavailable (the store is unreachable: the
// runtime holds the batch and tries it again until the store is back,
// without spending the articles' delivery budget). When the batch fails for a reason of one of its articles, each is
// written alone so that one bad article does not hold back the others.
func (s *Sink) HandleBatch(ctx context.Context, as []*newsflowv1.Article) []error {
	recs := make([]*store.Article, len(as))
	for i, a := range as {
		recs[i] = Record(a)
	}
	errs := make([]error, len(as))
	start := time.Now()
	res, err := s.st.UpsertBatch(ctx, recs)
	s.m.batchSize.Observe(float64(len(as)))
	s.m.commit.Observe(time.Since(start).Seconds())
	switch {
	case err != nil && store.Transient(err):
		s.m.storeErrors.Inc()
		s.m.up.Set(0)
		s.report(err)
		for i, a := range as {
			errs[i] = stage.Unavailable(fmt.Errorf("store article %s: %w", a.GetId(), err))
		}
		return errs
	case err != nil && len(as) > 1:
		s.m.storeErrors.Inc()
		for i := range as {
			errs[i] = s.HandleBatch(ctx, as[i:i+1])[0]
		}
		return errs
	case err != nil:
		s.m.storeErrors.Inc()
		return []error{stage.Permanent("store", fmt.Errorf("store article %s: %w", as[0].GetId(), err))}
	}
	s.m.up.Set(1)
	s.report(nil)
	now := time.Now()
	for i, r := range res {
		a := as[i]
		switch r.Outcome {
		case 0:
			s.m.storeErrors.Inc()
			errs[i] = stage.Permanent("store", fmt.Errorf("store article %s: %w", a.GetId(), r.Err))
			continue
		case store.Unchanged, store.Stale:
			label := "duplicate"
			if r.Outcome == store.Stale {
				label = "stale"
			}
			s.m.rows.WithLabelValues(label).Inc()
			s.m.duplicates.Inc()
			errs[i] = stage.ErrDuplicate
			continue
		}
		s.m.rows.WithLabelValues(r.Outcome.String()).Inc()
		if a.GetReplay() != "" {
			// A replay or a story relink stores an article fetched long
			// ago again: not the pipeline's latency, nor its freshness.
			continue
		}
		if f := a.GetFetch().GetFetchedAt(); f.IsValid() {
			s.m.fetchToStored.Observe(now.Sub(f.AsTime()).Seconds())
		}
		if p := published(a); !p.IsZero() {
			s.m.freshness.Observe(now.Sub(p).Seconds())
		}
	}
	return errs
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
	rec.Entities = entities(t.GetEntities())
	for _, sp := range a.GetTrace() {
		// Each stage's last span names what made its part.
		switch sp.GetStage() {
		case "normalizer":
			rec.MadeBy.Normalizer = sp.GetVersion()
		case "tagger":
			rec.MadeBy.Tagger = sp.GetVersion()
		}
	}
	if st := t.GetStory(); st != nil {
		story := store.Story{ID: st.GetId(), DuplicateOf: st.GetDuplicateOf(), DerivedFrom: st.GetDerivedFrom(), Overlap: float64(st.GetOverlap())}
		if story != (store.Story{}) {
			rec.Story = &story
		}
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

// entities converts the tagger's entities, merging two that differ only in
// the case of their name (the store keys entities by name and type, case
// insensitively) and dropping nameless ones.
func entities(es []*newsflowv1.Entity) []store.Entity {
	var out []store.Entity
	index := map[string]int{}
	for _, e := range es {
		name := strings.TrimSpace(e.GetName())
		if name == "" {
			continue
		}
		k := strings.ToLower(name) + "\x00" + e.GetType()
		if i, ok := index[k]; ok {
			out[i].Mentions += int(e.GetMentions())
			for _, al := range e.GetAliases() {
				if !slices.Contains(out[i].Aliases, al) {
					out[i].Aliases = append(out[i].Aliases, al)
				}
			}
			continue
		}
		index[k] = len(out)
		out = append(out, store.Entity{Name: name, Type: e.GetType(), Subtype: e.GetSubtype(),
			Mentions: int(e.GetMentions()), Aliases: append([]string{}, e.GetAliases()...)})
	}
	return out
}

// adminHandler serves the admin API behind the admin tokens, with the API's
// rate limit; without admin tokens it answers that the admin API is off.
func adminHandler(rt *stage.Runtime, tokens []string, access stage.Access) http.Handler {
	if len(tokens) == 0 {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			reply(w, http.StatusNotFound, map[string]string{"error": "the admin API is off: start the sink with -admin-token-file"})
		})
	}
	mux := http.NewServeMux()
	deadLetterAPI{js: rt.JetStream()}.routes(mux)
	access.Tokens = tokens
	return access.Guard(mux)
}
