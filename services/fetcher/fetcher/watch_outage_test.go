package fetcher

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/fetcher/registry"
	"github.com/newsflow/newsflow/stage/natstest"
)

// TestFetcherPollsThroughNATSOutage: nats-server goes away for a few
// seconds and comes back on the same address and storage. The fetcher does
// not end: it goes on polling its feeds, and a feed registered after the
// outage is picked up, so its view of the registry survived too.
func TestFetcherPollsThroughNATSOutage(t *testing.T) {
	nats := natstest.RunRestartable(t)
	ns := nats.Server()

	farm := newFeedFarm(t, 3, 0)
	reg, err := registry.Open(t.Context(), natstest.JetStream(t, ns), "feeds", 1)
	require.NoError(t, err)
	for i := range 2 {
		_, err := reg.Add(t.Context(), farm.feed(i), time.Now())
		require.NoError(t, err)
	}
	const interval = 200 * time.Millisecond
	cfg := PollerConfig{Interval: interval, Concurrency: 2, Schedule: Schedule{MinInterval: interval, MaxInterval: interval}}
	r := startReplica(t, ns, "r1", cfg, Shared{Lease: 2 * time.Second, Tick: 20 * time.Millisecond})
	begun := time.Now()
	require.Eventually(t, func() bool {
		perFeed, _ := farm.pollsSince(begun, "")
		return len(perFeed) == 2
	}, 10*time.Second, 20*time.Millisecond)

	nats.Stop()
	time.Sleep(4 * time.Second)
	select {
	case <-r.done:
		t.Fatalf("the fetcher ended during the outage: %v", r.err)
	default:
	}
	nats.Start()
	ns = nats.Server()
	back := time.Now()

	reg2, err := registry.Open(t.Context(), natstest.JetStream(t, ns), "feeds", 1)
	require.NoError(t, err)
	_, err = reg2.Add(t.Context(), farm.feed(2), time.Now())
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		perFeed, _ := farm.pollsSince(back, "")
		return len(perFeed) == 3
	}, 30*time.Second, 50*time.Millisecond, "every feed, the new one too, polled after the outage")
	select {
	case <-r.done:
		t.Fatalf("the fetcher ended: %v", r.err)
	default:
	}
}
