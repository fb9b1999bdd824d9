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
