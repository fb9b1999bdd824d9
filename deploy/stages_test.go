package deploy

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/fetcher/fetcher"
	"github.com/newsflow/newsflow/services/normalizer/normalizer"
	"github.com/newsflow/newsflow/services/sink/sink"
	"github.com/newsflow/newsflow/services/tagger/tagger"
	"github.com/newsflow/newsflow/stage"
)

// poisonFeed serves on loopback a feed with one item whose page holds no
// article, which the normalizer dead-letters (reason empty_extraction).
func poisonFeed(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	var srv *httptest.Server
	mux.HandleFunc("/feed.xml", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>poison</title><link>%[1]s/</link>
<item><title>Nothing here</title><link>%[1]s/empty.html</link><guid>%[1]s/empty.html</guid><pubDate>Mon, 23 Nov 2026 10:00:00 GMT</pubDate></item>
</channel></rss>`, srv.URL)
	})
	mux.HandleFunc("/empty.html", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<html><head><title>Home</title></head><body><nav>Home</nav></body></html>")
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL + "/feed.xml"
}

// fetcherOptions are the fetcher's defaults for feeds served on loopback
// by this test: the fetcher refuses loopback unless told otherwise, so
// exactly the feeds' address:port services are let through (what the
// all-in-one does for its own sample site).
func fetcherOptions(t *testing.T, feeds []string) fetcher.Config {
	t.Helper()
	fo := fetcher.DefaultConfig()
	fo.Feeds = feeds
	fo.HostRate = 0
	for _, f := range feeds {
		u, err := url.Parse(f)
		require.NoError(t, err)
		ap, err := netip.ParseAddrPort(u.Host)
		require.NoError(t, err, f)
		fo.AllowServices = append(fo.AllowServices, ap)
	}
	return fo
}

// inProcess runs the four services' code in this process, each stage with its
// own NATS connection to the URL url(stage) returns, as the service binaries
// would (one shared registry, as in the all-in-one).
type inProcess struct {
	tel     *stage.Telemetry
	fetcher *fetcher.Stage
}

func startStages(t *testing.T, url func(name string) string, feeds []string, streamMaxBytes stage.ByteSize) *inProcess {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tel, health := stage.NewTelemetry(), stage.NewHealth()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var rts []*stage.Runtime
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		for _, rt := range rts {
			rt.Close()
		}
	})
	newRuntime := func(name string) *stage.Runtime {
		cfg := stage.DefaultConfig()
		cfg.NATSURL = url(name)
		cfg.RetryBase, cfg.RetryMax = 100*time.Millisecond, time.Second
		cfg.StreamMaxBytes = streamMaxBytes
		startCtx, stop := context.WithTimeout(ctx, 20*time.Second)
		defer stop()
		rt, err := stage.New(startCtx, cfg, stage.Options{Name: name, Telemetry: tel, Health: health, Logger: log})
		require.NoError(t, err, name)
		rts = append(rts, rt)
		return rt
	}
	data := t.TempDir()
	runs := map[string]func(context.Context, *stage.Runtime) error{
		normalizer.Name: func(ctx context.Context, rt *stage.Runtime) error {
			return normalizer.Run(ctx, rt, normalizer.DefaultConfig())
		},
		tagger.Name: func(ctx context.Context, rt *stage.Runtime) error { return tagger.Run(ctx, rt, tagger.DefaultConfig()) },
		sink.Name: func(ctx context.Context, rt *stage.Runtime) error {
			return sink.Run(ctx, rt, sink.Config{Store: "sqlite:" + filepath.Join(data, "newsflow.db")})
		},
	}
	for _, name := range []string{normalizer.Name, tagger.Name, sink.Name} {
		rt, run := newRuntime(name), runs[name]
		wg.Go(func() {
			if err := run(ctx, rt); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		})
	}
	f, err := fetcher.Start(ctx, newRuntime(fetcher.Name), fetcherOptions(t, feeds))
	require.NoError(t, err)
	return &inProcess{tel: tel, fetcher: f}
}

// ingest polls the feeds once and waits until every published article is
// stored or dead-lettered; it returns how many were published.
func (s *inProcess) ingest(t *testing.T) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := s.fetcher.Once(ctx)
	require.NoError(t, err)
	require.Positive(t, st.Published)
	require.Eventually(t, func() bool {
		done := s.tel.MessageCount(sink.Name, stage.OutcomeOK) + s.tel.MessageCount(sink.Name, stage.OutcomeDuplicate)
		for _, name := range []string{normalizer.Name, tagger.Name, sink.Name} {
			done += s.tel.MessageCount(name, stage.OutcomeDeadLettered)
		}
		return int(done) == st.Published
	}, 90*time.Second, 50*time.Millisecond, "articles not all stored or dead-lettered")
	return st.Published
}
