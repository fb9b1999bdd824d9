// Package soak measures continuous ingestion: a farm of news feeds on
// loopback (many hosts, each feed publishing on its own clock, with
// realistic windows and conditional GET) polled by the all-in-one pipeline
// for a while, with every request logged, and a report of what was listed
// against what was stored.
package soak

import (
	"bytes"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"time"

	"github.com/newsflow/newsflow/cmd/newsflow/samplesite"
)

// FarmConfig shapes a feed farm.
type FarmConfig struct {
	Feeds, Hosts int
	// Items is how many items a feed lists: its newest.
	Items int
	// PeriodMin and PeriodMax bound the time between two items of a feed
	// (each feed draws its own period once).
	PeriodMin, PeriodMax time.Duration
	Seed                 uint64
}

// Farm serves the feeds and their article pages, one loopback address per
// host (127.1.x.y), and logs every request.
type Farm struct {
	cfg   FarmConfig
	start time.Time
	feeds []*farmFeed
	hosts []*farmHost
	pages *samplesite.Variants

	mu     sync.Mutex
	frozen time.Time // when publishing stopped (zero: still publishing)
}

// farmFeed is one feed: item j was published at origin + j×period, and
// the feed lists the Items newest published by now.
type farmFeed struct {
	host   *farmHost
	path   string
	origin time.Time
	period time.Duration
	// firstPoll is when the feed was first asked for (zero: never), and
	// lastPoll the latest time.
	firstPoll, lastPoll time.Time
	// served are the items the feed's responses listed (a 304 counts: the
	// fetcher holds that list), as ranges of item numbers, oldest first.
	served []span
}

// span is the item numbers lo to hi, both included.
type span struct{ lo, hi int }

// serve records that the feed's response listed items lo to hi.
func (fd *farmFeed) serve(lo, hi int, now time.Time) {
	if fd.firstPoll.IsZero() {
		fd.firstPoll = now
	}
	fd.lastPoll = now
	if n := len(fd.served); n > 0 && lo <= fd.served[n-1].hi+1 {
		fd.served[n-1].hi = max(fd.served[n-1].hi, hi)
		return
	}
	fd.served = append(fd.served, span{lo, hi})
}

// wasServed says whether a response of the feed listed item j.
func (fd *farmFeed) wasServed(j int) bool {
	for _, s := range fd.served {
		if j >= s.lo && j <= s.hi {
			return true
		}
	}
	return false
}

// farmHost is one host's server and request log.
type farmHost struct {
	addr string // host:port
	srv  *httptest.Server

	mu          sync.Mutex
	inFlight    int
	maxInFlight int
	recent      []time.Time // requests of the last second
	maxPerSec   int
	requests    int
	feedReqs    int
	notModified int
}

// StartFarm starts a farm; Close stops it. Its clock starts now: at start
// every feed already lists Items items, published over its past window.
func StartFarm(cfg FarmConfig) (*Farm, error) {
	if cfg.Hosts < 1 || cfg.Feeds < cfg.Hosts || cfg.Items < 1 || cfg.PeriodMin <= 0 || cfg.PeriodMax < cfg.PeriodMin {
		return nil, fmt.Errorf("farm: bad shape %+v", cfg)
	}
	if cfg.Hosts > 250*250 {
		return nil, fmt.Errorf("farm: at most %d hosts", 250*250)
	}
	f := &Farm{cfg: cfg, start: time.Now(), pages: samplesite.NewVariants()}
	rng := rand.New(rand.NewPCG(cfg.Seed, 1))
	for i := range cfg.Hosts {
		addr := fmt.Sprintf("127.1.%d.%d", i/250, i%250+1)
		h := &farmHost{}
		ln, err := net.Listen("tcp", addr+":0")
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("farm: host %d: %w", i, err)
		}
		h.srv = httptest.NewUnstartedServer(nil)
		h.srv.Listener.Close()
		h.srv.Listener = ln
		h.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f.serve(h, w, r) })
		h.srv.Start()
		h.addr = ln.Addr().String()
		f.hosts = append(f.hosts, h)
	}
	for i := range cfg.Feeds {
		period := cfg.PeriodMin + time.Duration(rng.Int64N(int64(cfg.PeriodMax-cfg.PeriodMin)+1))
		// The newest item was published somewhere within the last period.
		newest := f.start.Add(-time.Duration(rng.Int64N(int64(period))))
		f.feeds = append(f.feeds, &farmFeed{
			host:   f.hosts[i%cfg.Hosts],
			path:   "/feeds/" + strconv.Itoa(i) + ".xml",
			origin: newest.Add(-time.Duration(cfg.Items-1) * period),
			period: period,
		})
	}
	return f, nil
}

// FeedURLs lists every feed's URL.
func (f *Farm) FeedURLs() []string {
	urls := make([]string, len(f.feeds))
	for i, fd := range f.feeds {
		urls[i] = "http://" + fd.host.addr + fd.path
	}
	return urls
}

// Freeze stops publishing: feeds keep listing what they list now.
func (f *Farm) Freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen.IsZero() {
		f.frozen = time.Now()
	}
}

// now is the farm's publishing clock.
func (f *Farm) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.frozen.IsZero() {
		return f.frozen
	}
	return time.Now()
}

// newest is the index of the newest item fd has published by t.
func (fd *farmFeed) newest(t time.Time) int { return int(t.Sub(fd.origin) / fd.period) }

func (fd *farmFeed) published(j int) time.Time {
	return fd.origin.Add(time.Duration(j) * fd.period)
}

func (fd *farmFeed) itemURL(j int) string {
	return "http://" + fd.host.addr + "/a" + fd.path[len("/feeds"):len(fd.path)-len(".xml")] + "/" + strconv.Itoa(j) + ".html"
}

// Item is one item a feed listed at some time.
type Item struct {
	URL       string
	Published time.Time
	// Period is the feed's time between two items.
	Period time.Duration
	// DuringRun: published after the farm started (not in the first window).
	DuringRun bool
	// Served: listed in a response of its feed that the fetcher got (a
	// 304 included), so the fetcher knew of it. An item may scroll out
	// before its feed's first poll, between two polls, or be published
	// after the last one.
	Served bool
}

// PolledSince says whether every feed was asked for after t, so that the
// fetcher has been served everything the feeds list since.
func (f *Farm) PolledSince(t time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, fd := range f.feeds {
		if !fd.lastPoll.After(t) {
			return false
		}
	}
	return true
}

// Listed is every item any feed listed from the start to the freeze (or
// now).
func (f *Farm) Listed() []Item {
	end := f.now()
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []Item
	for _, fd := range f.feeds {
		first := max(fd.newest(f.start)-f.cfg.Items+1, 0)
		last := fd.newest(end)
		for j := first; j <= last; j++ {
			p := fd.published(j)
			out = append(out, Item{URL: fd.itemURL(j), Published: p, Period: fd.period, DuringRun: p.After(f.start), Served: fd.wasServed(j)})
		}
	}
	return out
}

func (f *Farm) serve(h *farmHost, w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	h.mu.Lock()
	h.requests++
	h.inFlight++
	h.maxInFlight = max(h.maxInFlight, h.inFlight)
	cut := 0
	for cut < len(h.recent) && now.Sub(h.recent[cut]) >= time.Second {
		cut++
	}
	h.recent = append(h.recent[cut:], now)
	h.maxPerSec = max(h.maxPerSec, len(h.recent))
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.inFlight--
		h.mu.Unlock()
	}()

	switch {
	case r.URL.Path == "/robots.txt":
		http.NotFound(w, r)
	case len(r.URL.Path) > len("/feeds/") && r.URL.Path[:len("/feeds/")] == "/feeds/":
		f.serveFeed(h, w, r)
	default:
		f.servePage(w, r)
	}
}

func (f *Farm) feedAt(path string) *farmFeed {
	n, err := strconv.Atoi(path[len("/feeds/") : len(path)-len(".xml")])
	if err != nil || n < 0 || n >= len(f.feeds) || f.feeds[n].path != path {
		return nil
	}
	return f.feeds[n]
}

func (f *Farm) serveFeed(h *farmHost, w http.ResponseWriter, r *http.Request) {
	if len(r.URL.Path) < len("/feeds/.xml") {
		http.NotFound(w, r)
		return
	}
	fd := f.feedAt(r.URL.Path)
	if fd == nil {
		http.NotFound(w, r)
		return
	}
	newest := fd.newest(f.now())
	etag := `"` + strconv.Itoa(newest) + `"`
	f.mu.Lock()
	fd.serve(max(newest-f.cfg.Items+1, 0), newest, time.Now())
	f.mu.Unlock()
	h.mu.Lock()
	h.feedReqs++
	if r.Header.Get("If-None-Match") == etag {
		h.notModified++
		h.mu.Unlock()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.mu.Unlock()
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Farm feed %s</title><link>http://%s/</link>`, fd.path, fd.host.addr)
	for j := newest; j > newest-f.cfg.Items && j >= 0; j-- {
		fmt.Fprintf(&b, `<item><title>Farm story %s %d</title><link>%s</link><guid>%s</guid><pubDate>%s</pubDate></item>`,
			fd.path, j, fd.itemURL(j), fd.itemURL(j), fd.published(j).UTC().Format(time.RFC1123Z))
	}
	b.WriteString(`</channel></rss>`)
	w.Header().Set("Content-Type", "application/rss+xml")
	w.Header().Set("ETag", etag)
	_, _ = w.Write(b.Bytes())
}

// wireTexts is how many texts of each sample article syndicated items
// share; one item in syndicated is such a copy.
const (
	wireTexts  = 64
	syndicated = 10
)

// servePage serves an item's article: a variant of a sample article (see
// samplesite.Variants) chosen by the URL's hash, so that every item is an
// article of its own, except one in syndicated, which carries one of
// wireTexts texts per sample article: a wire story that several feeds
// list (about 5 each over 100,000 items), whose copies the tagger links.
func (f *Farm) servePage(w http.ResponseWriter, r *http.Request) {
	h := fnv.New64a()
	h.Write([]byte(r.URL.Path))
	sum := h.Sum64()
	i := int(sum % uint64(f.pages.Len()))
	seed := sum | 1
	if (sum>>32)%syndicated == 0 {
		seed = (sum>>40)%wireTexts + 1
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(f.pages.Page("http://farm", i, seed))
}

// HostStats sums up the request log.
type HostStats struct {
	Requests, FeedRequests, NotModified int
	// MaxPerSecond and MaxInFlight are the most any one host saw.
	MaxPerSecond, MaxInFlight int
	// FeedsPolled counts feeds asked for at least once; FirstPass is when
	// the last of them was first asked for, after the farm started (zero
	// while some were never asked for).
	FeedsPolled int
	FirstPass   time.Duration
}

// Stats reads the request log.
func (f *Farm) Stats() HostStats {
	var s HostStats
	for _, h := range f.hosts {
		h.mu.Lock()
		s.Requests += h.requests
		s.FeedRequests += h.feedReqs
		s.NotModified += h.notModified
		s.MaxPerSecond = max(s.MaxPerSecond, h.maxPerSec)
		s.MaxInFlight = max(s.MaxInFlight, h.maxInFlight)
		h.mu.Unlock()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var last time.Time
	for _, fd := range f.feeds {
		if !fd.firstPoll.IsZero() {
			s.FeedsPolled++
			if fd.firstPoll.After(last) {
				last = fd.firstPoll
			}
		}
	}
	if s.FeedsPolled == len(f.feeds) {
		s.FirstPass = last.Sub(f.start)
	}
	return s
}

// Close stops every host.
func (f *Farm) Close() {
	for _, h := range f.hosts {
		h.srv.Close()
	}
}
