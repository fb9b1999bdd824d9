package fetcher

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/fetcher/page"
	"github.com/newsflow/newsflow/services/fetcher/registry"
	"github.com/newsflow/newsflow/services/fetcher/seen"
	"github.com/newsflow/newsflow/stage/natstest"
)

// benchHosts spreads the benchmark's feeds over this many host names, all
// resolving to the local server, so per-host limits apply as they would.
const benchHosts = 500

type loopbackResolver struct{}

func (loopbackResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// BenchmarkPoll5000Feeds polls 5,000 feeds on 500 host names, served by a
// local server, with their state in the registry bucket and their items in
// the seen bucket of an embedded NATS server: one op is one poll of every
// feed. Every answer is a changed feed of ten items already seen (the
// steady state: fetch, parse, ten seen-set lookups, one state write), so
// nothing is published. Reported: feeds polled per minute per core, and
// the process heap after the poll (the embedded NATS server and the test
// HTTP server included).
func BenchmarkPoll5000Feeds(b *testing.B) {
	const feeds = 5000
	var generation atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Header().Set("ETag", fmt.Sprintf(`"%d"`, generation.Load()))
		var sb strings.Builder
		sb.WriteString(`<?xml version="1.0"?><rss version="2.0"><channel><title>bench</title><link>/</link>`)
		for i := range 10 {
			fmt.Fprintf(&sb, `<item><title>Item %d</title><link>%s/a/%d.html</link><pubDate>Mon, 02 Jun 2025 08:00:00 GMT</pubDate></item>`, i, r.URL.Path, i)
		}
		sb.WriteString(`</channel></rss>`)
		_, _ = w.Write([]byte(sb.String()))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())

	ns := natstest.Run(b)
	js := natstest.JetStream(b, ns)
	reg, err := registry.Open(b.Context(), js, "feeds", 1)
	require.NoError(b, err)
	set, err := seen.Open(b.Context(), js, "seen", time.Hour, 1)
	require.NoError(b, err)
	var urls []string
	for i := range feeds {
		u := fmt.Sprintf("http://host-%d.bench.test:%s/feed/%d", i%benchHosts, port, i)
		urls = append(urls, u)
		_, err := reg.Add(b.Context(), u, time.Now())
		require.NoError(b, err)
	}
	client := page.NewClient(page.ClientConfig{
		Resolver: loopbackResolver{}, HostRate: -1, HostConcurrency: 2,
		Policy: page.NetPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
	})
	// Every item is known already, as after the first poll.
	var marks sync.WaitGroup
	var markErr atomic.Value
	slots := make(chan struct{}, 16)
	for _, u := range urls {
		for i := range 10 {
			slots <- struct{}{}
			marks.Go(func() {
				defer func() { <-slots }()
				if err := set.Add(b.Context(), fmt.Sprintf("%s/a/%d.html", u, i)); err != nil {
					markErr.Store(err)
				}
			})
		}
	}
	marks.Wait()
	require.Nil(b, markErr.Load())
	pub := &memPublisher{}
	p := NewPoller(PollerConfig{Feeds: urls, Concurrency: 32, FeedStates: RegistryFeedStates{Registry: reg}}, client, set, pub, nil)
	st, err := p.PollOnce(b.Context()) // warm up connections and the registry
	require.NoError(b, err)
	require.Equal(b, feeds*10, st.SkippedSeen, "%+v", st)

	start := time.Now()
	for b.Loop() {
		generation.Add(1)
		st, err := p.PollOnce(b.Context())
		require.NoError(b, err)
		require.Equal(b, feeds, st.FeedsPolled)
		require.Equal(b, feeds*10, st.SkippedSeen)
		require.Empty(b, st.FeedsFailed)
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(feeds*b.N)/elapsed.Minutes()/float64(runtime.GOMAXPROCS(0)), "feeds/min/core")
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
}
