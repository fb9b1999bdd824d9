package seen

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/stage/natstest"
)

func TestSet(t *testing.T) {
	srv := natstest.Run(t)
	ctx := t.Context()
	set, err := Open(ctx, natstest.JetStream(t, srv), "seen_test", time.Hour, 1)
	require.NoError(t, err)

	urls := []string{
		"https://example.com/a",
		"https://example.com/a?b=*&c=>", // characters that are invalid in raw KV keys
		"https://example.com/path with spaces/" + strings.Repeat("long", 100), // over the 255-byte key size nats suggests
	}
	for _, u := range urls {
		has, err := set.Has(ctx, u)
		require.NoError(t, err)
		require.False(t, has, u)
		require.NoError(t, set.Add(ctx, u))
		has, err = set.Has(ctx, u)
		require.NoError(t, err)
		require.True(t, has, u)
	}
	has, err := set.Has(ctx, "https://example.com/b")
	require.NoError(t, err)
	require.False(t, has)

	// Reopening, as a restarted or second replica does, keeps the contents.
	again, err := Open(ctx, natstest.JetStream(t, srv), "seen_test", time.Hour, 1)
	require.NoError(t, err)
	for _, u := range urls {
		has, err := again.Has(ctx, u)
		require.NoError(t, err)
		require.True(t, has, u)
	}
}

func TestSetExpires(t *testing.T) {
	srv := natstest.Run(t)
	ctx := t.Context()
	set, err := Open(ctx, natstest.JetStream(t, srv), "seen_ttl", time.Second, 1)
	require.NoError(t, err)
	require.NoError(t, set.Add(ctx, "https://example.com/old"))

	require.Eventually(t, func() bool {
		has, err := set.Has(ctx, "https://example.com/old")
		return err == nil && !has
	}, 10*time.Second, 100*time.Millisecond, "entry did not expire")
}

func TestOpenBadBucket(t *testing.T) {
	srv := natstest.Run(t)
	_, err := Open(t.Context(), natstest.JetStream(t, srv), "not a valid name", time.Hour, 1)
	require.Error(t, err)
}

func TestKey(t *testing.T) {
	require.Len(t, Key("https://example.com/a"), 64)
	require.Equal(t, Key("https://example.com/a"), Key("https://example.com/a"))
	require.NotEqual(t, Key("https://example.com/a"), Key("https://example.com/b"))
}

func BenchmarkHas(b *testing.B) {
	srv := natstest.Run(b)
	set, err := Open(b.Context(), natstest.JetStream(b, srv), "seen_bench", 0, 1)
	if err != nil {
		b.Fatal(err)
	}
	if err := set.Add(b.Context(), "https://example.com/a"); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := set.Has(b.Context(), "https://example.com/a"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestLookupKeepsUpdateTime(t *testing.T) {
	ns := natstest.Run(t)
	s, err := Open(t.Context(), natstest.JetStream(t, ns), "seen", time.Hour, 1)
	require.NoError(t, err)
	updated := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)
	require.NoError(t, s.AddUpdated(t.Context(), "https://a.example/x", updated))
	found, got, err := s.Lookup(t.Context(), "https://a.example/x")
	require.NoError(t, err)
	require.True(t, found)
	require.Equal(t, updated, got)

	require.NoError(t, s.Add(t.Context(), "https://a.example/y"))
	found, got, err = s.Lookup(t.Context(), "https://a.example/y")
	require.NoError(t, err)
	require.True(t, found)
	require.True(t, got.IsZero())
}

// TestLookupRemembersRecentHits: a URL found or added lately is answered
// without the bucket (a poll lists mostly seen items), for recentFor at
// most: one deleted from the bucket by hand is unseen again after that.
func TestLookupRemembersRecentHits(t *testing.T) {
	srv := natstest.Run(t)
	ctx := t.Context()
	js := natstest.JetStream(t, srv)
	set, err := Open(ctx, js, "seen_recent", time.Hour, 1)
	require.NoError(t, err)
	set.recentFor = time.Second
	stamp := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	require.NoError(t, set.AddUpdated(ctx, "https://example.com/added", stamp))
	require.NoError(t, set.Add(ctx, "https://example.com/found"))
	other, err := Open(ctx, js, "seen_recent", time.Hour, 1)
	require.NoError(t, err)
	other.recentFor = time.Second
	found, _, err := other.Lookup(ctx, "https://example.com/found") // from the bucket, then remembered
	require.NoError(t, err)
	require.True(t, found)

	kv, err := js.KeyValue(ctx, "seen_recent")
	require.NoError(t, err)
	for _, u := range []string{"https://example.com/added", "https://example.com/found"} {
		require.NoError(t, kv.Delete(ctx, Key(u)))
	}
	found, updated, err := set.Lookup(ctx, "https://example.com/added")
	require.NoError(t, err)
	require.True(t, found, "remembered")
	require.True(t, updated.Equal(stamp), "with its update time: %v", updated)
	found, _, err = other.Lookup(ctx, "https://example.com/found")
	require.NoError(t, err)
	require.True(t, found, "remembered")

	require.Eventually(t, func() bool {
		a, _, errA := set.Lookup(ctx, "https://example.com/added")
		f, _, errF := other.Lookup(ctx, "https://example.com/found")
		return errA == nil && errF == nil && !a && !f
	}, 10*time.Second, 100*time.Millisecond, "forgotten after recentFor")
}
