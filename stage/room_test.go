package stage

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/stage/natstest"
)

// TestByteSize: sizes read as nats.conf reads them (K, M, G decimal; KB,
// KiB binary), and print back to what reads the same.
func TestByteSize(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "500M": 500e6, "20G": 20e9, "6GiB": 6 << 30,
		"1.5gb": 3 << 29, "64k": 64e3, "64KB": 64 << 10, "2TB": 2 << 40, "2t": 2e12, "0": 0} {
		var b ByteSize
		require.NoError(t, b.Set(in), in)
		require.Equal(t, want, int64(b), in)
		var back ByteSize
		require.NoError(t, back.Set(b.String()), b.String())
		require.Equal(t, b, back, in)
	}
	for _, in := range []string{"", "-1G", "lots", "20X", "1e30G", "G"} {
		var b ByteSize
		require.Error(t, b.Set(in), in)
	}
	b := ByteSize(20e9)
	require.Equal(t, "20G", b.String())
	b = ByteSize(6 << 30)
	require.Equal(t, "6GiB", b.String())
	b = ByteSize(1000)
	require.Equal(t, "1K", b.String())
	b = ByteSize(1001)
	require.Equal(t, "1001", b.String())
}

// TestFullStreamHoldsWorkAndTrimsOnlySettledHistory fills a byte-bounded
// input stream while its stage is stopped: the stream refuses new pages
// (nothing in it is discarded) and the fetcher's publisher waits, holding
// its pages. Once the stage runs, it trims the history it has settled to
// make room, the waiting pages go in, and every page is handled exactly
// once: trimming removed nothing that was not processed.
func TestFullStreamHoldsWorkAndTrimsOnlySettledHistory(t *testing.T) {
	s := natstest.Run(t)
	cfg := testConfig(s.ClientURL())
	cfg.StreamMaxBytes = 1 << 20
	fetcher, _ := quietRuntime(t, cfg, "fetcher")
	pub, err := fetcher.Publisher(t.Context(), SubjectFetched)
	require.NoError(t, err)
	pub = pub.Waiting()
	normalizer, tel := quietRuntime(t, cfg, "normalizer")
	normalizer.watchEvery = 50 * time.Millisecond
	_, err = normalizer.ensureConsumer(t.Context(), SubjectFetched) // deployed, not yet running
	require.NoError(t, err)

	const n = 120 // 120 pages of 20 KB: more than twice the 1 MiB bound
	page := strings.Repeat("page ", 4000)
	published := make(chan error, 1)
	go func() {
		for i := range n {
			a := article(fmt.Sprint("p", i))
			a.Fetch = &newsflowv1.Fetch{Body: []byte(page)}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			err := pub.Publish(ctx, a)
			cancel()
			if err != nil {
				published <- fmt.Errorf("page %d: %w", i, err)
				return
			}
		}
		published <- nil
	}()

	js := natstest.JetStream(t, s)
	stream, err := js.Stream(t.Context(), "ARTICLES_FETCHED")
	require.NoError(t, err)
	info := func() *jetstream.StreamInfo {
		i, err := stream.Info(t.Context())
		require.NoError(t, err)
		return i
	}
	require.Eventually(t, func() bool { return fetcher.Health().Check(t.Context())["fetcher/publish"] != nil },
		10*time.Second, 10*time.Millisecond, "the fetcher waits on the full stream and says so")
	full := info()
	require.Equal(t, jetstream.DiscardNew, full.Config.Discard)
	require.Less(t, full.State.Msgs, uint64(n/2))
	require.Equal(t, uint64(1), full.State.FirstSeq, "nothing was discarded to make room")
	select {
	case err := <-published:
		t.Fatalf("the publisher did not wait: %v", err)
	default:
	}

	var mu sync.Mutex
	handled := map[string]int{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- normalizer.Consume(ctx, SubjectFetched, "", func(_ context.Context, a *newsflowv1.Article) (*newsflowv1.Article, error) {
			mu.Lock()
			handled[a.GetId()]++
			mu.Unlock()
			return nil, nil
		})
	}()
	select {
	case err := <-published:
		require.NoError(t, err)
	case <-time.After(time.Minute):
		t.Fatal("the waiting pages never went in")
	}
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(handled) == n
	}, 30*time.Second, 20*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
	for id, c := range handled {
		require.Equal(t, 1, c, id)
	}
	last := info()
	require.Equal(t, uint64(n), last.State.LastSeq)
	require.Greater(t, last.State.FirstSeq, uint64(1), "settled history was trimmed")
	require.LessOrEqual(t, last.State.Bytes, uint64(1<<20))
	require.Positive(t, testutil.ToFloat64(tel.trimmed.WithLabelValues("ARTICLES_FETCHED")))
	require.Equal(t, float64(1<<20), testutil.ToFloat64(tel.streamMaxBytes.WithLabelValues("ARTICLES_FETCHED")))
}

// TestStreamBoundAppliedOnUpgrade: a stream created without a byte bound
// gets -stream-max-bytes from the stage consuming it.
func TestStreamBoundAppliedOnUpgrade(t *testing.T) {
	s := natstest.Run(t)
	old := testConfig(s.ClientURL())
	rt, _ := quietRuntime(t, old, "fetcher")
	_, err := rt.Publisher(t.Context(), SubjectFetched)
	require.NoError(t, err)
	st, err := natstest.JetStream(t, s).Stream(t.Context(), "ARTICLES_FETCHED")
	require.NoError(t, err)
	require.Equal(t, int64(-1), st.CachedInfo().Config.MaxBytes)

	bounded := old
	bounded.StreamMaxBytes = 64 << 20
	normalizer, _ := quietRuntime(t, bounded, "normalizer")
	_, err = normalizer.keepRoom(t.Context(), "ARTICLES_FETCHED")
	require.NoError(t, err)
	info, err := st.Info(t.Context())
	require.NoError(t, err)
	require.Equal(t, int64(64<<20), info.Config.MaxBytes)
	require.Equal(t, jetstream.DiscardNew, info.Config.Discard)
	require.Equal(t, old.Retention, info.Config.MaxAge, "the rest is left as it was")
}
