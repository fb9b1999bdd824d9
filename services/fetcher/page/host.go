package page

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// hostLimits keeps the fetcher polite: at most n requests in flight per
// host, and at most r requests a second per host (bursts of b). Limits are
// per host name, so a site's feeds and pages share them.
type hostLimits struct {
	n     int
	r     rate.Limit
	burst int

	mu    sync.Mutex
	hosts map[string]*hostSlot
}

type hostSlot struct {
	sem chan struct{}
	lim *rate.Limiter
}

func newHostLimits(n int, perSecond float64, burst int) *hostLimits {
	r := rate.Inf
	if perSecond > 0 {
		r = rate.Limit(perSecond)
	}
	return &hostLimits{n: n, r: r, burst: max(burst, 1), hosts: map[string]*hostSlot{}}
}

// HostKey is the key politeness is kept by: rawURL's host name, lowercased
// ("" when rawURL has none).
func HostKey(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

func (h *hostLimits) slot(host string) *hostSlot {
	host = strings.ToLower(host)
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.hosts[host]
	if !ok {
		s = &hostSlot{lim: rate.NewLimiter(h.r, h.burst)}
		if h.n > 0 {
			s.sem = make(chan struct{}, h.n)
		}
		h.hosts[host] = s
	}
	return s
}

func (s *hostSlot) release() {
	if s.sem != nil {
		<-s.sem
	}
}

// acquire waits for the host's turn; release must be called when the
// request (body included) is done.
func (h *hostLimits) acquire(ctx context.Context, host string) (release func(), err error) {
	s := h.slot(host)
	if s.sem != nil {
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err := s.lim.Wait(ctx); err != nil {
		s.release()
		return nil, err
	}
	return s.release, nil
}

// busyRetry is how soon a host whose every in-flight slot is taken is
// tried again.
const busyRetry = 20 * time.Millisecond

// try takes the host's turn if politeness allows a request at now, without
// waiting. Otherwise it returns when the host may allow one: when the rate
// gives the next token, or shortly when every in-flight slot is taken.
func (h *hostLimits) try(host string, now time.Time) (release func(), next time.Time, ok bool) {
	s := h.slot(host)
	if s.sem != nil {
		select {
		case s.sem <- struct{}{}:
		default:
			return nil, now.Add(busyRetry), false
		}
	}
	if tokens := s.lim.TokensAt(now); tokens < 1 || !s.lim.AllowN(now, 1) {
		s.release()
		wait := time.Duration((1 - tokens) / float64(s.lim.Limit()) * float64(time.Second))
		return nil, now.Add(max(wait, time.Millisecond)), false
	}
	return s.release, time.Time{}, true
}
