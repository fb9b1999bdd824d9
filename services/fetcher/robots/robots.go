// Package robots fetches, caches and applies sites' robots.txt to article
// pages. Parsing and matching are github.com/temoto/robotstxt's (the
// parser colly and other Go crawlers use: longest-match Allow/Disallow,
// wildcards, groups by user agent, Crawl-delay), so this package only
// decides what an unreachable robots.txt means and how long an answer is
// kept.
package robots

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/temoto/robotstxt"

	"github.com/newsflow/newsflow/services/fetcher/page"
)

// ErrDenied: robots.txt disallows the URL for our User-Agent. It also
// matches page.ErrPermanent: the page is not fetched while the rule stands.
var ErrDenied = errors.New("disallowed by robots.txt")

// ErrUnavailable: robots.txt could not be fetched (5xx, network failure),
// so the site is treated as disallowing everything for now (RFC 9309
// §2.3.1.4); it matches page.ErrTransient, so the page is tried again later.
var ErrUnavailable = errors.New("robots.txt unavailable")

// Getter fetches a URL; *page.Client is one.
type Getter interface {
	Get(ctx context.Context, rawURL string, cond page.Conditional) (*page.Response, error)
}

// Cache answers whether a URL may be fetched, fetching each site's
// robots.txt at most once per TTL; it is safe for concurrent use.
type Cache struct {
	get   Getter
	agent string
	ttl   time.Duration
	// OnFetch, if set, is told about every robots.txt request (for metrics).
	OnFetch func(resp *page.Response, err error)
	// OnCrawlDelay, if set, is told each site's Crawl-delay for our agent
	// (0: none) whenever its robots.txt is read.
	OnCrawlDelay func(host string, d time.Duration)

	mu    sync.Mutex
	sites map[string]*site
}

type site struct {
	once    chan struct{} // closed when the fetch below is done
	group   *robotstxt.Group
	err     error // ErrUnavailable when the fetch failed transiently
	expires time.Time
}

// New returns a cache for the product token agent (the User-Agent's first
// word), keeping answers for ttl (failures for a tenth of it, at least a
// minute).
func New(get Getter, agent string, ttl time.Duration) *Cache {
	return &Cache{get: get, agent: agent, ttl: ttl, sites: map[string]*site{}}
}

// Check returns nil if rawURL may be fetched, an error matching ErrDenied
// if robots.txt forbids it, or one matching ErrUnavailable.
func (c *Cache) Check(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("robots: %w", err)
	}
	origin := u.Scheme + "://" + u.Host
	s, err := c.site(ctx, origin)
	if err != nil {
		return err
	}
	if s.err != nil {
		return s.err
	}
	path := u.EscapedPath()
	if u.RawQuery != "" {
		path += "?" + u.RawQuery
	}
	if path == "" {
		path = "/"
	}
	if !s.group.Test(path) {
		return fmt.Errorf("%w: %w: %s", page.ErrPermanent, ErrDenied, rawURL)
	}
	return nil
}

func (c *Cache) site(ctx context.Context, origin string) (*site, error) {
	now := time.Now()
	c.mu.Lock()
	s, ok := c.sites[origin]
	if ok && s.isDone() && now.After(s.expires) {
		ok = false
	}
	if !ok {
		s = &site{once: make(chan struct{})}
		c.sites[origin] = s
		c.mu.Unlock()
		c.fetch(ctx, origin, s)
		if ctx.Err() != nil {
			// Our caller gave up: that says nothing about the site, so the
			// answer is not kept for the next caller.
			c.mu.Lock()
			delete(c.sites, origin)
			c.mu.Unlock()
		}
		close(s.once)
		return s, nil
	}
	c.mu.Unlock()
	select {
	case <-s.once:
		return s, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *site) isDone() bool {
	select {
	case <-s.once:
		return true
	default:
		return false
	}
}

func (c *Cache) fetch(ctx context.Context, origin string, s *site) {
	resp, err := c.get.Get(ctx, origin+"/robots.txt", page.Conditional{})
	if c.OnFetch != nil {
		c.OnFetch(resp, err)
	}
	s.expires = time.Now().Add(c.ttl)
	var se *page.StatusError
	switch {
	case err == nil:
		data, perr := robotstxt.FromBytes(resp.Body)
		if perr != nil {
			data = &robotstxt.RobotsData{} // unparseable: as if absent
		}
		s.group = data.FindGroup(c.agent)
		if c.OnCrawlDelay != nil {
			c.OnCrawlDelay(page.HostKey(origin), s.group.CrawlDelay)
		}
	case errors.As(err, &se) && se.Code >= 400 && se.Code < 500 && se.Code != 429,
		errors.Is(err, page.ErrPermanent):
		// 4xx: no robots.txt, everything allowed (RFC 9309 §2.3.1.3).
		// Refused by our own rules (too large, wrong type, policy): the
		// same; as if absent would be wrong for policy refusals, but then
		// the page itself is refused by the same policy.
		s.group = (&robotstxt.RobotsData{}).FindGroup(c.agent)
	default:
		s.err = fmt.Errorf("%w: %w: %s: %w", page.ErrTransient, ErrUnavailable, origin, err)
		s.expires = time.Now().Add(max(c.ttl/10, time.Minute))
	}
}
