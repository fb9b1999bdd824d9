package registry

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/stage/natstest"
)

func TestRegistry(t *testing.T) {
	ns := natstest.Run(t)
	reg, err := Open(t.Context(), natstest.JetStream(t, ns), "feeds", 0)
	require.NoError(t, err)
	now := time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)

	added, err := reg.Add(t.Context(), "https://a.example/feed.xml", now)
	require.NoError(t, err)
	require.True(t, added)
	added, err = reg.Add(t.Context(), "HTTPS://A.EXAMPLE:443/feed.xml?utm_source=x", now)
	require.NoError(t, err)
	require.False(t, added, "another spelling of the same feed")
	_, err = reg.Add(t.Context(), "ftp://a.example/feed", now)
	require.Error(t, err)

	e, err := reg.Get(t.Context(), "https://a.example/feed.xml")
	require.NoError(t, err)
	require.Equal(t, "https://a.example/feed.xml", e.Feed.URL)
	require.Equal(t, now, e.Feed.Added)

	// Compare-and-set: the second writer at the same revision loses.
	first, second := e, e
	first.Feed.ETag = `"1"`
	second.Feed.ETag = `"2"`
	_, err = reg.Update(t.Context(), first)
	require.NoError(t, err)
	_, err = reg.Update(t.Context(), second)
	require.ErrorIs(t, err, ErrConflict)
	e, err = reg.Get(t.Context(), "https://a.example/feed.xml")
	require.NoError(t, err)
	require.Equal(t, `"1"`, e.Feed.ETag)

	// An update of a removed feed does not bring it back.
	require.NoError(t, reg.Remove(t.Context(), "https://a.example/feed.xml"))
	_, err = reg.Update(t.Context(), e)
	require.ErrorIs(t, err, ErrNotFound)
	_, err = reg.Get(t.Context(), "https://a.example/feed.xml")
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, reg.Remove(t.Context(), "https://a.example/feed.xml"), ErrNotFound)
	list, err := reg.List(t.Context())
	require.NoError(t, err)
	require.Empty(t, list)
}

// Of many replicas racing for one lease, exactly one wins.
func TestLeaseRace(t *testing.T) {
	ns := natstest.Run(t)
	reg, err := Open(t.Context(), natstest.JetStream(t, ns), "feeds", 1)
	require.NoError(t, err)
	_, err = reg.Add(t.Context(), "https://a.example/feed.xml", time.Now())
	require.NoError(t, err)
	e, err := reg.Get(t.Context(), "https://a.example/feed.xml")
	require.NoError(t, err)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []string
	for _, name := range []string{"r1", "r2", "r3", "r4", "r5", "r6"} {
		other, err := Open(t.Context(), natstest.JetStream(t, ns), "feeds", 0)
		require.NoError(t, err)
		wg.Go(func() {
			claim := e
			claim.Feed.LeaseOwner, claim.Feed.LeaseUntil = name, time.Now().Add(time.Minute)
			if _, err := other.Update(context.Background(), claim); err == nil {
				mu.Lock()
				winners = append(winners, name)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Len(t, winners, 1)
	got, err := reg.Get(t.Context(), "https://a.example/feed.xml")
	require.NoError(t, err)
	require.Equal(t, winners[0], got.Feed.LeaseOwner)
	require.True(t, got.Feed.Leased(time.Now(), "someone-else"))
	require.False(t, got.Feed.Leased(time.Now(), winners[0]))
	require.False(t, got.Feed.Leased(time.Now().Add(2*time.Minute), "someone-else"), "an expired lease")
}

func TestWatch(t *testing.T) {
	ns := natstest.Run(t)
	reg, err := Open(t.Context(), natstest.JetStream(t, ns), "feeds", 1)
	require.NoError(t, err)
	_, err = reg.Add(t.Context(), "https://a.example/feed.xml", time.Now())
	require.NoError(t, err)

	var mu sync.Mutex
	seen := map[string]bool{}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- reg.Watch(ctx, func(e Entry, removed bool) {
			mu.Lock()
			defer mu.Unlock()
			if removed {
				delete(seen, e.Key)
			} else {
				seen[e.Key] = true
			}
		})
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(seen) }
	require.Eventually(t, func() bool { return count() == 1 }, 5*time.Second, 10*time.Millisecond)
	_, err = reg.Add(t.Context(), "https://b.example/feed.xml", time.Now())
	require.NoError(t, err)
	require.Eventually(t, func() bool { return count() == 2 }, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, reg.Remove(t.Context(), "https://a.example/feed.xml"))
	require.Eventually(t, func() bool { return count() == 1 }, 5*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

// List sees every feed while replicas keep rewriting them.
func TestListWhileEntriesChange(t *testing.T) {
	ns := natstest.Run(t)
	reg, err := Open(t.Context(), natstest.JetStream(t, ns), "feeds", 1)
	require.NoError(t, err)
	const feeds = 200
	for i := range feeds {
		_, err := reg.Add(t.Context(), "https://a.example/feed/"+string(rune('a'+i%26))+"/"+time.Duration(i).String(), time.Now())
		require.NoError(t, err)
	}
	all, err := reg.List(t.Context())
	require.NoError(t, err)
	require.Len(t, all, feeds)

	writer, err := Open(t.Context(), natstest.JetStream(t, ns), "feeds", 1)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			e := all[i%feeds]
			e.Feed.Polls = i
			if rev, err := writer.Update(ctx, e); err == nil {
				all[i%feeds].Revision = rev
			}
		}
	})
	for range 5 {
		got, err := reg.List(t.Context())
		require.NoError(t, err)
		require.Equal(t, feeds, len(got), "feeds listed")
	}
	cancel()
	wg.Wait()
}
