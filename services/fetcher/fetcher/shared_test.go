package fetcher

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/fetcher/page"
	"github.com/newsflow/newsflow/services/fetcher/registry"
	"github.com/newsflow/newsflow/services/fetcher/seen"
	"github.com/newsflow/newsflow/stage/natstest"
)

// feedFarm serves n empty RSS feeds at /feed/{i}, each answer taking a
// while, and records who polled which feed when, and whether two polls of
// one feed ever overlapped.
type feedFarm struct {
	*httptest.Server
	n        int
	overlaps atomic.Int32

	mu       sync.Mutex
	inFlight map[string]int
	polls    map[string][]farmPoll // path -> polls
}

type farmPoll struct {
	by string // the User-Agent: which replica
	at time.Time
}

func newFeedFarm(t testing.TB, n int, delay time.Duration) *feedFarm {
	f := &feedFarm{n: n, inFlight: map[string]int{}, polls: map[string][]farmPoll{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.inFlight[r.URL.Path]++
		if f.inFlight[r.URL.Path] > 1 {
			f.overlaps.Add(1)
		}
		f.polls[r.URL.Path] = append(f.polls[r.URL.Path], farmPoll{by: r.UserAgent(), at: time.Now()})
		f.mu.Unlock()
		time.Sleep(delay)
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>%s</title><link>/</link></channel></rss>`, r.URL.Path)
		f.mu.Lock()
		f.inFlight[r.URL.Path]--
		f.mu.Unlock()
	}))
	t.Cleanup(f.Close)
	return f
}

// newRegisteredFarm starts a farm of n feeds and adds them all to the
// feeds registry on ns.
func newRegisteredFarm(t testing.TB, ns *server.Server, n int, delay time.Duration) (*feedFarm, *registry.Registry) {
	farm := newFeedFarm(t, n, delay)
	reg, err := registry.Open(t.Context(), natstest.JetStream(t, ns), "feeds", 1)
	require.NoError(t, err)
	for i := range n {
		_, err := reg.Add(t.Context(), farm.feed(i), time.Now())
		require.NoError(t, err)
	}
	return farm, reg
}

func (f *feedFarm) feed(i int) string { return fmt.Sprintf("%s/feed/%d", f.URL, i) }

// pollsSince counts, per feed path, polls after t (by anyone but skip).
func (f *feedFarm) pollsSince(t time.Time, skip string) (perFeed map[string]int, byReplica map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	perFeed, byReplica = map[string]int{}, map[string]int{}
	for path, ps := range f.polls {
		for _, p := range ps {
			if p.at.After(t) && p.by != skip {
				perFeed[path]++
			}
			if p.at.After(t) {
				byReplica[p.by]++
			}
		}
	}
	return perFeed, byReplica
}

// replica is one fetcher replica as a separate process would run it: its
// own NATS connection, registry handle, seen-set handle and HTTP client.
type replica struct {
	name   string
	cancel context.CancelFunc
	done   chan struct{}
	err    error
	kill   func() // closes the NATS connection at once: no lease released
	pub    *memPublisher
}

func startReplica(t testing.TB, ns *server.Server, name string, cfg PollerConfig, sh Shared) *replica {
	t.Helper()
	js := natstest.JetStream(t, ns)
	reg, err := registry.Open(t.Context(), js, "feeds", 1)
	require.NoError(t, err)
	set, err := seen.Open(t.Context(), js, "seen", time.Hour, 1)
	require.NoError(t, err)
	cc := testClientConfig()
	cc.UserAgent = name
	pub := &memPublisher{}
	p := NewPoller(cfg, page.NewClient(cc), set, pub, nil)
	sh.Registry, sh.Owner = reg, name
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{name: name, cancel: cancel, done: make(chan struct{}), kill: js.Conn().Close, pub: pub}
	go func() { r.err = p.RunShared(ctx, sh); close(r.done) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

// stop stops the replica and returns what RunShared returned.
func (r *replica) stop() error {
	r.cancel()
	<-r.done
	return r.err
}

// Three replicas share the feeds: never two polls of one feed at once,
// and when one replica dies holding leases, its feeds are taken over once
// the leases expire.
func TestReplicasShareFeedsAndSurviveAKill(t *testing.T) {
	const feeds = 24
	ns := natstest.Run(t)
	farm, reg := newRegisteredFarm(t, ns, feeds, 20*time.Millisecond)
	const interval = 150 * time.Millisecond
	cfg := PollerConfig{Interval: interval, Concurrency: 4, Schedule: Schedule{MinInterval: interval, MaxInterval: interval}}
	sh := Shared{Lease: time.Second, Tick: 20 * time.Millisecond}
	started := time.Now()
	replicas := []*replica{
		startReplica(t, ns, "r1", cfg, sh),
		startReplica(t, ns, "r2", cfg, sh),
		startReplica(t, ns, "r3", cfg, sh),
	}

	// Every feed gets polled, and every replica takes a share.
	require.Eventually(t, func() bool {
		perFeed, byReplica := farm.pollsSince(started, "")
		return len(perFeed) == feeds && byReplica["r1"] > 0 && byReplica["r2"] > 0 && byReplica["r3"] > 0
	}, 10*time.Second, 10*time.Millisecond)

	// Kill r1 hard: its connection goes, its leases stay behind.
	replicas[0].kill()
	require.NoError(t, replicas[0].stop())
	killed := time.Now()

	// Once r1's leases have expired, every feed is polled again by the
	// survivors: none is starved.
	require.Eventually(t, func() bool {
		perFeed, _ := farm.pollsSince(killed.Add(sh.Lease), "r1")
		return len(perFeed) == feeds
	}, 10*time.Second, 20*time.Millisecond)
	_, byReplica := farm.pollsSince(killed.Add(100*time.Millisecond), "")
	require.Zero(t, byReplica["r1"], "the killed replica kept polling")
	require.Zero(t, farm.overlaps.Load(), "a feed was polled by two replicas at once")

	// The state written by the survivors is in the registry.
	entries, err := reg.List(t.Context())
	require.NoError(t, err)
	require.Equal(t, feeds, len(entries), "feeds listed")
	for _, e := range entries {
		require.Positive(t, e.Feed.Polls, e.Feed.URL)
		require.False(t, e.Feed.LastSuccess.IsZero(), e.Feed.URL)
	}
}

// windowFarm serves feeds at /feed/{i} that list items pages each, with
// an ETag, and records the polls, the pages requested, and the
// conditional polls of a feed some of whose pages were not requested yet.
type windowFarm struct {
	*httptest.Server
	items int

	mu          sync.Mutex
	polls       map[string]int
	pages       map[string]bool
	conditional int
	early       int // conditional polls of a feed with pages not requested yet
}

func newWindowFarm(t testing.TB, items int) *windowFarm {
	f := &windowFarm{items: items, polls: map[string]int{}, pages: map[string]bool{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		if !strings.HasPrefix(r.URL.Path, "/feed/") {
			f.pages[r.URL.Path] = true
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, "<html><body><p>Page %s.</p></body></html>", r.URL.Path)
			return
		}
		f.polls[r.URL.Path]++
		if r.Header.Get("If-None-Match") == `"v1"` {
			f.conditional++
			for j := range items {
				if !f.pages[fmt.Sprintf("/page%s/%d", r.URL.Path, j)] {
					f.early++
					break
				}
			}
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Header().Set("ETag", `"v1"`)
		fmt.Fprint(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>f</title><link>/</link>`)
		for j := range items {
			fmt.Fprintf(w, `<item><title>%d</title><link>%s/page%s/%d</link></item>`, j, "http://"+r.Host, r.URL.Path, j)
		}
		fmt.Fprint(w, `</channel></rss>`)
	}))
	t.Cleanup(f.Close)
	return f
}

// polled counts the feeds polled at least once, and more than once.
func (f *windowFarm) polled() (first, repolled int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.polls {
		first++
		if n > 1 {
			repolled++
		}
	}
	return first, repolled
}

// conditionals counts the conditional polls, and those of a feed with
// pages not requested yet.
func (f *windowFarm) conditionals() (all, early int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conditional, f.early
}

// addFeeds registers n of the farm's feeds.
func (f *windowFarm) addFeeds(t testing.TB, ns *server.Server, n int) {
	reg, err := registry.Open(t.Context(), natstest.JetStream(t, ns), "feeds", 1)
	require.NoError(t, err)
	for i := range n {
		_, err := reg.Add(t.Context(), fmt.Sprintf("%s/feed/%d", f.URL, i), time.Now())
		require.NoError(t, err)
	}
}

// Over -max-backlog a new feed is still polled, so nothing of its window
// scrolls out unseen, but its pages wait in the deferred pool until the
// stages downstream work off their backlog, and meanwhile the feed is
// polled without validators (a lost deferred page is listed again). Feeds
// taken on earlier are polled on schedule throughout. Once the pool is
// full too, new feeds wait.
func TestBacklogDefersNewFeedsPages(t *testing.T) {
	const feeds, items, maxBacklog, maxDeferred = 12, 5, 12, 30
	farm := newWindowFarm(t, items)
	ns := natstest.Run(t)
	farm.addFeeds(t, ns, feeds)
	// The stages downstream: everything published waits there until the
	// test works it off.
	var worked atomic.Int64
	var started atomic.Pointer[replica]
	metrics := mustMetrics(t, nil)
	const interval = 100 * time.Millisecond
	cfg := PollerConfig{Interval: interval, Concurrency: 4, Metrics: metrics, MaxBacklog: maxBacklog, MaxDeferred: maxDeferred,
		Schedule: Schedule{MinInterval: interval, MaxInterval: interval},
		Backlog: func(context.Context) (int, error) {
			r := started.Load()
			if r == nil {
				return 0, nil
			}
			return len(r.pub.published()) - int(worked.Load()), nil
		}}
	r := startReplica(t, ns, "r1", cfg, Shared{Tick: 10 * time.Millisecond})
	started.Store(r)

	// A first poll finds 5 pages; the pages of 3 or 4 feeds are fetched
	// (one first poll at a time while the backlog is below 12), those of
	// about 6 more deferred (one deferring poll at a time while the pool
	// is below 30), and the rest wait.
	require.Eventually(t, func() bool { first, _ := farm.polled(); return first >= 8 }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { _, re := farm.polled(); return re >= 8 }, 10*time.Second, 10*time.Millisecond,
		"the feeds taken on, their pages deferred or not, are polled again on schedule")
	time.Sleep(500 * time.Millisecond) // five intervals
	first, _ := farm.polled()
	require.LessOrEqual(t, first, 11, "feeds taken on past the bounds")
	published := len(r.pub.published())
	require.LessOrEqual(t, published, maxBacklog+items, "pages fetched past the backlog bound")
	deferred := int(testutil.ToFloat64(metrics.deferred))
	require.GreaterOrEqual(t, deferred, maxDeferred-items)
	require.LessOrEqual(t, deferred, maxDeferred+items)
	require.Equal(t, first*items, published+deferred, "every page listed is published or deferred")
	require.Equal(t, float64(feeds-first), testutil.ToFloat64(metrics.held), "the feeds held back")
	_, early := farm.conditionals()
	require.Zero(t, early, "a feed with deferred pages was polled with validators")

	// The stages catch up: the deferred pages are fetched, the rest of the
	// feeds are taken on, every page is published once, and the feeds are
	// then polled with their validators.
	go func() {
		for ctx := t.Context(); ctx.Err() == nil; time.Sleep(5 * time.Millisecond) {
			worked.Store(int64(len(r.pub.published())))
		}
	}()
	require.Eventually(t, func() bool { first, _ := farm.polled(); return first == feeds }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return len(r.pub.published()) == feeds*items }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { all, _ := farm.conditionals(); return all >= feeds }, 10*time.Second, 10*time.Millisecond,
		"the feeds polled with their validators once their pages are fetched")
	require.NoError(t, r.stop())
	require.Len(t, r.pub.published(), feeds*items, "a page published twice")
	require.Zero(t, testutil.ToFloat64(metrics.deferred))
	_, early = farm.conditionals()
	require.Zero(t, early, "a feed with deferred pages was polled with validators")
}

// Deferred pages live in memory: a fetcher stopped with pages deferred
// loses them, but their feeds were left without validators, so the next
// fetcher finds the items again at its first poll and fetches them.
func TestDeferredPagesFoundAgainAfterARestart(t *testing.T) {
	const feeds, items = 6, 5
	farm := newWindowFarm(t, items)
	ns := natstest.Run(t)
	farm.addFeeds(t, ns, feeds)
	const interval = 100 * time.Millisecond
	cfg := PollerConfig{Interval: interval, Concurrency: 4, MaxBacklog: 5,
		Schedule: Schedule{MinInterval: interval, MaxInterval: interval}}

	// The stages are far behind: every new feed's pages are deferred.
	metrics := mustMetrics(t, nil)
	cfg.Metrics = metrics
	cfg.Backlog = func(context.Context) (int, error) { return 1000, nil }
	r1 := startReplica(t, ns, "r1", cfg, Shared{Tick: 10 * time.Millisecond})
	require.Eventually(t, func() bool { _, re := farm.polled(); return re == feeds }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, float64(feeds*items), testutil.ToFloat64(metrics.deferred))
	require.NoError(t, r1.stop())
	require.Empty(t, r1.pub.published())

	cfg.Metrics = mustMetrics(t, nil)
	cfg.Backlog = func(context.Context) (int, error) { return 0, nil }
	r2 := startReplica(t, ns, "r2", cfg, Shared{Tick: 10 * time.Millisecond})
	require.Eventually(t, func() bool { return len(r2.pub.published()) == feeds*items }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { all, _ := farm.conditionals(); return all >= feeds }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, r2.stop())
	require.Len(t, r2.pub.published(), feeds*items, "a page published twice")
	_, early := farm.conditionals()
	require.Zero(t, early, "a feed with deferred pages was polled with validators")
}

// A backlog that cannot be read (NATS away, a missing permission) keeps
// its last value, but the first polls that ended stop being counted apart
// from it all the same: counting them until a read succeeds would shrink
// the room for new feeds' pages with every first poll, for as long as the
// reads fail.
func TestBacklogUnreadableStillSettles(t *testing.T) {
	cfg := PollerConfig{MaxBacklog: 30, Backlog: func(context.Context) (int, error) { return 0, errors.New("permissions violation") }}
	p := NewPoller(cfg, nil, nil, nil, nil)
	s := &scheduler{Poller: p, sh: Shared{Tick: time.Second}, firstPages: 5}
	run := &pollRun{Poller: p, queued: map[string]bool{}}
	for range 10 {
		require.Equal(t, pollFirst, s.admit(run, true), "a first poll with nothing downstream")
		s.pollDone(pollFirst, 5)
		s.readBacklog(t.Context(), run)
	}
	require.Zero(t, s.firstPolls, "first polls still counted")
}

// A lease renewal that landed although its reply was lost (cancelled as
// the poll ended) leaves the entry one revision ahead of what the poll
// holds: the poll's state is still written. Any other change wins.
func TestSaveOverALostRenewalOnly(t *testing.T) {
	ns := natstest.Run(t)
	reg, err := registry.Open(t.Context(), natstest.JetStream(t, ns), "feeds", 1)
	require.NoError(t, err)
	s := &scheduler{sh: Shared{Registry: reg, Owner: "r1"}}
	claim := func(url string) registry.Entry {
		_, err := reg.Add(t.Context(), url, time.Now())
		require.NoError(t, err)
		e, err := reg.Get(t.Context(), url)
		require.NoError(t, err)
		e.Feed.LeaseOwner, e.Feed.LeaseUntil = "r1", time.Now().Add(time.Minute)
		e.Revision, err = reg.Update(t.Context(), e)
		require.NoError(t, err)
		return e
	}
	polled := func(e registry.Entry) registry.Entry {
		e.Feed.Polls, e.Feed.LastPoll = 1, time.Now()
		e.Feed.LeaseOwner, e.Feed.LeaseUntil = "", time.Time{}
		return e
	}

	held := claim("http://a.example/feed")
	renewed := held
	renewed.Feed.LeaseUntil = time.Now().Add(2 * time.Minute)
	_, err = reg.Update(t.Context(), renewed) // the reply the poll never read
	require.NoError(t, err)
	_, err = s.save(t.Context(), held, polled(held))
	require.NoError(t, err)
	got, err := reg.Get(t.Context(), "http://a.example/feed")
	require.NoError(t, err)
	require.Equal(t, 1, got.Feed.Polls)
	require.Empty(t, got.Feed.LeaseOwner, "the lease released")

	held = claim("http://b.example/feed")
	other := held
	other.Feed.Interval = time.Hour // someone else's change
	_, err = reg.Update(t.Context(), other)
	require.NoError(t, err)
	_, err = s.save(t.Context(), held, polled(held))
	require.ErrorIs(t, err, registry.ErrConflict)
	got, err = reg.Get(t.Context(), "http://b.example/feed")
	require.NoError(t, err)
	require.Equal(t, time.Hour, got.Feed.Interval)
	require.Zero(t, got.Feed.Polls)
}

// TestPollsStartWhenDueNotAtTheTick: feeds that fall due between two ticks
// are polled each at its time, not together at the next tick, which would
// send downstream a tick's pages at once (in TestLoad's latency phase, a
// 1 s tick made the tagger's queue fetch→stored's largest part).
func TestPollsStartWhenDueNotAtTheTick(t *testing.T) {
	const feeds = 8
	ns := natstest.Run(t)
	farm, _ := newRegisteredFarm(t, ns, feeds, 0)
	// Repolls fall due 3.6 to 4.4 s after the first polls, 100 ms apart:
	// the jitter's draws go round eighths of [0,1).
	const interval = 4 * time.Second
	var draws atomic.Int64
	cfg := PollerConfig{Interval: interval, Concurrency: feeds, Schedule: Schedule{MinInterval: interval, MaxInterval: interval,
		Rand: func() float64 { return float64(draws.Add(1)%feeds) / feeds }}}
	startReplica(t, ns, "r1", cfg, Shared{Tick: time.Second})

	var second []time.Time
	require.Eventually(t, func() bool {
		farm.mu.Lock()
		defer farm.mu.Unlock()
		second = second[:0]
		for _, ps := range farm.polls {
			if len(ps) >= 2 {
				second = append(second, ps[1].at)
			}
		}
		return len(second) == feeds
	}, 15*time.Second, 50*time.Millisecond, "every feed repolled")
	slices.SortFunc(second, time.Time.Compare)
	apart := 0
	for i := 1; i < len(second); i++ {
		if second[i].Sub(second[i-1]) > 40*time.Millisecond {
			apart++
		}
	}
	// At the tick, the eight would start at two instants (one gap).
	require.GreaterOrEqual(t, apart, feeds/2, "repolls started at %v", second)
}

// A replica stopped at any moment leaves no feed leased: a claim whose
// reply is cut off by the stop has still landed, and a lease left behind
// would keep the feed from every other replica until it expires.
func TestStoppingLeavesNoLease(t *testing.T) {
	const feeds = 40
	ns := natstest.Run(t)
	_, reg := newRegisteredFarm(t, ns, feeds, 0)
	const interval = 10 * time.Millisecond
	cfg := PollerConfig{Interval: interval, Concurrency: 8, Schedule: Schedule{MinInterval: interval, MaxInterval: interval}}
	for i := range 30 {
		r := startReplica(t, ns, fmt.Sprintf("r%d", i), cfg, Shared{Tick: 2 * time.Millisecond})
		time.Sleep(time.Duration(20+i*3) * time.Millisecond)
		require.NoError(t, r.stop())
		entries, err := reg.List(t.Context())
		require.NoError(t, err)
		for _, e := range entries {
			require.Empty(t, e.Feed.LeaseOwner, "stop %d left %s leased", i, e.Feed.URL)
		}
	}
}
