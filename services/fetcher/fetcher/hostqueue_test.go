package fetcher

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/fetcher/page"
	"github.com/newsflow/newsflow/services/fetcher/registry"
	"github.com/newsflow/newsflow/services/fetcher/seen"
	"github.com/newsflow/newsflow/stage/natstest"
)

// requestLog records when each host was asked for what.
type requestLog struct {
	mu    sync.Mutex
	start time.Time
	hits  map[string][]time.Duration // host -> request times since start
}

func (l *requestLog) add(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hits[host] = append(l.hits[host], time.Since(l.start))
}

// newsHost serves, on its own loopback address, a feed listing items
// articles of its own.
func newsHost(t *testing.T, addr string, items int, log *requestLog) string {
	t.Helper()
	ln, err := net.Listen("tcp", addr+":0")
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(nil)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.add(addr)
		if r.URL.Path == "/feed.xml" {
			w.Header().Set("Content-Type", "application/rss+xml")
			fmt.Fprint(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>`)
			for i := range items {
				fmt.Fprintf(w, `<item><title>Story %d</title><link>http://%s/a/%d.html</link></item>`, i, r.Host, i)
			}
			fmt.Fprint(w, `</channel></rss>`)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<html><body><article><p>Story %s from %s.</p></article></body></html>", r.URL.Path, addr)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL + "/feed.xml"
}

// TestSlowHostHoldsUpNoOther: with two connections and a host whose
// politeness allows 4 requests a second, the 20 pages of that host do not
// hold up ten other hosts: their pages are all fetched while the slow host
// is still at its first ten. Before the per-host queues, the workers waited
// on the slow host's rate limiter, and the other hosts' pages came at its
// pace.
func TestSlowHostHoldsUpNoOther(t *testing.T) {
	log := &requestLog{start: time.Now(), hits: map[string][]time.Duration{}}
	feeds := []string{newsHost(t, "127.0.0.2", 20, log)}
	for i := range 10 {
		feeds = append(feeds, newsHost(t, fmt.Sprintf("127.0.0.%d", 3+i), 2, log))
	}
	ns := natstest.Run(t)
	set, err := seen.Open(t.Context(), natstest.JetStream(t, ns), "seen", time.Hour, 1)
	require.NoError(t, err)
	cc := testClientConfig()
	cc.HostRate, cc.HostConcurrency = 4, 1
	pub := &memPublisher{}
	p := NewPoller(PollerConfig{Feeds: feeds, Concurrency: 2}, page.NewClient(cc), set, pub, nil)

	stats, err := p.PollOnce(t.Context())
	require.NoError(t, err)
	require.Equal(t, 40, stats.Published, "%+v", stats)
	require.Len(t, pub.published(), 40)

	log.mu.Lock()
	defer log.mu.Unlock()
	slow := log.hits["127.0.0.2"]
	require.Len(t, slow, 21, "the feed and its 20 pages")
	for i := 1; i < len(slow); i++ {
		require.GreaterOrEqual(t, slow[i]-slow[i-1], 200*time.Millisecond, "the slow host's politeness was kept")
	}
	for i := range 10 {
		host := fmt.Sprintf("127.0.0.%d", 3+i)
		hits := log.hits[host]
		require.Len(t, hits, 3, host)
		require.Less(t, hits[2], slow[10], "%s waited for the slow host: its last request at %s, the slow host's 11th at %s", host, hits[2], slow[10])
	}
}

// TestQueueServesTheEarliestDueFirst: a host's waiting requests go in the
// order they were due, not the order they were queued.
func TestQueueServesTheEarliestDueFirst(t *testing.T) {
	cc := testClientConfig()
	cc.HostConcurrency = 1
	q := newHostQueue(page.NewClient(cc), 4, time.Minute, mustMetrics(t, nil))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); q.run(ctx) }()

	// The first request holds the host's only in-flight slot until told.
	hold, running := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- q.do(t.Context(), "a.example", time.Now(), func(turn *page.Turn) {
			close(running)
			<-hold
			turn.Release()
		})
	}()
	<-running
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	base := time.Now().Add(-time.Hour)
	for _, d := range []int{5, 1, 4, 2, 3} {
		wg.Go(func() {
			require.NoError(t, q.do(t.Context(), "a.example", base.Add(time.Duration(d)*time.Minute), func(turn *page.Turn) {
				mu.Lock()
				order = append(order, d)
				mu.Unlock()
				turn.Release()
			}))
		})
	}
	require.Eventually(t, func() bool { return q.len() == 5 }, 5*time.Second, time.Millisecond)
	close(hold)
	require.NoError(t, <-first)
	wg.Wait()
	require.Equal(t, []int{1, 2, 3, 4, 5}, order)

	cancel()
	<-done
	err := q.do(t.Context(), "a.example", time.Now(), func(*page.Turn) { t.Error("ran after the queue stopped") })
	require.ErrorIs(t, err, context.Canceled)
}

// TestQueueWaitIsBounded: a request that waited longer than the bound for
// its host's turn fails as host_busy without being sent, and is retried on
// the next poll; the requests that got their turn in time went.
func TestQueueWaitIsBounded(t *testing.T) {
	cc := testClientConfig()
	cc.HostRate, cc.HostConcurrency = 0.5, 1 // one request every 2 s
	q := newHostQueue(page.NewClient(cc), 4, 3*time.Second, mustMetrics(t, nil))
	go q.run(t.Context())
	var mu sync.Mutex
	var ran []time.Duration
	var errs []error
	var wg sync.WaitGroup
	start := time.Now()
	for range 4 {
		wg.Go(func() {
			err := q.do(t.Context(), "a.example", start, func(turn *page.Turn) {
				mu.Lock()
				ran = append(ran, time.Since(start))
				mu.Unlock()
				turn.Release()
			})
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, ran, 2, "at 0 s and 2 s; the third would go at 4 s, after 3 s of waiting")
	require.Len(t, errs, 2)
	for _, err := range errs {
		require.ErrorIs(t, err, page.ErrHostBusy)
		require.Equal(t, ReasonTransient, Reason(err))
	}
	require.Zero(t, q.len())
}

// TestDueFeedsLongestOverdueFirst: the scheduler hands out due feeds by
// when they were due (a feed never polled by when it was added), so a
// backlog of first polls cannot starve repolls that fall due meanwhile,
// then those that fall due before the next tick, and it reports what
// waits.
func TestDueFeedsLongestOverdueFirst(t *testing.T) {
	now := time.Now()
	at := func(m int) time.Time { return now.Add(time.Duration(m) * time.Minute) }
	s := &scheduler{Poller: NewPoller(PollerConfig{Feeds: []string{"http://x/"}}, nil, nil, nil, nil),
		sh: Shared{Owner: "me"}, feeds: map[string]registry.Entry{}, busy: map[string]bool{}, hostPolls: map[string]int{}}
	add := func(key string, f registry.Feed) { s.feeds[key] = registry.Entry{Key: key, Feed: f} }
	add("new-early", registry.Feed{Added: at(-30)})
	add("new-late", registry.Feed{Added: at(-1)})
	add("repoll-10", registry.Feed{Added: at(-600), State: registry.State{NextPoll: at(-10)}})
	add("repoll-2", registry.Feed{Added: at(-600), State: registry.State{NextPoll: at(-2)}})
	add("future", registry.Feed{Added: at(-600), State: registry.State{NextPoll: at(5)}})
	add("leased", registry.Feed{Added: at(-600), State: registry.State{NextPoll: at(-60), LeaseOwner: "other", LeaseUntil: at(1)}})
	add("busy", registry.Feed{Added: at(-600), State: registry.State{NextPoll: at(-50)}})
	s.busy["busy"] = true

	var keys []string
	for _, e := range s.due(now, now) {
		keys = append(keys, e.Key)
	}
	require.Equal(t, []string{"new-early", "repoll-10", "repoll-2", "new-late"}, keys)
	require.Equal(t, 4.0, testutil.ToFloat64(s.cfg.Metrics.overdue))
	require.InDelta(t, 30*60, testutil.ToFloat64(s.cfg.Metrics.overdueMax), 1)

	// Looking ahead: the feed that falls due within the window comes after
	// the overdue ones, and is not counted as overdue.
	keys = nil
	for _, e := range s.due(now, at(6)) {
		keys = append(keys, e.Key)
	}
	require.Equal(t, []string{"new-early", "repoll-10", "repoll-2", "new-late", "future"}, keys)
	require.Equal(t, 4.0, testutil.ToFloat64(s.cfg.Metrics.overdue))
}
