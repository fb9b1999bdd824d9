// Package fetcher is the fetcher stage's logic, independent of transport:
// poll feeds, fetch the articles they list that were not seen before,
// publish each one, and ingest local files.
package fetcher

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/newsflow/newsflow/proto/canon"
	"github.com/newsflow/newsflow/services/fetcher/feed"
	"github.com/newsflow/newsflow/services/fetcher/page"
	"github.com/newsflow/newsflow/services/fetcher/robots"
)

// SeenSet remembers canonical URLs already published, with the update
// time their feed gave; *seen.Set is the production one.
type SeenSet interface {
	Lookup(ctx context.Context, canonicalURL string) (bool, time.Time, error)
	AddUpdated(ctx context.Context, canonicalURL string, updated time.Time) error
}

// RobotsChecker says whether robots.txt lets an article page be fetched;
// *robots.Cache is the production one.
type RobotsChecker interface {
	Check(ctx context.Context, rawURL string) error
}

// PollerConfig configures a Poller.
type PollerConfig struct {
	Feeds []string
	// Interval is the polling interval of a feed whose publishing rate is
	// not known yet (default 15m); Run (without a registry) polls every
	// feed at this interval.
	Interval time.Duration
	// Schedule adapts each feed's interval (zero fields take defaults).
	Schedule Schedule
	// Concurrency bounds the requests (feeds and pages) in flight at once,
	// over all hosts (default 32). Requests wait in one queue per host and
	// go as soon as their host's politeness allows, so a host that must be
	// waited for holds up no other.
	Concurrency int
	// MaxPolls bounds the feeds polled at once, each waiting for its new
	// items (default 64 × Concurrency); MaxHostPolls bounds those of one
	// host (default 64), so that one host's many feeds cannot take every
	// place while other hosts have work.
	MaxPolls, MaxHostPolls int
	// Metrics (default: unregistered metrics).
	Metrics *Metrics
	// FeedStates keeps each feed's state between polls (default in memory).
	FeedStates FeedStates
	// Robots, when set, is asked before every article page is fetched.
	Robots RobotsChecker
	// MaxSitemaps bounds the child sitemaps of a sitemap index read in one
	// poll (default 20).
	MaxSitemaps int
	// Backlog, when set, reads how many articles wait in the stages
	// downstream, not yet stored. RunShared then fetches the pages a new
	// feed's first poll lists only while that backlog (with the pages the
	// first polls under way may add) stays below MaxBacklog: a first poll
	// lists the feed's whole window at once, and windows fetched faster
	// than the stages work them would queue every later article behind
	// that backlog. Over the bound, new feeds are still polled, and the
	// pages of their windows deferred, newest first, until the backlog
	// falls. Feeds already polled once are polled, and their new pages
	// fetched, on schedule whatever the backlog, so that their new items
	// do not scroll out unseen and are stored fresh.
	Backlog    func(ctx context.Context) (int, error)
	MaxBacklog int
	// MaxDeferred bounds the pages of new feeds deferred while the backlog
	// is at MaxBacklog (default 20 × MaxBacklog); past it, new feeds wait.
	MaxDeferred int
}

const (
	defaultInterval     = 15 * time.Minute
	defaultConcurrency  = 32
	defaultMaxHostPolls = 64
	defaultMaxSitemaps  = 20
)

// Validate reports every problem in the configuration at once.
func (c PollerConfig) Validate() error {
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
	cfg    PollerConfig
	client *page.Client
	seen   SeenSet
	pub    Publisher
	log    *slog.Logger
}

// NewPoller returns a poller; zero PollerConfig fields take their defaults. A nil
// log discards.
func NewPoller(cfg PollerConfig, client *page.Client, seen SeenSet, pub Publisher, log *slog.Logger) *Poller {
	if cfg.Interval <= 0 {
		cfg.Interval = defaultInterval
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = defaultConcurrency
	}
	if cfg.MaxPolls <= 0 {
		cfg.MaxPolls = 64 * cfg.Concurrency
	}
	if cfg.MaxHostPolls <= 0 {
		cfg.MaxHostPolls = defaultMaxHostPolls
	}
	if cfg.Metrics == nil {
		cfg.Metrics, _ = NewMetrics(nil) // unregistered: cannot fail
	}
	if cfg.FeedStates == nil {
		cfg.FeedStates = NewMemoryFeedStates()
	}
	if cfg.MaxSitemaps <= 0 {
		cfg.MaxSitemaps = defaultMaxSitemaps
	}
	cfg.Schedule = cfg.Schedule.withDefaults(cfg.Interval)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Poller{cfg: cfg, client: client, seen: seen, pub: pub, log: log}
}

// Run polls every feed every Interval until ctx ends, then returns nil
// once the poll in progress has stopped. (A fetcher with a feed registry
// uses RunShared instead, which schedules each feed on its own.)
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
	run := p.startRun(ctx)
	var feeds sync.WaitGroup
	slots := make(chan struct{}, p.cfg.MaxPolls)
	due := time.Now()
	for _, feedURL := range p.cfg.Feeds {
		feeds.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			state, err := p.cfg.FeedStates.Get(ctx, feedURL)
			if err != nil {
				p.log.Warn("load feed state", slog.String("feed", feedURL), slog.Any("error", err)) // poll unconditionally
			}
			res := run.pollFeed(ctx, feedURL, state, due, false)
			if ctx.Err() != nil {
				return
			}
			next := p.cfg.Schedule.Next(state, res, time.Now())
			p.cfg.Metrics.gapsFound(state, next, log(p.log, feedURL))
			if err := p.cfg.FeedStates.Put(ctx, feedURL, next); err != nil {
				p.log.Warn("save feed state", slog.String("feed", feedURL), slog.Any("error", err))
			}
		})
	}
	feeds.Wait()
	return run.stop(), ctx.Err()
}

// pollRun is the fetching side of polling: the per-host queues every
// request goes through, shared by every feed polled while it runs.
type pollRun struct {
	*Poller
	counter counter
	q       *hostQueue
	stopQ   context.CancelFunc
	qDone   chan struct{}
	// ctx is the run's: deferred pages outlive the poll that found them.
	ctx context.Context

	mu sync.Mutex
	// queued holds the canonical URLs queued and not yet done, from any
	// feed; true marks a deferred page (deferred.go).
	queued map[string]bool
	// deferred is the pool of deferred pages; deferredOut counts those sent
	// to the host queues until a read of the backlog counts them, and
	// deferredDone those of them done since the last read.
	deferred                  deferredHeap
	deferredOut, deferredDone int
}

func (p *Poller) startRun(ctx context.Context) *pollRun {
	qctx, stopQ := context.WithCancel(ctx)
	r := &pollRun{Poller: p, ctx: ctx, queued: map[string]bool{}, stopQ: stopQ, qDone: make(chan struct{}),
		q: newHostQueue(p.client, p.cfg.Concurrency, p.client.HostWait(), p.cfg.Metrics)}
	go func() {
		defer close(r.qDone)
		r.q.run(qctx)
	}()
	return r
}

// stop stops the queues, once no feed is being polled any more.
func (r *pollRun) stop() Stats {
	r.stopQ()
	<-r.qDone
	return r.counter.stats()
}

// get fetches a feed through its host's queue, where it goes before the
// host's pages and due orders it among the host's other feeds.
func (r *pollRun) get(ctx context.Context, rawURL string, due time.Time, cond page.Conditional) (*page.Response, error) {
	var resp *page.Response
	var err error
	qerr := r.q.do(ctx, page.HostKey(rawURL), due, func(turn *page.Turn) {
		resp, err = r.client.GetWithTurn(ctx, turn, rawURL, cond)
	})
	if qerr != nil {
		return nil, fmt.Errorf("get %s: %w", rawURL, qerr)
	}
	return resp, err
}

type itemJob struct {
	feedURL   string
	item      feed.Item
	canonical string
	done      func(retry bool)
}

// pollResult is what one poll of a feed found out, for its schedule.
type pollResult struct {
	err        error  // the feed could not be fetched or parsed
	class      string // err's class (page.Class*)
	retryAfter time.Duration

	notModified bool
	// retry: an item must be tried again, so the validators are not
	// updated (a 304 next time would hide the item).
	retry              bool
	etag, lastModified string
	cacheFor, ttl      time.Duration
	newItems           int
	// itemsPerDay is the publishing rate read from the items' dates;
	// negative when they carry none. window is the time the dated items
	// span (oldest to the poll), listed how many items the feed listed.
	itemsPerDay float64
	window      time.Duration
	listed      int
	discovered  string
}

// pollFeed fetches and parses one feed, queues its new items and waits
// until they are done; with deferPages it puts them in the deferred pool
// instead and returns at once.
// due is when the poll was due: the feed's requests, and its items', wait
// in their hosts' queues in that order.
func (r *pollRun) pollFeed(ctx context.Context, feedURL string, state FeedState, due time.Time, deferPages bool) pollResult {
	log := r.log.With(slog.String("feed", feedURL))
	target := cmp.Or(state.Discovered, feedURL)
	resp, err := r.get(ctx, target, due, page.Conditional{ETag: state.ETag, LastModified: state.LastModified})
	r.cfg.Metrics.fetched(kindFeed, resp, err)
	r.counter.update(func(s *Stats) { s.FeedsPolled++ })
	if err != nil {
		r.cfg.Metrics.polls.WithLabelValues(pollFetchError).Inc()
		r.counter.failFeed(Reason(err))
		r.logFailure(ctx, log, "fetch feed", err)
		res := pollResult{err: err, class: page.ErrorClass(err)}
		var se *page.StatusError
		if errors.As(err, &se) {
			res.retryAfter = se.RetryAfter
		}
		if ctx.Err() == nil {
			r.cfg.Metrics.feedFailed(sourceOf(target), res.class)
		}
		return res
	}
	if resp.NotModified {
		r.cfg.Metrics.polls.WithLabelValues(pollNotModified).Inc()
		r.counter.update(func(s *Stats) { s.FeedsNotModified++ })
		return pollResult{notModified: true, cacheFor: resp.CacheFor, itemsPerDay: -1,
			etag: state.ETag, lastModified: state.LastModified, discovered: state.Discovered}
	}
	parsed, err := feed.Parse(resp.Body, resp.URL)
	if errors.Is(err, feed.ErrUnknownFormat) && state.Discovered == "" {
		// A web page instead of a feed: poll the feed it links to.
		if links := feed.Discover(resp.Body, resp.URL); len(links) > 0 {
			log.Info("feed discovered", slog.String("discovered", links[0]))
			r.counter.update(func(s *Stats) { s.FeedsPolled-- }) // the page was no poll of a feed
			return r.pollFeed(ctx, feedURL, FeedState{Discovered: links[0]}, due, deferPages)
		}
	}
	if err != nil {
		r.cfg.Metrics.polls.WithLabelValues(pollParseError).Inc()
		r.cfg.Metrics.errors.WithLabelValues(kindFeed, page.ClassParse).Inc()
		r.cfg.Metrics.feedFailed(sourceOf(target), page.ClassParse)
		r.counter.failFeed(ReasonParse)
		log.Warn("parse feed", slog.Any("error", err))
		return pollResult{err: err, class: page.ClassParse}
	}
	r.cfg.Metrics.polls.WithLabelValues(pollOK).Inc()
	items := parsed.Items
	for _, child := range parsed.Sitemaps[:min(len(parsed.Sitemaps), r.cfg.MaxSitemaps)] {
		items = append(items, r.childSitemap(ctx, log, child, due)...)
	}

	var pending sync.WaitGroup
	var retryMu sync.Mutex
	retry, newItems := false, 0
	markRetry := func() { retryMu.Lock(); retry = true; retryMu.Unlock() }
	for _, item := range items {
		canonical, queue := r.triage(ctx, log, item, markRetry)
		if !queue {
			continue
		}
		newItems++
		if deferPages {
			// Fetched later: until then the feed is polled without
			// validators, so that it lists the item again if the page
			// is lost (a restart) or fails.
			markRetry()
			job := &itemJob{feedURL: feedURL, item: item, canonical: canonical, done: func(bool) { r.release(canonical) }}
			if r.robotsAllow(ctx, log, job) {
				r.deferPage(job)
			}
			continue
		}
		pending.Add(1)
		job := &itemJob{feedURL: feedURL, item: item, canonical: canonical, done: func(again bool) {
			r.release(canonical)
			if again {
				markRetry()
			}
			pending.Done()
		}}
		if !r.robotsAllow(ctx, log, job) {
			continue
		}
		r.q.push(&queued{ctx: ctx, host: page.HostKey(item.Link), due: due,
			run:  func(turn *page.Turn) { r.fetchItem(ctx, job, turn) },
			fail: func(err error) { r.fetchFailed(ctx, job, nil, err) }})
	}
	pending.Wait()
	rate, window := itemsPerDay(items, resp.FetchedAt)
	return pollResult{
		retry: retry || ctx.Err() != nil, etag: resp.ETag, lastModified: resp.LastModified,
		cacheFor: resp.CacheFor, ttl: parsed.TTL, newItems: newItems,
		itemsPerDay: rate, window: window, listed: len(items), discovered: state.Discovered,
	}
}

// childSitemap reads the items of one sitemap an index lists; failures
// are counted and logged, and the other children still count.
func (r *pollRun) childSitemap(ctx context.Context, log *slog.Logger, sitemapURL string, due time.Time) []feed.Item {
	resp, err := r.get(ctx, sitemapURL, due, page.Conditional{})
	r.cfg.Metrics.fetched(kindFeed, resp, err)
	if err != nil {
		r.logFailure(ctx, log, "fetch child sitemap", err)
		return nil
	}
	parsed, err := feed.Parse(resp.Body, resp.URL)
	if err != nil {
		r.cfg.Metrics.errors.WithLabelValues(kindFeed, page.ClassParse).Inc()
		log.Warn("parse child sitemap", slog.String("sitemap", sitemapURL), slog.Any("error", err))
		return nil
	}
	return parsed.Items
}

func log(l *slog.Logger, feedURL string) *slog.Logger { return l.With(slog.String("feed", feedURL)) }

// itemsPerDay estimates a feed's publishing rate from the dates of the
// items it lists: n items published from the oldest of them until now make
// n-1 intervals over that span. A feed lists only its latest items (often
// 10 to 50, covering hours on a busy feed), so the span read is the feed's
// own window, never a fixed week; a feed that stopped publishing reads as
// slow because its span runs to now. It returns the rate per day and the
// window, or -1 and 0 when fewer than two items are dated.
func itemsPerDay(items []feed.Item, now time.Time) (float64, time.Duration) {
	dated := 0
	var oldest time.Time
	for _, it := range items {
		t := cmpOr(it.Published, it.Updated)
		if t.IsZero() {
			continue
		}
		dated++
		if t.After(now) {
			t = now // a clock ahead of ours
		}
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	window := now.Sub(oldest)
	if dated < 2 || window <= 0 {
		return -1, 0
	}
	return float64(dated-1) / window.Hours() * 24, window
}

// triage decides whether an item needs fetching: not seen before, or seen
// with an older update time than its feed gives now.
func (r *pollRun) triage(ctx context.Context, log *slog.Logger, item feed.Item, markRetry func()) (string, bool) {
	r.counter.update(func(s *Stats) { s.ItemsSeen++ })
	canonical, err := canon.URL(item.Link)
	if err != nil {
		r.counter.fail(ReasonBadURL)
		log.Warn("canonicalise item link", slog.String("url", item.Link), slog.Any("error", err))
		return "", false
	}
	// Claim the URL before looking it up, so that two feeds listing it in
	// one poll cannot both find it unseen: a claim is released only after
	// the item's fetch has marked it seen (or failed).
	r.mu.Lock()
	deferred, queued := r.queued[canonical]
	if !queued {
		r.queued[canonical] = false
	}
	r.mu.Unlock()
	if queued {
		if deferred {
			// Its page waits in the deferred pool: keep the feed's
			// validators unsaved until it is fetched.
			markRetry()
		}
		r.counter.update(func(s *Stats) { s.SkippedSeen++ })
		return "", false
	}
	seen, updated, err := r.seen.Lookup(ctx, canonical)
	if err != nil {
		r.release(canonical)
		r.counter.fail(ReasonSeenStore)
		markRetry()
		r.logFailure(ctx, log, "check seen url", err)
		return "", false
	}
	if seen && !updated.IsZero() && item.Updated.After(updated) {
		seen = false // the feed says the article changed since
		r.counter.update(func(s *Stats) { s.Updated++ })
	}
	if seen {
		r.release(canonical)
		r.counter.update(func(s *Stats) { s.SkippedSeen++ })
		return "", false
	}
	r.cfg.Metrics.discovered.Inc()
	r.counter.update(func(s *Stats) { s.New++ })
	return canonical, true
}

// release drops the claim triage took on canonical.
func (r *pollRun) release(canonical string) {
	r.mu.Lock()
	delete(r.queued, canonical)
	r.mu.Unlock()
}

// robotsAllow asks robots.txt about the item's page before it is queued
// (a robots.txt fetch waits for the host's turn, which a queued request
// that holds one could not give it); when it refuses, the job is done.
func (r *pollRun) robotsAllow(ctx context.Context, log *slog.Logger, job *itemJob) bool {
	if r.cfg.Robots == nil {
		return true
	}
	err := r.cfg.Robots.Check(ctx, job.item.Link)
	if err == nil {
		return true
	}
	log = log.With(slog.String("url", job.item.Link))
	if errors.Is(err, robots.ErrDenied) {
		// Denied for good (until the feed lists it again with a newer
		// date, or the rule changes and the feed changes).
		r.cfg.Metrics.robotsDenied.Inc()
		r.cfg.Metrics.errors.WithLabelValues(kindPage, page.ClassRobots).Inc()
		r.counter.fail(ReasonRobots)
		log.Info("robots.txt denies page")
		job.done(false)
		return false
	}
	// robots.txt unreachable: tried again on the next poll.
	r.counter.fail(Reason(err))
	r.logFailure(ctx, log, "robots.txt", err)
	job.done(true)
	return false
}

// fetchItem fetches (with its host's turn), publishes and marks one item;
// it reports through job.done whether the item should be tried again on
// the next poll.
func (r *pollRun) fetchItem(ctx context.Context, job *itemJob, turn *page.Turn) {
	received := time.Now()
	resp, err := r.client.GetWithTurn(ctx, turn, job.item.Link, page.Conditional{})
	if err != nil {
		r.fetchFailed(ctx, job, resp, err)
		return
	}
	r.cfg.Metrics.fetched(kindPage, resp, nil)
	log := r.log.With(slog.String("feed", job.feedURL), slog.String("url", job.item.Link))
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
			r.cfg.Metrics.refused.WithLabelValues(reason).Inc()
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
	if err := r.seen.AddUpdated(ctx, job.canonical, job.item.Updated); err != nil {
		r.counter.fail(ReasonSeenStore)
		r.logFailure(ctx, log, "mark url seen", err)
	}
	job.done(false)
}

// fetchFailed accounts for an item whose page could not be fetched (or
// whose request never got its host's turn).
func (r *pollRun) fetchFailed(ctx context.Context, job *itemJob, resp *page.Response, err error) {
	r.cfg.Metrics.fetched(kindPage, resp, err)
	reason := Reason(err)
	r.counter.fail(reason)
	r.logFailure(ctx, r.log.With(slog.String("feed", job.feedURL), slog.String("url", job.item.Link)), "fetch page", err)
	// A permanent failure is not retried while the feed is unchanged.
	job.done(reason == ReasonTransient || reason == ReasonCanceled)
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
