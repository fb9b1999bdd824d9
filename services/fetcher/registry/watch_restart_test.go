package registry

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/stage/natstest"
)

// A watch ends with ErrReconnected when nats-server restarts on its store,
// and the watch made again delivers changes at once: nats.go's own recovery
// of the watch's consumer took 15-20 s, during which a fetcher kept stale
// revisions (every claim of a feed whose last write's ack was lost failed)
// and missed feeds an operator added.
func TestWatchAcrossServerRestarts(t *testing.T) {
	srv := natstest.RunRestartable(t)
	connect := func() jetstream.JetStream { js, _ := srv.JetStream(); return js }
	reg, err := Open(t.Context(), connect(), "feeds", 1)
	require.NoError(t, err)
	other, err := Open(t.Context(), connect(), "feeds", 1)
	require.NoError(t, err)

	var mu sync.Mutex
	seen := map[string]bool{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	watches := 0
	go func() {
		// As the fetcher's scheduler does: watch again at once when the
		// connection was made again.
		for ctx.Err() == nil {
			mu.Lock()
			watches++
			mu.Unlock()
			err := reg.Watch(ctx, func(e Entry, removed bool) {
				mu.Lock()
				defer mu.Unlock()
				seen[e.Feed.URL] = !removed
			})
			if !errors.Is(err, ErrReconnected) {
				return
			}
		}
	}()
	has := func(u string) func() bool {
		return func() bool { mu.Lock(); defer mu.Unlock(); return seen[u] }
	}
	for i := range 3 {
		u := "https://a.example/feed" + string(rune('0'+i)) + ".xml"
		_, err = other.Add(t.Context(), u, time.Now())
		require.NoError(t, err)
		require.Eventually(t, has(u), 5*time.Second, 20*time.Millisecond, "restart %d: %s", i, u)

		srv.Stop()
		time.Sleep(500 * time.Millisecond)
		srv.Start()
	}
	_, err = other.Add(t.Context(), "https://a.example/last.xml", time.Now())
	require.Eventually(t, func() bool { return err == nil }, time.Second, 10*time.Millisecond)
	require.Eventually(t, has("https://a.example/last.xml"), 5*time.Second, 20*time.Millisecond, "a change after the restarts")
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 4, watches, "watched again after each of the 3 restarts")
}
