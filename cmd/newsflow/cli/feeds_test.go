package cli

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/cmd/newsflow/pipeline"
	"github.com/newsflow/newsflow/services/fetcher/fetcher"
	"github.com/newsflow/newsflow/services/normalizer/normalizer"
	"github.com/newsflow/newsflow/services/sink/sink"
	"github.com/newsflow/newsflow/stage"
	"github.com/newsflow/newsflow/stage/natsembed"
)

func TestFeedsCommand(t *testing.T) {
	data := t.TempDir()
	out := runCLI(t, "feeds", "add", "-data", data, "http://a.example/feed.xml", "https://b.example/atom.xml")
	require.Equal(t, "added    http://a.example/feed.xml\nadded    https://b.example/atom.xml\n", out)
	// Another spelling of the same URL is the same feed.
	out = runCLI(t, "feeds", "add", "-data", data, "HTTP://A.example:80/feed.xml#top")
	require.Equal(t, "present  HTTP://A.example:80/feed.xml#top\n", out)

	out = runCLI(t, "feeds", "list", "-data", data)
	require.Regexp(t, `(?m)^healthy +due +http://a\.example/feed\.xml$`, out)
	require.Regexp(t, `(?m)^healthy +due +https://b\.example/atom\.xml$`, out)
	require.Contains(t, out, "2 feeds\n")

	require.Equal(t, "removed  https://b.example/atom.xml\n", runCLI(t, "feeds", "remove", "-data", data, "https://b.example/atom.xml"))
	var stdout, stderr bytes.Buffer
	require.Equal(t, 1, Main([]string{"feeds", "remove", "-data", data, "https://b.example/atom.xml"}, nil, &stdout, &stderr))
	require.Contains(t, stderr.String(), "feed not registered")
	require.Equal(t, 2, Main([]string{"feeds", "add", "-data", data, "ftp://x.example/"}, nil, &stdout, &stderr))
	require.Equal(t, 2, Main([]string{"feeds", "frobnicate"}, nil, &stdout, &stderr))

	// With a feed of the user's registered and no -feeds, run -once polls
	// the registered feeds, not the sample site: a.example cannot be
	// reached, so every feed failed and the run exits 1. (Before, it polled
	// the sample site, ignored the registry and exited 0.)
	var so, se bytes.Buffer
	code := Main([]string{"run", "-once", "-data", data, "-http", "127.0.0.1:0", "-progress", "0", "-timeout", "5s", "-sample-addr", freeAddr(t)}, nil, &so, &se)
	require.Equal(t, 1, code, "%s\n%s", so.String(), se.String())
	require.Contains(t, so.String(), "the registered feeds")
	require.NotContains(t, so.String(), "sample site")
	require.Contains(t, se.String(), "every feed failed")
	runCLI(t, "feeds", "remove", "-data", data, "http://a.example/feed.xml")

	// Without it, a run polls the sample site's feed, which then shows in
	// the stats with its state.
	run := runOnce(t, data, "-sample-addr", freeAddr(t))
	feedURL := regexp.MustCompile(`\(feed (\S+)\)`).FindStringSubmatch(run)[1]
	out = runCLI(t, "feeds", "stats", "-data", data, feedURL)
	require.True(t, strings.HasPrefix(out, feedURL+"\n"), out)
	require.Regexp(t, `health +healthy`, out)
	require.Regexp(t, `polls +1 \(0 not modified\)`, out)
	require.Regexp(t, `new items +3\d, `, out)
	require.Regexp(t, `next poll +in `, out)
	require.Contains(t, out, "1 feeds: 1 healthy, 0 backing off, 0 failing\n")

	out = runCLI(t, "feeds", "stats", "-data", data)
	require.Contains(t, out, "1 feeds: 1 healthy")
}

// While the all-in-one runs, "feeds" reaches its NATS server through the
// URL it records under -data (its storage is locked by the running server).
func TestFeedsCommandWhileRunning(t *testing.T) {
	data := t.TempDir()
	cfg := stage.DefaultConfig()
	cfg.LogLevel = "error"
	p, err := pipeline.Start(t.Context(), pipeline.Options{
		DataDir: data, Stage: cfg, Fetcher: fetcher.DefaultConfig(), Normalizer: normalizer.DefaultConfig(),
		Sink:   sink.Config{Store: "sqlite:" + filepath.Join(data, "newsflow.db")},
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(data, natsembed.URLFile))

	require.Equal(t, "added    https://a.example/feed.xml\n", runCLI(t, "feeds", "add", "-data", data, "https://a.example/feed.xml"))
	e, err := p.Fetcher().Registry().Get(t.Context(), "https://a.example/feed.xml")
	require.NoError(t, err, "the running pipeline's registry has the feed")
	require.Equal(t, "https://a.example/feed.xml", e.Feed.URL)

	require.NoError(t, p.Close())
	require.NoFileExists(t, filepath.Join(data, natsembed.URLFile))
	// Stopped: the command opens the stored registry itself.
	require.Contains(t, runCLI(t, "feeds", "list", "-data", data), "https://a.example/feed.xml")
}

// TestFeedCredentialsAreMasked: a feed registered with user info in its URL
// shows the password masked in every output of "feeds", as the -store DSN
// is. Before, feeds add/list/stats printed it in full.
func TestFeedCredentialsAreMasked(t *testing.T) {
	data := t.TempDir()
	const secret = "s3cr3t-pw"
	u := "http://reader:" + secret + "@feeds.example/private.xml"
	var all strings.Builder
	for _, args := range [][]string{
		{"feeds", "add", "-data", data, u},
		{"feeds", "add", "-data", data, u},
		{"feeds", "list", "-data", data},
		{"feeds", "stats", "-data", data},
		{"feeds", "stats", "-data", data, u},
		{"feeds", "remove", "-data", data, u},
	} {
		out := runCLI(t, args...)
		all.WriteString(out)
		require.NotContains(t, out, secret, "%v", args)
	}
	require.Contains(t, all.String(), "http://reader:xxxxx@feeds.example/private.xml")
}
