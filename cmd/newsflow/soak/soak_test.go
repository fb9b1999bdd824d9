package soak

import (
	"bytes"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/cmd/newsflow/pipeline"
	"github.com/newsflow/newsflow/services/fetcher/fetcher"
	"github.com/newsflow/newsflow/services/normalizer/normalizer"
	"github.com/newsflow/newsflow/stage"
)

// TestShortSoak is the short version of the soak run: 100 feeds on 25
// hosts, 5 items each, one new item every 15-30 s, polled by the all-in-one
// with its defaults (but -min-interval) for a minute. Every item any feed
// listed is stored, politeness holds on every host, and every feed is
// polled.
func TestShortSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("a two-minute run")
	}
	if raceEnabled {
		t.Skip("measures the pipeline at speed: test.sh runs it without -race")
	}
	sc := stage.DefaultConfig()
	sc.LogLevel = "error"
	fo := fetcher.DefaultConfig()
	fo.MinInterval = 5 * time.Second
	var progress bytes.Buffer
	rep, err := Run(t.Context(), Config{
		Farm:     FarmConfig{Feeds: 100, Hosts: 25, Items: 5, PeriodMin: 15 * time.Second, PeriodMax: 30 * time.Second, Seed: 1},
		Duration: time.Minute, Drain: 90 * time.Second, Sample: 5 * time.Second,
		Pipeline: pipeline.Options{
			Stage: sc, Fetcher: fo, Normalizer: normalizer.DefaultConfig(),
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		},
		Progress: &progress,
	})
	require.NoError(t, err)
	var out bytes.Buffer
	rep.Print(&out)
	t.Logf("\n%s\n%s", progress.String(), out.String())

	require.Equal(t, 100, rep.Host.FeedsPolled)
	require.Greater(t, rep.DuringRun, 150, "about 100 × 60 s / 22 s items published during the run")
	require.Equal(t, rep.Served, rep.StoredServed, "every item the fetcher was served is stored; lost: %v", rep.Lost)
	for reason, n := range rep.DeadLetters {
		require.Zero(t, n, "dead-lettered: %s", reason)
	}
	require.GreaterOrEqual(t, rep.CoverageDuringRun(), 0.99)
	require.Positive(t, rep.Steady, "items published after the first window was stored")
	require.LessOrEqual(t, rep.Late, rep.DuringRun/100, "freshness: at most 1% of items stored later than 2×period + 1m")
	require.LessOrEqual(t, rep.Host.MaxPerSecond, 2, "politeness: -host-rate 1")
	require.LessOrEqual(t, rep.Host.MaxInFlight, 2, "politeness: -host-concurrency 2")
}
