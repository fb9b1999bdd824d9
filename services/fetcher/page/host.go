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
// host, and at most r requests a second per host (bursts of b), or fewer
// when the site's robots.txt asks for a Crawl-delay. Limits are per host
// name, so a site's feeds and pages share them. A host's slot unused for
// idleAfter is dropped, so the map holds the hosts in use, not every host
// ever fetched.
type hostLimits struct {
	n     int
	r     rate.Limit
	burst int

	mu        sync.Mutex
	hosts     map[string]*hostSlot
	delays    map[string]time.Duration // Crawl-delay by host
	lastSweep time.Time
}

type hostSlot struct {
	sem chan struct{}
	lim *rate.Limiter
	// used is when the slot was last handed out (under hostLimits.mu).
	used time.Time
}

// idleAfter is how long a host's slot is kept unused; sweepEvery how often
// idle slots are looked for.
const (
	idleAfter  = 10 * time.Minute
	sweepEvery = time.Minute
)

// MaxCrawlDelay caps the Crawl-delay honoured: a longer one would let one
// site's robots.txt hold its pages for hours.
const MaxCrawlDelay = 60 * time.Second

func newHostLimits(n int, perSecond float64, burst int) *hostLimits {
	r := rate.Inf
	if perSecond > 0 {
		r = rate.Limit(perSecond)
	}
	return &hostLimits{n: n, r: r, burst: max(burst, 1), hosts: map[string]*hostSlot{}, delays: map[string]time.Duration{}}
}

// limit is host's request rate: the configured one, or one request per
// Crawl-delay when that is slower.
func (h *hostLimits) limit(host string) (rate.Limit, int) {
	if d, ok := h.delays[host]; ok && d > 0 {
		if l := rate.Every(d); l < h.r {
			return l, 1
		}
	}
	return h.r, h.burst
}

// setDelay applies host's Crawl-delay (0: none), capped at MaxCrawlDelay.
func (h *hostLimits) setDelay(host string, d time.Duration) {
	host = strings.ToLower(host)
	d = min(d, MaxCrawlDelay)
	h.mu.Lock()
	defer h.mu.Unlock()
	if d <= 0 {
		delete(h.delays, host)
	} else {
		h.delays[host] = d
	}
	if s, ok := h.hosts[host]; ok {
		l, b := h.limit(host)
		s.lim.SetLimit(l)
		s.lim.SetBurst(b)
	}
}

// sweep drops the slots not handed out for idleAfter; h.mu is held. A
// slot's user got it less than idleAfter ago, and every request is bounded
// well below that, so no slot in use is dropped.
func (h *hostLimits) sweep(now time.Time) {
	if now.Sub(h.lastSweep) < sweepEvery {
		return
	}
	h.lastSweep = now
	for host, s := range h.hosts {
		if now.Sub(s.used) > idleAfter && (s.sem == nil || len(s.sem) == 0) {
			delete(h.hosts, host)
		}
	}
}

// size is the number of hosts with a slot.
func (h *hostLimits) size() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.hosts)
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
	now := time.Now()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.sweep(now)
	s, ok := h.hosts[host]
	if !ok {
		s = &hostSlot{lim: rate.NewLimiter(h.limit(host))}
		if h.n > 0 {
			s.sem = make(chan struct{}, h.n)
		}
		h.hosts[host] = s
	}
	s.used = now
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
