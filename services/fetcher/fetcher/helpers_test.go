package fetcher

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/services/fetcher/page"
	"github.com/newsflow/newsflow/services/fetcher/seen"
	"github.com/newsflow/newsflow/stage"
	"github.com/newsflow/newsflow/stage/natstest"
)

// testCap is the page client's size cap in these tests.
const testCap = 64 << 10

// pageBody is the page an article carries: the fetcher publishes it
// compressed.
func pageBody(t *testing.T, a *newsflowv1.Article) string {
	t.Helper()
	require.Equal(t, stage.BodyZstd, a.GetFetch().GetBodyEncoding(), "the fetcher compresses every page")
	b, err := stage.FetchBody(a.GetFetch())
	require.NoError(t, err)
	return string(b)
}

// memPublisher is a Publisher that keeps what it was given.
type memPublisher struct {
	mu       sync.Mutex
	articles []*newsflowv1.Article
	// fail, when set, makes Publish fail for the URLs it returns true for.
	fail func(a *newsflowv1.Article) bool
	// refuse, when set, makes Publish refuse those articles as permanent
	// failures, as the runtime does an article over the size limit.
	refuse func(a *newsflowv1.Article) bool
}

func (p *memPublisher) Publish(_ context.Context, a *newsflowv1.Article) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil && p.fail(a) {
		return errors.New("jetstream unavailable")
	}
	if p.refuse != nil && p.refuse(a) {
		return stage.Permanentf("oversize", "message exceeds the nats payload limit")
	}
	p.articles = append(p.articles, proto.Clone(a).(*newsflowv1.Article))
	return nil
}

func (p *memPublisher) published() []*newsflowv1.Article {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.articles)
}

// canonicalURLs lists the canonical URLs published, sorted, with the
// server's address replaced by "SITE" for stable comparisons.
func (p *memPublisher) canonicalURLs(site string) []string {
	var urls []string
	for _, a := range p.published() {
		urls = append(urls, strings.Replace(a.CanonicalUrl, site, "SITE", 1))
	}
	slices.Sort(urls)
	return urls
}

// site is a news site on loopback: feeds under /feeds/, articles under
// /articles/, plus pages that fail in scripted ways.
type site struct {
	*httptest.Server
	flakyFailures atomic.Int32 // /articles/flaky.html answers 500 while > 0
	requests      sync.Map     // path -> *atomic.Int32
	notModified   atomic.Int32 // 304s served for feeds
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "site", name))
		require.NoError(t, err)
		return b
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/feeds/{name}", func(w http.ResponseWriter, r *http.Request) {
		body, err := os.ReadFile(filepath.Join("testdata", "site", r.PathValue("name")))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Header().Set("ETag", `"feed-v1"`)
		if r.Header.Get("If-None-Match") == `"feed-v1"` {
			s.notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(body)
	})
	mux.HandleFunc("/feeds/broken.xml", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>This is not a feed.</body></html>"))
	})
	mux.HandleFunc("/feeds/down.xml", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadGateway)
	})
	mux.HandleFunc("/articles/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("ETag", `"`+r.PathValue("name")+`"`)
		w.Header().Set("Last-Modified", "Mon, 02 Jun 2025 07:00:00 GMT")
		_, _ = w.Write(read(r.PathValue("name")))
	})
	mux.HandleFunc("/articles/flaky.html", func(w http.ResponseWriter, r *http.Request) {
		if s.flakyFailures.Add(-1) >= 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body><p>Back up.</p></body></html>"))
	})
	mux.HandleFunc("/articles/gone.html", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusGone)
	})
	mux.HandleFunc("/articles/huge.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(strings.Repeat("<p>padding</p>", testCap/8)))
	})
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := s.requests.LoadOrStore(r.URL.Path, new(atomic.Int32))
		n.(*atomic.Int32).Add(1)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *site) hits(path string) int {
	n, ok := s.requests.Load(path)
	if !ok {
		return 0
	}
	return int(n.(*atomic.Int32).Load())
}

func (s *site) feed(name string) string { return s.URL + "/feeds/" + name }

// env is what a poller test needs: a site, a JetStream server for the
// seen-set, and a publisher.
type env struct {
	site *site
	nats *server.Server
	pub  *memPublisher
}

func newEnv(t *testing.T) *env {
	return &env{site: newSite(t), nats: natstest.Run(t), pub: &memPublisher{}}
}

// poller builds a poller as a fresh process would: its own NATS
// connection, the shared seen bucket, in-memory feed state.
func (e *env) poller(t *testing.T, cfg PollerConfig) *Poller {
	t.Helper()
	set, err := seen.Open(t.Context(), natstest.JetStream(t, e.nats), "fetcher_seen", time.Hour, 1)
	require.NoError(t, err)
	client := page.NewClient(testClientConfig())
	return NewPoller(cfg, client, set, e.pub, nil)
}

// testClientConfig reaches the test servers on loopback, with no per-host
// rate limit.
func testClientConfig() page.ClientConfig {
	return page.ClientConfig{
		MaxBytes: testCap, Timeout: 5 * time.Second, HostRate: -1, HostConcurrency: -1,
		Policy: page.NetPolicy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
	}
}

// mustMetrics is NewMetrics for a test: registered on reg (nil: not).
func mustMetrics(t *testing.T, reg prometheus.Registerer) *Metrics {
	t.Helper()
	m, err := NewMetrics(reg)
	require.NoError(t, err)
	return m
}
