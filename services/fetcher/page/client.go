// Package page fetches feeds and article pages over HTTP with the limits a
// crawler needs: bounded time, bounded size, bounded redirects, and errors
// that say whether a retry can help.
package page

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultMaxBytes is the largest page fetched: the normalizer's cap
// (-max-page-bytes). Pages travel zstd-compressed, so most fit even NATS's
// default 1 MiB message; deploy/ sets max_payload to 8MB so that pages up
// to the cap fit.
const DefaultMaxBytes = 8 << 20

// DefaultAllowedTypes returns the media types of article pages and feeds.
func DefaultAllowedTypes() []string {
	return []string{
		"text/html", "application/xhtml+xml", "text/plain",
		"application/rss+xml", "application/atom+xml", "application/rdf+xml",
		"application/xml", "text/xml",
		"application/feed+json", "application/json",
	}
}

// ClientConfig configures a Client. Zero fields take the defaults noted.
type ClientConfig struct {
	UserAgent string // default "newsflow-fetcher/1"
	// Timeout bounds the whole request, body included, from when it is sent
	// (default 30s): the wait for the host's turn is not part of it.
	Timeout time.Duration
	// HostWait bounds the wait for the host's turn in Get (default 5m); a
	// longer wait fails with ErrHostBusy.
	HostWait time.Duration
	// ConnectTimeout, TLSHandshakeTimeout and ResponseHeaderTimeout bound the
	// phases before the body (defaults 10s, 10s, 20s).
	ConnectTimeout        time.Duration
	TLSHandshakeTimeout   time.Duration
	ResponseHeaderTimeout time.Duration
	// MaxBytes caps the body after transfer decoding (default DefaultMaxBytes).
	MaxBytes int64
	// MaxRedirects is the number of redirects followed (default 5; negative
	// follows none).
	MaxRedirects int
	// AllowedTypes lists accepted media types (default DefaultAllowedTypes()).
	AllowedTypes []string
	// Policy decides which addresses may be connected to; the zero policy
	// refuses loopback, private and other internal ranges.
	Policy NetPolicy
	// Resolver resolves host names (default net.DefaultResolver).
	Resolver Resolver
	// HostConcurrency bounds requests in flight to one host (default 2;
	// negative: unbounded). HostRate bounds requests a second to one host
	// (default 1; negative: unbounded), in bursts of up to HostBurst
	// (default 1).
	HostConcurrency int
	HostRate        float64
	HostBurst       int
	// MaxIdleConns caps the idle connections kept for reuse, over all hosts
	// (default 100).
	MaxIdleConns int
}

func (c ClientConfig) withDefaults() ClientConfig {
	if c.UserAgent == "" {
		c.UserAgent = "newsflow-fetcher/1"
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.HostWait <= 0 {
		c.HostWait = 5 * time.Minute
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.TLSHandshakeTimeout <= 0 {
		c.TLSHandshakeTimeout = 10 * time.Second
	}
	if c.ResponseHeaderTimeout <= 0 {
		c.ResponseHeaderTimeout = 20 * time.Second
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.MaxRedirects == 0 {
		c.MaxRedirects = 5
	}
	if c.MaxRedirects < 0 {
		c.MaxRedirects = 0
	}
	if len(c.AllowedTypes) == 0 {
		c.AllowedTypes = DefaultAllowedTypes()
	}
	if c.HostConcurrency == 0 {
		c.HostConcurrency = 2
	}
	if c.HostRate == 0 {
		c.HostRate = 1
	}
	if c.Resolver == nil {
		c.Resolver = net.DefaultResolver
	}
	return c
}

// Conditional carries the validators of a previous response, for feeds.
type Conditional struct {
	ETag, LastModified string
}

// Response is a fetched resource.
type Response struct {
	// URL is the final URL, after redirects.
	URL    string
	Status int
	// ContentType is the media type without parameters, lowercased.
	ContentType string
	// Charset names the encoding Body was decoded from.
	Charset string
	// Body is UTF-8; nil when NotModified.
	Body               []byte
	ETag, LastModified string
	// NotModified is set on a 304 answer to a conditional request.
	NotModified bool
	FetchedAt   time.Time
	// CacheFor is how long the server says the resource stays fresh, from
	// Cache-Control max-age or Expires; zero when it says nothing.
	CacheFor time.Duration
}

// Client fetches pages; it is safe for concurrent use.
type Client struct {
	cfg   ClientConfig
	http  *http.Client
	hosts *hostLimits
}

// NewClient returns a Client for cfg.
func NewClient(cfg ClientConfig) *Client {
	cfg = cfg.withDefaults()
	dialer := newGuardedDialer(cfg.Policy, cfg.Resolver, &net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 30 * time.Second})
	transport := &http.Transport{
		// No proxy: a proxy would connect on the fetcher's behalf, past the
		// network policy's check of every address connected to.
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   cfg.TLSHandshakeTimeout,
		ResponseHeaderTimeout: cfg.ResponseHeaderTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          cmp.Or(cfg.MaxIdleConns, 100),
		MaxIdleConnsPerHost:   max(cfg.HostConcurrency, 1),
		IdleConnTimeout:       90 * time.Second,
	}
	c := &Client{cfg: cfg, hosts: newHostLimits(cfg.HostConcurrency, cfg.HostRate, cfg.HostBurst)}
	c.http = &http.Client{Transport: transport, CheckRedirect: c.checkRedirect}
	return c
}

func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if !supportedScheme(req.URL) {
		return refused(ErrUnsupportedScheme, "redirect to "+req.URL.Redacted())
	}
	if len(via) > c.cfg.MaxRedirects {
		return refused(ErrTooManyRedirects, fmt.Sprintf("more than %d", c.cfg.MaxRedirects))
	}
	return nil
}

func supportedScheme(u *url.URL) bool {
	return (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Get fetches rawURL. With a non-empty cond it makes a conditional request,
// and a 304 answer is returned as a Response with NotModified set. Any
// other non-2xx status is an error wrapping a *StatusError. Get waits for
// the host's turn (politeness) at most HostWait; Timeout starts when the
// request is sent.
func (c *Client) Get(ctx context.Context, rawURL string, cond Conditional) (*Response, error) {
	return c.GetWithTurn(ctx, nil, rawURL, cond)
}

// HostWait is the bound on the wait for a host's turn (ClientConfig.HostWait).
func (c *Client) HostWait() time.Duration { return c.cfg.HostWait }

// Turn is the right to send one request to a host now, taken with
// TryTurn. GetWithTurn gives it back when its request is done; Release
// gives back one that was not used.
type Turn struct {
	once    sync.Once
	release func()
}

// Release gives the turn back; it may be called more than once.
func (t *Turn) Release() { t.once.Do(t.release) }

// SetCrawlDelay makes the client send at most one request per d to host (a
// HostKey), when that is slower than its -host-rate: a site's robots.txt
// Crawl-delay. d is capped at MaxCrawlDelay; 0 removes the delay.
func (c *Client) SetCrawlDelay(host string, d time.Duration) { c.hosts.setDelay(host, d) }

// TryTurn takes a turn to send a request to host (a HostKey) if politeness
// allows one at now, without waiting. Otherwise it returns the time to try
// again: when the host's rate allows a request, or shortly when every
// in-flight slot of the host is taken.
func (c *Client) TryTurn(host string, now time.Time) (*Turn, time.Time, bool) {
	release, next, ok := c.hosts.try(host, now)
	if !ok {
		return nil, next, false
	}
	return &Turn{release: release}, time.Time{}, true
}

// GetWithTurn is Get for a request whose host's turn is already held (nil:
// wait for it, as Get does); the turn is released when the request is done.
func (c *Client) GetWithTurn(ctx context.Context, turn *Turn, rawURL string, cond Conditional) (*Response, error) {
	if turn != nil {
		defer turn.Release()
	}
	resp, err := c.get(ctx, turn, rawURL, cond)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", rawURL, err)
	}
	return resp, nil
}

func (c *Client) get(parent context.Context, turn *Turn, rawURL string, cond Conditional) (*Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	if !supportedScheme(u) {
		return nil, refused(ErrUnsupportedScheme, u.Scheme)
	}
	if turn == nil {
		release, err := c.waitTurn(parent, u.Hostname())
		if err != nil {
			return nil, err
		}
		defer release()
	}
	// The time limit starts now that the request is sent.
	ctx, cancel := context.WithTimeout(parent, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	req.Header.Set("Accept", strings.Join(c.cfg.AllowedTypes, ", ")+", */*;q=0.1")
	if cond.ETag != "" {
		req.Header.Set("If-None-Match", cond.ETag)
	}
	if cond.LastModified != "" {
		req.Header.Set("If-Modified-Since", cond.LastModified)
	}
	// Set explicitly, so the transport leaves decoding to decompress,
	// which caps the decompressed size.
	req.Header.Set("Accept-Encoding", "gzip, deflate, br")

	hresp, err := c.http.Do(req)
	if err != nil {
		return nil, classify(parent, err)
	}
	defer hresp.Body.Close()

	r := &Response{
		URL:          hresp.Request.URL.String(),
		Status:       hresp.StatusCode,
		ETag:         hresp.Header.Get("ETag"),
		LastModified: hresp.Header.Get("Last-Modified"),
		FetchedAt:    time.Now().UTC(),
	}
	r.CacheFor = cacheFor(hresp.Header, r.FetchedAt)
	switch {
	case hresp.StatusCode == http.StatusNotModified && cond != (Conditional{}):
		r.NotModified = true
		return r, nil
	case hresp.StatusCode < 200 || hresp.StatusCode > 299:
		return nil, statusError(hresp, r.FetchedAt)
	}

	header := hresp.Header.Get("Content-Type")
	if header != "" {
		if err := c.checkType(mediaType(header)); err != nil {
			return nil, err
		}
	}
	if hresp.ContentLength > c.cfg.MaxBytes {
		return nil, tooLarge(c.cfg.MaxBytes, strconv.FormatInt(hresp.ContentLength, 10)+" bytes announced")
	}
	body, err := decompress(hresp.Body, hresp.Header.Get("Content-Encoding"))
	if err != nil {
		return nil, err
	}
	raw, err := ReadAll(body, c.cfg.MaxBytes)
	if err != nil {
		return nil, classify(parent, fmt.Errorf("read body: %w", err))
	}
	if header == "" {
		// Sniffing only names the media type; the charset is still
		// determined from the bytes by Decode.
		header = mediaType(http.DetectContentType(raw))
		if err := c.checkType(header); err != nil {
			return nil, err
		}
	}
	r.ContentType = mediaType(header)
	if r.Body, r.Charset, err = DecodeCapped(raw, header, c.cfg.MaxBytes); err != nil {
		return nil, err
	}
	return r, nil
}

// waitTurn waits at most HostWait for the host's turn.
func (c *Client) waitTurn(parent context.Context, host string) (func(), error) {
	ctx, cancel := context.WithTimeout(parent, c.cfg.HostWait)
	defer cancel()
	release, err := c.hosts.acquire(ctx, host)
	switch {
	case err == nil:
		return release, nil
	case parent.Err() != nil:
		return nil, parent.Err()
	}
	return nil, fmt.Errorf("%w: %w: more than %s for %s", ErrTransient, ErrHostBusy, c.cfg.HostWait, host)
}

// DecodeCapped is Decode with the size cap applied again to the UTF-8
// result: a legacy single-byte page can grow up to threefold when decoded,
// and what is published must stay under the cap. Failures are permanent.
func DecodeCapped(raw []byte, contentType string, limit int64) ([]byte, string, error) {
	body, name, err := Decode(raw, contentType)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", ErrPermanent, err)
	}
	if int64(len(body)) > limit {
		return nil, "", tooLarge(limit, fmt.Sprintf("%d bytes once decoded from %s", len(body), name))
	}
	return body, name, nil
}

func (c *Client) checkType(mt string) error {
	if slices.Contains(c.cfg.AllowedTypes, mt) {
		return nil
	}
	return refused(ErrUnsupportedContent, strconv.Quote(mt))
}

func tooLarge(limit int64, detail string) error {
	return refused(ErrTooLarge, fmt.Sprintf("limit %d bytes, %s", limit, detail))
}

// ReadAll reads r to the end, refusing with ErrTooLarge (and ErrPermanent)
// a body of more than limit bytes rather than truncating it.
func ReadAll(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, tooLarge(limit, "more bytes sent")
	}
	return b, nil
}

// classify turns a transport error into a transient failure, unless it was
// already classified (a refused redirect) or the caller gave up.
func classify(parent context.Context, err error) error {
	if errors.Is(err, ErrPermanent) || errors.Is(err, ErrTransient) {
		return err
	}
	if parent.Err() != nil {
		return fmt.Errorf("%w (%w)", parent.Err(), err)
	}
	return fmt.Errorf("%w: %w", ErrTransient, err)
}
