package fetcher

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/stage"
	"github.com/newsflow/newsflow/stage/natstest"
)

// TestFetcherWaitsOutNATSOutage: NATS goes away before the fetcher publishes
// a directory of pages and comes back 6 seconds later. Before, the fetcher
// exited 1 ("publish … context deadline exceeded") with most files never
// published; now it waits, reports not ready meanwhile, and publishes every
// file once NATS is back.
func TestFetcherWaitsOutNATSOutage(t *testing.T) {
	srv := natstest.RunRestartable(t)

	const files = 300
	dir := t.TempDir()
	for i := range files {
		body := fmt.Sprintf("<html><head><title>Report %d</title></head><body><article><p>Harbour report number %d.</p></article></body></html>", i, i)
		require.NoError(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("p%03d.html", i)), []byte(body), 0o644))
	}

	cfg := stage.DefaultConfig()
	cfg.NATSURL = srv.Server().ClientURL()
	health := stage.NewHealth()
	rt, err := stage.New(t.Context(), cfg, stage.Options{Name: "fetcher", Health: health, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	defer rt.Close()
	o := DefaultConfig()
	o.Ingest, o.Once = dir, true
	s, err := Start(t.Context(), rt, o)
	require.NoError(t, err)

	srv.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	type result struct {
		st  Stats
		err error
	}
	done := make(chan result, 1)
	go func() { st, err := s.Once(ctx); done <- result{st, err} }()

	require.Eventually(t, func() bool { return health.Check(ctx)["fetcher/publish"] != nil }, 15*time.Second, 50*time.Millisecond,
		"not ready once a publish waits")
	time.Sleep(6 * time.Second)
	select {
	case r := <-done:
		t.Fatalf("the fetcher gave up while NATS was away: %+v %v", r.st, r.err)
	default:
	}
	require.Contains(t, health.Check(ctx), "fetcher/publish", "not ready while NATS is away")
	srv.Start()

	r := <-done
	require.NoError(t, r.err)
	require.Equal(t, files, r.st.Published)
	require.NotContains(t, health.Check(ctx), "fetcher/publish", "ready again")
	js := rt.JetStream()
	str, err := js.Stream(ctx, stage.StreamFor(stage.SubjectFetched))
	require.NoError(t, err)
	info, err := str.Info(ctx)
	require.NoError(t, err)
	require.Equal(t, uint64(files), info.State.Msgs)
}
