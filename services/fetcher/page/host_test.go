package page

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTryTurnKeepsPoliteness: a turn is given only when the host has a
// free in-flight slot and its rate allows a request; otherwise TryTurn
// says when to try again, without waiting.
func TestTryTurnKeepsPoliteness(t *testing.T) {
	c := NewClient(ClientConfig{Policy: loopback, HostConcurrency: 2, HostRate: 2})
	t0 := time.Now()
	a, _, ok := c.TryTurn("a.example", t0)
	require.True(t, ok)
	_, next, ok := c.TryTurn("a.example", t0.Add(100*time.Millisecond))
	require.False(t, ok, "2 a second: the next request 500 ms after the first")
	require.InDelta(t, float64(500*time.Millisecond), float64(next.Sub(t0)), float64(time.Millisecond))
	other, _, ok := c.TryTurn("A.example.org", t0.Add(100*time.Millisecond))
	require.True(t, ok, "another host has its own limits")
	other.Release()
	b, _, ok := c.TryTurn("a.example", next)
	require.True(t, ok)
	_, next, ok = c.TryTurn("a.example", t0.Add(2*time.Second))
	require.False(t, ok, "two requests in flight already")
	require.Equal(t, t0.Add(2*time.Second).Add(busyRetry), next)
	a.Release()
	a.Release() // twice is once
	c3, _, ok := c.TryTurn("a.example", t0.Add(2*time.Second))
	require.True(t, ok, "a slot freed")
	_, _, ok = c.TryTurn("a.example", t0.Add(3*time.Second))
	require.False(t, ok, "still two in flight: a second Release of one turn freed nothing")
	b.Release()
	c3.Release()
}

// TestTimeoutStartsWhenSent: the time waited for the host's turn is not
// part of -timeout, and that wait has its own bound. Before, a request
// queued behind its host's rate failed with "rate: Wait(n=1) would exceed
// context deadline" without ever being sent.
func TestTimeoutStartsWhenSent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond)
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)

	c := NewClient(ClientConfig{Policy: loopback, HostRate: 1, Timeout: 600 * time.Millisecond})
	_, err := c.Get(t.Context(), srv.URL+"/1", Conditional{})
	require.NoError(t, err)
	start := time.Now()
	_, err = c.Get(t.Context(), srv.URL+"/2", Conditional{}) // waits about 1 s for its turn
	require.NoError(t, err)
	require.Greater(t, time.Since(start), 700*time.Millisecond, "the host's rate was kept")

	busy := NewClient(ClientConfig{Policy: loopback, HostRate: 0.1, HostWait: 200 * time.Millisecond})
	_, err = busy.Get(t.Context(), srv.URL+"/1", Conditional{})
	require.NoError(t, err)
	_, err = busy.Get(t.Context(), srv.URL+"/2", Conditional{}) // its turn is 10 s away
	require.ErrorIs(t, err, ErrHostBusy)
	require.ErrorIs(t, err, ErrTransient)
	require.Equal(t, ClassHostBusy, ErrorClass(err))
}

func TestHostKey(t *testing.T) {
	require.Equal(t, "news.example", HostKey("https://NEWS.example:8443/a?b"))
	require.Equal(t, "127.0.1.2", HostKey("http://127.0.1.2:9000/feed.xml"))
	require.Empty(t, HostKey("::bad"))
}

// TestCrawlDelaySlowsItsHostOnly: a site's Crawl-delay, slower than
// -host-rate, spaces that host's requests (capped at MaxCrawlDelay); other
// hosts keep the configured rate.
func TestCrawlDelaySlowsItsHostOnly(t *testing.T) {
	c := NewClient(ClientConfig{HostRate: 100, HostConcurrency: 4})
	now := time.Now()
	take := func(host string) (time.Time, bool) {
		turn, next, ok := c.TryTurn(host, now)
		if ok {
			turn.Release()
		}
		return next, ok
	}
	c.SetCrawlDelay("slow.example", 5*time.Second)
	_, ok := take("slow.example")
	require.True(t, ok)
	next, ok := take("slow.example")
	require.False(t, ok)
	require.InDelta(t, 5*time.Second, next.Sub(now), float64(50*time.Millisecond), "one request per Crawl-delay")
	_, ok = take("fast.example")
	require.True(t, ok)
	next, _ = take("fast.example")
	require.Less(t, next.Sub(now), 100*time.Millisecond, "another host is not slowed")
	c.SetCrawlDelay("slower.example", 3*time.Hour)
	take("slower.example")
	next, _ = take("slower.example")
	require.LessOrEqual(t, next.Sub(now), MaxCrawlDelay+time.Millisecond, "capped")
	c.SetCrawlDelay("slow.example", 0)
	next, ok = take("slow.example")
	require.False(t, ok)
	require.Less(t, next.Sub(now), time.Second, "the delay lifted: back to the host rate")
}

// TestIdleHostsAreDropped: the slots of hosts not used for a while go, so
// the limiter map holds the hosts in use, not every host ever fetched; a
// slot with a request in flight stays, and a Crawl-delay outlives its slot.
func TestIdleHostsAreDropped(t *testing.T) {
	h := newHostLimits(2, 1, 1)
	h.setDelay("delayed.example", 10*time.Second)
	for _, host := range []string{"a.example", "b.example", "delayed.example"} {
		h.slot(host)
	}
	busy := h.slot("busy.example")
	busy.sem <- struct{}{}
	require.Equal(t, 4, h.size())
	h.mu.Lock()
	for _, s := range h.hosts {
		s.used = time.Now().Add(-idleAfter - time.Minute)
	}
	h.lastSweep = time.Time{}
	h.mu.Unlock()
	h.slot("c.example")
	require.Equal(t, 2, h.size(), "the idle ones went; busy and c stay")
	s := h.slot("delayed.example")
	require.InDelta(t, 0.1, float64(s.lim.Limit()), 1e-9, "a new slot keeps the host's Crawl-delay")
}
