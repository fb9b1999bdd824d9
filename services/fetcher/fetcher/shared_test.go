package fetcher

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
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
	farm := newFeedFarm(t, feeds, 20*time.Millisecond)
	reg, err := registry.Open(t.Context(), natstest.JetStream(t, ns), "feeds", 1)
	require.NoError(t, err)
	for i := range feeds {
		_, err := reg.Add(t.Context(), farm.feed(i), time.Now())
		require.NoError(t, err)
	}
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

// While the stages downstream hold more than MaxBacklog articles, no feed
// is polled for the first time, but the feeds already polled keep their
// schedule; once the backlog is worked off, the rest are taken on.
func TestBacklogHoldsNewFeedsNotRepolls(t *testing.T) {
	const feeds, items, maxBacklog = 10, 5, 12
	var mu sync.Mutex
	polls := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/feed/") {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, "<html><body><p>Page %s.</p></body></html>", r.URL.Path)
			return
		}
		mu.Lock()
		polls[r.URL.Path]++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>f</title><link>/</link>`)
		for j := range items {
			fmt.Fprintf(w, `<item><title>%d</title><link>%s/page%s/%d</link></item>`, j, "http://"+r.Host, r.URL.Path, j)
		}
		fmt.Fprint(w, `</channel></rss>`)
	}))
	t.Cleanup(srv.Close)
	polled := func() (first, repolled int) {
		mu.Lock()
		defer mu.Unlock()
		for _, n := range polls {
			first++
			if n > 1 {
				repolled++
			}
		}
		return first, repolled
	}

	ns := natstest.Run(t)
	reg, err := registry.Open(t.Context(), natstest.JetStream(t, ns), "feeds", 1)
	require.NoError(t, err)
	for i := range feeds {
		_, err := reg.Add(t.Context(), fmt.Sprintf("%s/feed/%d", srv.URL, i), time.Now())
		require.NoError(t, err)
	}
	// The stages downstream: everything published waits there until the
	// test works it off.
	var worked atomic.Int64
	var started atomic.Pointer[replica]
	metrics := mustMetrics(t, nil)
	const interval = 100 * time.Millisecond
	cfg := PollerConfig{Interval: interval, Concurrency: 4, Metrics: metrics, MaxBacklog: maxBacklog,
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

	// A first poll queues 5 pages; one is let through while the backlog
	// is below 12, so 3 feeds are taken on (a 4th when a poll ends between
	// a look at the backlog and the next admission), and no more.
	require.Eventually(t, func() bool { first, _ := polled(); return first >= 3 }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { _, re := polled(); return re >= 3 }, 10*time.Second, 10*time.Millisecond,
		"the feeds taken on are polled again on schedule")
	time.Sleep(500 * time.Millisecond) // five intervals
	first, _ := polled()
	require.LessOrEqual(t, first, 4, "feeds taken on past the backlog bound")
	require.LessOrEqual(t, len(r.pub.published()), 4*items)
	require.Equal(t, float64(feeds-first), testutil.ToFloat64(metrics.held), "the feeds held back")
	require.GreaterOrEqual(t, testutil.ToFloat64(metrics.backlog), float64(maxBacklog))

	// The stages catch up: the rest are taken on, and every page is
	// published once.
	go func() {
		for ctx := t.Context(); ctx.Err() == nil; time.Sleep(5 * time.Millisecond) {
			worked.Store(int64(len(r.pub.published())))
		}
	}()
	require.Eventually(t, func() bool { first, _ := polled(); return first == feeds }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool { return len(r.pub.published()) == feeds*items }, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, r.stop())
	require.Len(t, r.pub.published(), feeds*items, "a page published twice")
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
