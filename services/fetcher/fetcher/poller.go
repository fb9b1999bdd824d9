// Package fetcher is the fetcher stage's logic, independent of transport:
// poll feeds, fetch the articles they list that were not seen before,
// publish each one, and ingest local files.
package fetcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/newsflow/newsflow/services/fetcher/canon"
	"github.com/newsflow/newsflow/services/fetcher/feed"
	"github.com/newsflow/newsflow/services/fetcher/page"
)

// SeenSet remembers canonical URLs already published; *seen.Set is the
// production one.
type SeenSet interface {
	Has(ctx context.Context, canonicalURL string) (bool, error)
	Add(ctx context.Context, canonicalURL string) error
}

// Config configures a Poller.
type Config struct {
	Feeds []string
	// Interval between the starts of two polls (default 15m).
	Interval time.Duration
	// Concurrency bounds feeds fetched at once, and separately pages
	// fetched at once (default 4).
	Concurrency int
	// Metrics (default: unregistered metrics).
	Metrics *Metrics
	// FeedStates keeps validators for conditional GETs (default in memory).
	FeedStates FeedStates
}

const (
	defaultInterval    = 15 * time.Minute
	defaultConcurrency = 4
)

// Validate reports every problem in the configuration at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.Feeds) == 0 {
		errs = append(errs, errors.New("no feeds"))
	}
	for _, f := range c.Feeds {
		if _, err := canon.URL(f); err != nil {
			errs = append(errs, fmt.Errorf("feed: %w", err))
		}
	}
	if c.Interval < 0 {
		errs = append(errs, fmt.Errorf("interval %v is negative", c.Interval))
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency %d is negative", c.Concurrency))
	}
	return errors.Join(errs...)
}

// Poller polls feeds and publishes the new articles they list.
type Poller struct {
	cfg    Config
	client *page.Client
	seen   SeenSet
	pub    Publisher
	log    *slog.Logger
}

// NewPoller returns a poller; zero Config fields take their defaults. A nil
// log discards.
func NewPoller(cfg Config, client *page.Client, seen SeenSet, pub Publisher, log *slog.Logger) *Poller {
	if cfg.Interval <= 0 {
		cfg.Interval = defaultInterval
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = defaultConcurrency
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	if cfg.FeedStates == nil {
		cfg.FeedStates = NewMemoryFeedStates()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Poller{cfg: cfg, client: client, seen: seen, pub: pub, log: log}
}

// Run polls every feed every Interval until ctx ends, then returns nil
// once the poll in progress has stopped.
func (p *Poller) Run(ctx context.Context) error {
	for {
		start := time.Now()
		stats, _ := p.PollOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		p.log.Info("poll done", slog.Any("stats", stats), slog.Duration("took", time.Since(start)))
		timer := time.NewTimer(p.cfg.Interval - time.Since(start))
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
	}
}

// PollOnce polls each feed once, fetches and publishes every new item, and
// returns when all are published. Failures are counted in Stats and logged,
// not returned; the error is ctx's, when it ended during the poll.
func (p *Poller) PollOnce(ctx context.Context) (Stats, error) {
	run := &pollRun{Poller: p, jobs: make(chan *itemJob), queued: map[string]bool{}}
	var workers, feeds sync.WaitGroup
	for range p.cfg.Concurrency {
		workers.Go(func() {
			for job := range run.jobs {
				run.fetchItem(ctx, job)
			}
		})
	}
	slots := make(chan struct{}, p.cfg.Concurrency)
	for _, feedURL := range p.cfg.Feeds {
		feeds.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			run.pollFeed(ctx, feedURL)
		})
	}
	feeds.Wait()
	close(run.jobs)
	workers.Wait()
	return run.counter.stats(), ctx.Err()
}

// pollRun is the state of one PollOnce.
type pollRun struct {
	*Poller
	counter counter
	jobs    chan *itemJob

	mu     sync.Mutex
	queued map[string]bool // canonical URLs queued in this poll, from any feed
}

type itemJob struct {
	feedURL   string
	item      feed.Item
	canonical string
	done      func(retry bool)
}

// pollFeed fetches and parses one feed and queues its new items. The feed's
// validators are saved only when no item needs a retry: otherwise the next
// poll would get a 304 and never see those items again.
func (r *pollRun) pollFeed(ctx context.Context, feedURL string) {
	log := r.log.With(slog.String("feed", feedURL))
	state, err := r.cfg.FeedStates.Get(ctx, feedURL)
	if err != nil {
		log.Warn("load feed state", slog.Any("error", err)) // poll unconditionally
	}
	resp, err := r.client.Get(ctx, feedURL, page.Conditional{ETag: state.ETag, LastModified: state.LastModified})
	r.cfg.Metrics.fetched(kindFeed, resp, err)
	r.counter.update(func(s *Stats) { s.FeedsPolled++ })
	if err != nil {
		r.cfg.Metrics.polls.WithLabelValues(pollFetchError).Inc()
		r.counter.failFeed(Reason(err))
		r.logFailure(ctx, log, "fetch feed", err)
		return
	}
	if resp.NotModified {
		r.cfg.Metrics.polls.WithLabelValues(pollNotModified).Inc()
		r.counter.update(func(s *Stats) { s.FeedsNotModified++ })
		return
	}
	parsed, err := feed.Parse(resp.Body, resp.URL)
	if err != nil {
		r.cfg.Metrics.polls.WithLabelValues(pollParseError).Inc()
		r.counter.failFeed(ReasonParse)
		log.Warn("parse feed", slog.Any("error", err))
		return
	}
	r.cfg.Metrics.polls.WithLabelValues(pollOK).Inc()

	var pending sync.WaitGroup
	var retryMu sync.Mutex
	retry := false
	markRetry := func() { retryMu.Lock(); retry = true; retryMu.Unlock() }
	for _, item := range parsed.Items {
		canonical, queue := r.triage(ctx, log, item, markRetry)
		if !queue {
			continue
		}
		pending.Add(1)
		r.jobs <- &itemJob{feedURL: feedURL, item: item, canonical: canonical, done: func(again bool) {
			if again {
				markRetry()
			}
			pending.Done()
		}}
	}
	pending.Wait()
	if retry || ctx.Err() != nil {
		return
	}
	if err := r.cfg.FeedStates.Put(ctx, feedURL, FeedState{ETag: resp.ETag, LastModified: resp.LastModified}); err != nil {
		log.Warn("save feed state", slog.Any("error", err))
	}
}

// triage decides whether an item needs fetching.
func (r *pollRun) triage(ctx context.Context, log *slog.Logger, item feed.Item, markRetry func()) (string, bool) {
	r.counter.update(func(s *Stats) { s.ItemsSeen++ })
	canonical, err := canon.URL(item.Link)
	if err != nil {
		r.counter.fail(ReasonBadURL)
		log.Warn("canonicalise item link", slog.String("url", item.Link), slog.Any("error", err))
		return "", false
	}
	seen, err := r.seen.Has(ctx, canonical)
	if err != nil {
		r.counter.fail(ReasonSeenStore)
		markRetry()
		r.logFailure(ctx, log, "check seen url", err)
		return "", false
	}
	r.mu.Lock()
	queued := r.queued[canonical]
	r.queued[canonical] = true
	r.mu.Unlock()
	if seen || queued {
		r.counter.update(func(s *Stats) { s.SkippedSeen++ })
		return "", false
	}
	r.cfg.Metrics.discovered.Inc()
	r.counter.update(func(s *Stats) { s.New++ })
	return canonical, true
}

// fetchItem fetches, publishes and marks one item; it reports through
// job.done whether the item should be tried again on the next poll.
func (r *pollRun) fetchItem(ctx context.Context, job *itemJob) {
	log := r.log.With(slog.String("feed", job.feedURL), slog.String("url", job.item.Link))
	received := time.Now()
	resp, err := r.client.Get(ctx, job.item.Link, page.Conditional{})
	r.cfg.Metrics.fetched(kindPage, resp, err)
	if err != nil {
		reason := Reason(err)
		r.counter.fail(reason)
		r.logFailure(ctx, log, "fetch page", err)
		// A permanent failure is not retried while the feed is unchanged;
		// error streaks and backoff arrive with adaptive scheduling.
		job.done(reason == ReasonTransient || reason == ReasonCanceled)
		return
	}
	art := newArticle(origin{
		canonical: job.canonical,
		feed:      job.feedURL,
		source:    sourceOf(job.canonical),
		item:      job.item,
	}, resp, received)
	if err := r.pub.Publish(ctx, art); err != nil {
		refused := publishRefused(err)
		reason := ReasonPublish
		if refused {
			reason = ReasonTooLarge
		}
		r.counter.fail(reason)
		r.logFailure(ctx, log.With(slog.String("article_id", art.Id)), "publish article", err)
		// A refused article (over the message size limit) will not fit on
		// the next poll either; anything else is retried.
		job.done(!refused)
		return
	}
	r.counter.update(func(s *Stats) { s.Published++ })
	// Marked only after the publish was acknowledged: a crash in between
	// re-publishes, and the stream's duplicate window drops the copy.
	if err := r.seen.Add(ctx, job.canonical); err != nil {
		r.counter.fail(ReasonSeenStore)
		r.logFailure(ctx, log, "mark url seen", err)
	}
	job.done(false)
}

// logFailure logs a failure once, where it is handled; failures caused by
// the poll being stopped are not worth a warning each.
func (r *pollRun) logFailure(ctx context.Context, log *slog.Logger, what string, err error) {
	if ctx.Err() != nil {
		log.Debug(what, slog.Any("error", err))
		return
	}
	log.Warn(what, slog.Any("error", err))
}
