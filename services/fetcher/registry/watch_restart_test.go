package registry

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/stage/natsembed"
)

// A watch ends with ErrReconnected when nats-server restarts on its store,
// and the watch made again delivers changes at once: nats.go's own recovery
// of the watch's consumer took 15-20 s, during which a fetcher kept stale
// revisions (every claim of a feed whose last write's ack was lost failed)
// and missed feeds an operator added.
func TestWatchAcrossServerRestarts(t *testing.T) {
	dir := t.TempDir()
	srv, err := natsembed.Start(natsembed.Options{Port: -1, StoreDir: dir})
	require.NoError(t, err)
	port := srv.Addr().(*net.TCPAddr).Port
	t.Cleanup(func() { srv.Shutdown() })
	connect := func() jetstream.JetStream {
		nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
		require.NoError(t, err)
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		require.NoError(t, err)
		return js
	}
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

		srv.Shutdown()
		srv.WaitForShutdown()
		time.Sleep(500 * time.Millisecond)
		srv, err = natsembed.Start(natsembed.Options{Port: port, StoreDir: dir})
		require.NoError(t, err)
		t.Cleanup(func() { srv.Shutdown() })
	}
	_, err = other.Add(t.Context(), "https://a.example/last.xml", time.Now())
	require.Eventually(t, func() bool { return err == nil }, time.Second, 10*time.Millisecond)
	require.Eventually(t, has("https://a.example/last.xml"), 5*time.Second, 20*time.Millisecond, "a change after the restarts")
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 4, watches, "watched again after each of the 3 restarts")
}
