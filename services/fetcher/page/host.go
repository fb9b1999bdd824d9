package page

import (
	"context"
	"strings"
	"sync"

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

// acquire waits for the host's turn; release must be called when the
// request (body included) is done.
func (h *hostLimits) acquire(ctx context.Context, host string) (release func(), err error) {
	host = strings.ToLower(host)
	h.mu.Lock()
	s, ok := h.hosts[host]
	if !ok {
		s = &hostSlot{lim: rate.NewLimiter(h.r, h.burst)}
		if h.n > 0 {
			s.sem = make(chan struct{}, h.n)
		}
		h.hosts[host] = s
	}
	h.mu.Unlock()
	if s.sem != nil {
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	release = func() {
		if s.sem != nil {
			<-s.sem
		}
	}
	if err := s.lim.Wait(ctx); err != nil {
		release()
		return nil, err
	}
	return release, nil
}
