package fetcher

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/newsflow/newsflow/services/fetcher/page"

	"github.com/newsflow/newsflow/services/fetcher/registry"
)

// Shared configures RunShared.
type Shared struct {
	Registry *registry.Registry
	// Owner names this replica in leases (unique per replica).
	Owner string
	// Lease is how long a claimed feed stays this replica's without renewal
	// (default 2m); it is renewed every Lease/3 while the poll runs. A
	// replica that dies holds its feeds at most this long.
	Lease time.Duration
	// Tick is how often due feeds are looked for (default 1s); those that
	// fall due before the next look are polled each at its time.
	Tick time.Duration
}

// RunShared polls the feeds of the registry, each when it is due, sharing
// the work with every other replica that runs it on the same registry: a
// replica polls a feed only after claiming it with a compare-and-set lease,
// so no feed is polled by two replicas at once, and a lease that is not
// renewed (its replica died) expires, so no feed is starved. It returns
// nil once ctx has ended and the polls in progress have stopped; their
// leases are released.
func (p *Poller) RunShared(ctx context.Context, sh Shared) error {
	if sh.Lease <= 0 {
		sh.Lease = 2 * time.Minute
	}
	if sh.Tick <= 0 {
		sh.Tick = time.Second
	}
	s := &scheduler{Poller: p, sh: sh, feeds: map[string]registry.Entry{}, busy: map[string]bool{},
		hostPolls: map[string]int{}, firstPages: firstPagesGuess}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go s.watch(watchCtx)

	run := p.startRun(ctx)
	slots := make(chan struct{}, p.cfg.MaxPolls)
	var polls sync.WaitGroup
	ticker := time.NewTicker(sh.Tick)
	defer ticker.Stop()
	for {
		s.readBacklog(ctx, run)
		s.releaseDeferred(run)
		held := 0
		// The due feeds, the longest overdue first: those that do not get a
		// place now are looked at again, with any newly due, on the next
		// tick, so a backlog of first polls never starves repolls. Then
		// those that fall due before the next tick, each at its time: a
		// tick's polls spread over it instead of starting together, which
		// would send downstream a burst of a tick's pages at once.
		now := time.Now()
	due:
		for _, e := range s.due(now, now.Add(sh.Tick)) {
			if !sleepUntil(ctx, e.Feed.NextPoll) {
				break
			}
			if !s.hostFree(e) {
				continue
			}
			kind := s.admit(run, e.Feed.State.LastSuccess.IsZero())
			if kind == pollHeld {
				held++
				continue
			}
			select {
			case slots <- struct{}{}:
			default:
				s.pollDone(kind, -1)
				break due
			}
			claimed, ok := s.claim(ctx, e)
			if !ok {
				s.pollDone(kind, -1)
				<-slots
				continue
			}
			polls.Go(func() {
				defer func() { <-slots }()
				s.pollDone(kind, s.poll(ctx, run, claimed, kind == pollDeferred))
			})
		}
		s.cfg.Metrics.held.Set(float64(held))
		select {
		case <-ctx.Done():
			polls.Wait()
			stats := run.stop()
			p.log.Info("fetcher stopped", slog.Any("stats", stats))
			return nil
		case <-ticker.C:
		}
	}
}

// scheduler is RunShared's state: the registry as last seen through the
// watch, and the feeds this replica is polling.
type scheduler struct {
	*Poller
	sh Shared

	mu    sync.Mutex
	feeds map[string]registry.Entry
	busy  map[string]bool
	// hostPolls counts the polls under way by feed host.
	hostPolls map[string]int
	// backlog is the articles downstream as last read (Backlog),
	// firstPolls the first polls under way with their pages fetched,
	// deferPolls those with their pages deferred, and firstPages what a
	// first poll found on average: together they bound the pages fetched
	// for new feeds, and the pages deferred.
	// firstEnded counts the first polls ended since the last read of the
	// backlog (still in firstPolls).
	// backlogFailing: the last read of the backlog failed.
	backlog                            int
	firstPolls, firstEnded, deferPolls int
	firstPages                         float64
	backlogFailing                     bool
}

// pollKind is how a due feed is polled.
type pollKind int

const (
	pollRepeat   pollKind = iota // polled before: on schedule, whatever the backlog
	pollFirst                    // a first poll whose pages are fetched
	pollDeferred                 // a first poll whose pages are deferred (deferred.go)
	pollHeld                     // a first poll that waits: backlog and pool are full
)

// firstPagesGuess is what a first poll is thought to queue before any has
// been seen: a common feed window.
const firstPagesGuess = 20

// bounded says whether first polls wait for the backlog (Backlog and
// MaxBacklog set).
func (s *scheduler) bounded() bool { return s.cfg.Backlog != nil && s.cfg.MaxBacklog > 0 }

// readBacklog reads the articles waiting downstream; a failed read keeps
// the last value (publishing waits while NATS is away anyway). The first
// polls and deferred pages that ended before the read stop being counted
// apart from the backlog only now: their pages are in it.
func (s *scheduler) readBacklog(ctx context.Context, run *pollRun) {
	if !s.bounded() {
		return
	}
	s.mu.Lock()
	firstEnded := s.firstEnded
	s.mu.Unlock()
	deferredEnded := run.deferredEnded()
	rctx, cancel := context.WithTimeout(ctx, s.sh.Tick)
	n, err := s.cfg.Backlog(rctx)
	cancel()
	// Settled on a failed read too: counting them apart until a read
	// succeeds would stop new feeds for good if reads keep failing (a
	// missing NATS permission).
	s.mu.Lock()
	s.firstPolls -= firstEnded
	s.firstEnded -= firstEnded
	if err == nil {
		s.backlog = n
	}
	failing := s.backlogFailing
	s.backlogFailing = err != nil
	s.mu.Unlock()
	run.settleDeferred(deferredEnded)
	if err != nil {
		if ctx.Err() == nil {
			level := slog.LevelWarn
			if failing {
				level = slog.LevelDebug // warned when the failures began
			}
			s.log.Log(ctx, level, "read the pipeline's backlog; keeping the last value", slog.Any("error", err))
		}
		return
	}
	s.cfg.Metrics.backlog.Set(float64(n))
}

// admit decides how a due feed is polled. A first poll fetches its pages
// while the backlog downstream, with the deferred pages on their way and
// what the first polls under way (this one included) may add to it, stays
// within MaxBacklog; past that it
// defers them while the deferred pool, with what the deferring polls under
// way may add, stays within maxDeferred; past that it waits. One poll of
// each kind at a time is let through while its bound is not reached. An
// admitted first poll is counted until pollDone.
func (s *scheduler) admit(run *pollRun, first bool) pollKind {
	if !first {
		return pollRepeat
	}
	if !s.bounded() {
		return pollFirst
	}
	pool, out := run.deferredLen()
	s.mu.Lock()
	defer s.mu.Unlock()
	fits := func(have, polls, limit int) bool {
		if polls == 0 {
			return have < limit
		}
		return float64(have)+float64(polls+1)*s.firstPages <= float64(limit)
	}
	switch {
	case fits(s.backlog+out, s.firstPolls, s.cfg.MaxBacklog):
		s.firstPolls++
		return pollFirst
	case fits(pool, s.deferPolls, s.maxDeferred()):
		s.deferPolls++
		return pollDeferred
	}
	return pollHeld
}

// maxDeferred is the most pages the deferred pool takes before new feeds
// wait.
func (s *scheduler) maxDeferred() int {
	if s.cfg.MaxDeferred > 0 {
		return s.cfg.MaxDeferred
	}
	return deferredFactor * s.cfg.MaxBacklog
}

// releaseDeferred sends deferred pages to the host queues as far as the
// backlog downstream, with what the first polls under way may add, stays
// within MaxBacklog.
func (s *scheduler) releaseDeferred(run *pollRun) {
	if !s.bounded() {
		return
	}
	s.mu.Lock()
	room := float64(s.cfg.MaxBacklog-s.backlog) - float64(s.firstPolls)*s.firstPages
	s.mu.Unlock()
	run.releaseDeferred(int(room))
}

// pollDone ends what admit counted, for a poll of kind that found pages
// new items, or was not made (pages < 0).
func (s *scheduler) pollDone(kind pollKind, pages int) {
	if kind == pollRepeat || !s.bounded() {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case kind == pollDeferred:
		s.deferPolls--
	case pages < 0:
		s.firstPolls--
	default:
		s.firstEnded++ // its pages count in firstPolls until the backlog is read again
	}
	if pages >= 0 {
		s.firstPages = 0.8*s.firstPages + 0.2*float64(pages)
	}
}

// watch follows the registry until ctx ends. A watch that ends or fails
// (NATS away for a while) is started again with a growing delay: the
// scheduler keeps polling the feeds it knows meanwhile.
func (s *scheduler) watch(ctx context.Context) {
	for attempt := 1; ctx.Err() == nil; attempt++ {
		start := time.Now()
		err := s.sh.Registry.Watch(ctx, s.seen)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, registry.ErrReconnected) {
			s.log.Info("nats reconnected; watching the feed registry again")
			attempt = 0
			continue
		}
		if time.Since(start) > time.Minute {
			attempt = 1
		}
		delay := min(time.Duration(attempt)*time.Second, 10*time.Second)
		s.log.Warn("feed registry watch ended; watching again", "error", err, "retry_in", delay)
		select {
		case <-ctx.Done():
		case <-time.After(delay):
		}
	}
}

// seen takes an update from the registry watch.
func (s *scheduler) seen(e registry.Entry, removed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if removed {
		delete(s.feeds, e.Key)
		return
	}
	if cur, ok := s.feeds[e.Key]; !ok || e.Revision > cur.Revision {
		s.feeds[e.Key] = e
	}
}

// dueAt is when a feed is due: its next poll, or when it was added.
func dueAt(f registry.Feed) time.Time {
	if f.NextPoll.IsZero() {
		return f.Added
	}
	return f.NextPoll
}

// due lists the feeds due before until: those due at now, the longest
// overdue first (replicas share the order; a feed another replica claimed
// first is skipped), then the others in the order they fall due. It
// updates the health and overdue gauges.
func (s *scheduler) due(now, until time.Time) []registry.Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []registry.Entry
	health := map[string]int{}
	overdue := 0
	for key, e := range s.feeds {
		health[e.Feed.Health(now)]++
		if s.busy[key] || until.Before(e.Feed.NextPoll) || e.Feed.Leased(now, s.sh.Owner) {
			continue
		}
		if !now.Before(e.Feed.NextPoll) {
			overdue++
		}
		out = append(out, e)
	}
	for _, h := range []string{registry.Healthy, registry.Backoff, registry.Failing} {
		s.cfg.Metrics.feeds.WithLabelValues(h).Set(float64(health[h]))
	}
	// Ties (feeds added together) in random order, so replicas do not all
	// reach for the same one first.
	rand.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	slices.SortStableFunc(out, func(a, b registry.Entry) int { return dueAt(a.Feed).Compare(dueAt(b.Feed)) })
	s.cfg.Metrics.overdue.Set(float64(overdue))
	if overdue > 0 {
		s.cfg.Metrics.overdueMax.Set(max(now.Sub(dueAt(out[0].Feed)), 0).Seconds())
	} else {
		s.cfg.Metrics.overdueMax.Set(0)
	}
	return out
}

// sleepUntil waits until t (no wait when it has passed); false when ctx
// ends first.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// hostFree says whether the feed's host has fewer than MaxHostPolls polls
// under way.
func (s *scheduler) hostFree(e registry.Entry) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hostPolls[page.HostKey(e.Feed.URL)] < s.cfg.MaxHostPolls
}

// stateWriteTimeout bounds a registry write that must not be cut short by
// a stop: a claim, and the final write of a poll, which releases its lease.
const stateWriteTimeout = 5 * time.Second

// claim takes the feed's lease; false if another replica was first.
//
// The write is not cut short when ctx ends: a claim sent just before a
// stop may land although its reply would be dropped, and the replica
// would then stop without releasing a lease it never knew it held, keeping
// the feed from every replica until the lease expires. Once claimed, the
// poll sees ctx ended and its final write releases the lease.
func (s *scheduler) claim(ctx context.Context, e registry.Entry) (registry.Entry, bool) {
	now := time.Now()
	e.Feed.LeaseOwner, e.Feed.LeaseUntil = s.sh.Owner, now.Add(s.sh.Lease)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stateWriteTimeout)
	defer cancel()
	rev, err := s.sh.Registry.Update(wctx, e)
	if err != nil {
		if !errors.Is(err, registry.ErrConflict) && !errors.Is(err, registry.ErrNotFound) && ctx.Err() == nil {
			s.log.Warn("claim feed", slog.String("feed", e.Feed.URL), slog.Any("error", err))
		}
		return e, false
	}
	e.Revision = rev
	s.mu.Lock()
	s.busy[e.Key] = true
	s.hostPolls[page.HostKey(e.Feed.URL)]++
	s.feeds[e.Key] = e
	s.mu.Unlock()
	s.cfg.Metrics.pollLag.Observe(max(now.Sub(dueAt(e.Feed)), 0).Seconds())
	return e, true
}

// poll polls a claimed feed, renewing the lease meanwhile, and writes its
// new state (which releases the lease); it returns how many new items the
// poll queued. Losing the lease (the entry was changed by someone else)
// stops the poll.
func (s *scheduler) poll(ctx context.Context, run *pollRun, e registry.Entry, deferPages bool) int {
	defer func() {
		s.mu.Lock()
		delete(s.busy, e.Key)
		if host := page.HostKey(e.Feed.URL); s.hostPolls[host] > 1 {
			s.hostPolls[host]--
		} else {
			delete(s.hostPolls, host)
		}
		s.mu.Unlock()
	}()
	log := s.log.With(slog.String("feed", e.Feed.URL))
	pollCtx, cancel := context.WithCancel(ctx)
	var mu sync.Mutex // guards e between the renewer and the final write
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		t := time.NewTicker(s.sh.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-pollCtx.Done():
				return
			case <-t.C:
			}
			mu.Lock()
			next := e
			next.Feed.LeaseUntil = time.Now().Add(s.sh.Lease)
			rev, err := s.sh.Registry.Update(pollCtx, next)
			if err == nil {
				next.Revision = rev
				e = next
			}
			mu.Unlock()
			if err != nil && pollCtx.Err() == nil {
				log.Warn("lease lost; stopping this poll", slog.Any("error", err))
				cancel()
				return
			}
		}
	}()
	res := run.pollFeed(pollCtx, e.Feed.URL, e.Feed.State, dueAt(e.Feed), deferPages)
	lost := pollCtx.Err() != nil && ctx.Err() == nil
	cancel()
	<-renewed
	if lost {
		return res.newItems
	}
	// The final write must happen even when stopping: it releases the lease.
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), stateWriteTimeout)
	defer wcancel()
	held := e
	if ctx.Err() != nil {
		e.Feed.LeaseOwner, e.Feed.LeaseUntil = "", time.Time{} // interrupted: due again at once
	} else {
		next := s.cfg.Schedule.Next(e.Feed.State, res, time.Now())
		s.cfg.Metrics.gapsFound(e.Feed.State, next, log)
		e.Feed.State = next
	}
	rev, err := s.save(wctx, held, e)
	if err != nil {
		log.Warn("save feed state", slog.Any("error", err))
		return res.newItems
	}
	e.Revision = rev
	s.seen(e, false)
	return res.newItems
}

// save writes e, the feed's state after a poll, over held, the entry as
// this replica last wrote it. A renewal of the lease sent as the poll
// ended may have landed although its reply was cancelled with the poll:
// the entry is then at a newer revision that differs from held only in
// LeaseUntil, and e is written over it. Any other change (an operator's,
// another replica's) is a conflict.
func (s *scheduler) save(ctx context.Context, held, e registry.Entry) (uint64, error) {
	rev, err := s.sh.Registry.Update(ctx, e)
	if !errors.Is(err, registry.ErrConflict) {
		return rev, err
	}
	cur, gerr := s.sh.Registry.Get(ctx, e.Feed.URL)
	if gerr != nil || !renewalOnly(held.Feed, cur.Feed) {
		return 0, err
	}
	e.Revision = cur.Revision
	return s.sh.Registry.Update(ctx, e)
}

// renewalOnly says whether b is a with a different LeaseUntil at most.
func renewalOnly(a, b registry.Feed) bool {
	a.LeaseUntil, b.LeaseUntil = time.Time{}, time.Time{}
	ja, erra := json.Marshal(a)
	jb, errb := json.Marshal(b)
	return erra == nil && errb == nil && bytes.Equal(ja, jb)
}
