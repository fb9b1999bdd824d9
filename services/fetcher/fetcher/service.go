package fetcher

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"strings"
	"time"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
	"github.com/newsflow/newsflow/services/fetcher/page"
	"github.com/newsflow/newsflow/services/fetcher/registry"
	"github.com/newsflow/newsflow/services/fetcher/robots"
	"github.com/newsflow/newsflow/services/fetcher/seen"
	"github.com/newsflow/newsflow/stage"
	"github.com/newsflow/newsflow/stage/ops"
)

// Name is the stage name: the stage label on its metrics and the client
// name of its NATS connection.
const Name = "fetcher"

// Config is the fetcher service's configuration: its flags.
type Config struct {
	Feeds     []string
	FeedsFile string
	Ingest    string
	Once      bool
	// Refetch, with Once, fetches every listed article (or ingests every
	// file) again, ignoring the seen-set, as a replay generation of its
	// own so that nothing is dropped as a duplicate: to rebuild a lost
	// store.
	Refetch     bool
	Interval    time.Duration
	Concurrency int
	UserAgent   string
	Timeout     time.Duration
	MaxBytes    int64
	SeenBucket  string
	SeenTTL     time.Duration

	FeedsBucket string
	AllowNet    []netip.Prefix
	// AllowServices are single address:port services let through the
	// network policy (the all-in-one's own sample site); no flag.
	AllowServices   []netip.AddrPort
	HostConcurrency int
	HostRate        float64
	HostWait        time.Duration
	RobotsTTL       time.Duration
	MinInterval     time.Duration
	MaxInterval     time.Duration
	MaxBackoff      time.Duration
	Lease           time.Duration
	Replica         string
	MaxBacklog      int
}

// DefaultConfig returns the defaults of the fetcher's flags.
func DefaultConfig() Config {
	return Config{
		Interval:    defaultInterval,
		Concurrency: defaultConcurrency,
		UserAgent:   "newsflow-fetcher/1 (+https://github.com/newsflow/newsflow)",
		Timeout:     30 * time.Second,
		MaxBytes:    page.DefaultMaxBytes,
		SeenBucket:  "newsflow_seen",
		SeenTTL:     90 * 24 * time.Hour,

		FeedsBucket:     registry.DefaultBucket,
		HostConcurrency: 2,
		HostRate:        1,
		HostWait:        5 * time.Minute,
		RobotsTTL:       24 * time.Hour,
		MinInterval:     5 * time.Minute,
		MaxInterval:     6 * time.Hour,
		MaxBackoff:      24 * time.Hour,
		Lease:           2 * time.Minute,
		MaxBacklog:      5000,
	}
}

// RegisterFlags registers the fetcher's flags on fs.
func (o *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.Func("feeds", "comma-separated feed `URLs` (RSS, Atom, JSON Feed, a news sitemap, or a page that links to its feed)", func(s string) error {
		o.Feeds = nil
		for _, f := range strings.Split(s, ",") {
			if f = strings.TrimSpace(f); f != "" {
				o.Feeds = append(o.Feeds, f)
			}
		}
		return nil
	})
	fs.StringVar(&o.FeedsFile, "feeds-file", o.FeedsFile, "`file` of feed URLs, one per line ('#' starts a comment)")
	fs.StringVar(&o.Ingest, "ingest", o.Ingest, "ingest local `path`: a file or a directory of .html/.htm/.txt files, one article each")
	fs.BoolVar(&o.Once, "once", o.Once, "poll the feeds (or ingest) once and exit when everything is published")
	fs.BoolVar(&o.Refetch, "refetch", o.Refetch, "with -once: fetch every article the feeds list (or every file) again, ignoring the URLs already seen, and process it anew, e.g. to rebuild a lost store")
	fs.DurationVar(&o.Interval, "interval", o.Interval, "polling interval of a feed whose publishing rate is not known yet; with a feed registry each feed's interval then follows its rate, between -min-interval and -max-interval (without one, the interval of every poll)")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "requests (feeds and pages, over all hosts) in flight at once; each waits in its host's queue until -host-rate and -host-concurrency allow it, so a slow host holds up no other")
	fs.StringVar(&o.UserAgent, "user-agent", o.UserAgent, "User-Agent header sent with every request")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "time limit for one HTTP request, body included, from when it is sent (the wait for the host's turn is bounded by -host-wait)")
	fs.Int64Var(&o.MaxBytes, "max-bytes", o.MaxBytes, "largest page body accepted, in bytes (larger pages are refused, never truncated)")
	fs.StringVar(&o.SeenBucket, "seen-bucket", o.SeenBucket, "JetStream key-value bucket of URLs already published")
	fs.DurationVar(&o.SeenTTL, "seen-ttl", o.SeenTTL, "how long a published URL is remembered")
	fs.StringVar(&o.FeedsBucket, "feeds-bucket", o.FeedsBucket, "JetStream key-value bucket of the feed registry (feeds and their polling state)")
	fs.Func("allow-net", "`CIDR[,CIDR…]` the fetcher may connect to although internal (loopback, private, link-local, CGNAT, metadata ranges are refused by default)", func(s string) error {
		nets, err := page.ParseAllowNets(s)
		o.AllowNet = append(o.AllowNet, nets...)
		return err
	})
	fs.IntVar(&o.HostConcurrency, "host-concurrency", o.HostConcurrency, "requests in flight to one host at most")
	fs.Float64Var(&o.HostRate, "host-rate", o.HostRate, "requests a second to one host at most (0: no limit)")
	fs.DurationVar(&o.HostWait, "host-wait", o.HostWait, "longest wait of a request for its host's turn; a page that waited longer is tried again on its feed's next poll")
	fs.DurationVar(&o.RobotsTTL, "robots-ttl", o.RobotsTTL, "how long a site's robots.txt is cached")
	fs.DurationVar(&o.MinInterval, "min-interval", o.MinInterval, "shortest interval between two polls of a feed, however often it publishes")
	fs.DurationVar(&o.MaxInterval, "max-interval", o.MaxInterval, "longest interval between two polls of a healthy feed, however quiet")
	fs.DurationVar(&o.MaxBackoff, "max-backoff", o.MaxBackoff, "longest wait before polling a failing feed again (it is never given up)")
	fs.DurationVar(&o.Lease, "lease", o.Lease, "how long a replica holds a feed it polls without renewing; a dead replica's feeds wait this long")
	fs.IntVar(&o.MaxBacklog, "max-backlog", o.MaxBacklog, "the pages a new feed's first poll lists (its whole window) are fetched only while fewer articles than this wait in the stages downstream; past it they wait in memory, newest first, and new feeds wait once 20 times this many pages do; feeds already polled are polled, and their new pages fetched, on schedule whatever the backlog (0: no bound)")
	fs.StringVar(&o.Replica, "replica", o.Replica, "this replica's name in feed leases (default: host name and process id)")
}

// Validate reports every problem with o at once.
func (o Config) Validate() error {
	var p stage.Problems
	bad := p.Add
	if o.FeedsFile != "" {
		if _, err := os.Stat(o.FeedsFile); err != nil {
			bad("feeds-file", "%v", err)
		}
	}
	if o.Ingest != "" {
		if _, err := os.Stat(o.Ingest); err != nil {
			bad("ingest", "%v", err)
		}
	}
	if err := (PollerConfig{Feeds: o.Feeds, Interval: o.Interval, Concurrency: o.Concurrency}).Validate(); err != nil && len(o.Feeds) > 0 {
		bad("feeds", "%v", err)
	}
	if o.Refetch && !o.Once {
		bad("refetch", "needs -once (a continuous refetch would fetch every listed article at every poll)")
	}
	if o.Interval < time.Second {
		bad("interval", "must be at least 1s, got %s", o.Interval)
	}
	if o.MaxBacklog < 0 {
		bad("max-backlog", "must not be negative, got %d", o.MaxBacklog)
	}
	if o.Concurrency < 1 {
		bad("concurrency", "must be at least 1, got %d", o.Concurrency)
	}
	if o.Timeout <= 0 {
		bad("timeout", "must be positive, got %s", o.Timeout)
	}
	if o.MaxBytes < 1024 {
		bad("max-bytes", "must be at least 1024, got %d", o.MaxBytes)
	}
	if o.SeenBucket == "" {
		bad("seen-bucket", "must not be empty")
	}
	if o.SeenTTL <= 0 {
		bad("seen-ttl", "must be positive, got %s", o.SeenTTL)
	}
	if o.FeedsBucket == "" {
		bad("feeds-bucket", "must not be empty")
	}
	if o.HostConcurrency < 1 {
		bad("host-concurrency", "must be at least 1, got %d", o.HostConcurrency)
	}
	if o.HostWait <= 0 {
		bad("host-wait", "must be positive, got %s", o.HostWait)
	}
	if o.HostRate < 0 {
		bad("host-rate", "must not be negative, got %g", o.HostRate)
	}
	if o.RobotsTTL <= 0 {
		bad("robots-ttl", "must be positive, got %s", o.RobotsTTL)
	}
	if o.MinInterval <= 0 || o.MinInterval > o.MaxInterval {
		bad("min-interval", "must be positive and at most -max-interval (%s), got %s", o.MaxInterval, o.MinInterval)
	}
	if o.MaxBackoff < o.MaxInterval {
		bad("max-backoff", "must be at least -max-interval (%s), got %s", o.MaxInterval, o.MaxBackoff)
	}
	if o.Lease < 3*time.Second || o.Lease < o.Timeout {
		bad("lease", "must be at least 3s and at least -timeout (%s), got %s", o.Timeout, o.Lease)
	}
	return p.Err()
}

// Stage is a fetcher connected to the pipeline.
type Stage struct {
	opts     Config
	poller   *Poller
	pub      Publisher
	rt       *stage.Runtime
	registry *registry.Registry
	// named are the feeds named by -feeds and -feeds-file.
	named []string
}

// Start connects the fetcher's parts: the feed registry (where the feeds
// named by flags are registered), its seen-set bucket, its HTTP client and
// its publisher to the fetched subject.
func Start(ctx context.Context, rt *stage.Runtime, o Config) (*Stage, error) {
	feeds := o.Feeds
	if o.FeedsFile != "" {
		more, err := ReadFeedsFile(o.FeedsFile)
		if err != nil {
			return nil, err
		}
		feeds = append(append([]string(nil), feeds...), more...)
	}
	pub, err := rt.Publisher(ctx, stage.StageTopology(Name).Output)
	if err != nil {
		return nil, err
	}
	// An outage of NATS delays publishing, it does not end the fetcher.
	s := &Stage{opts: o, pub: pub.Waiting(), rt: rt, named: feeds}
	if o.Refetch {
		s.pub = refetchPublisher{s.pub, "refetch-" + time.Now().UTC().Format("20060102T150405Z")}
	}
	if o.Ingest != "" && len(feeds) == 0 {
		return s, nil // files only: no feeds, no registry
	}
	if s.registry, err = registry.Open(ctx, rt.JetStream(), o.FeedsBucket, rt.Config().StreamReplicas); err != nil {
		return nil, err
	}
	for _, f := range feeds {
		if _, err := s.registry.Add(ctx, f, time.Now()); err != nil {
			return nil, err
		}
	}
	set, err := seen.Open(ctx, rt.JetStream(), o.SeenBucket, o.SeenTTL, rt.Config().StreamReplicas)
	if err != nil {
		return nil, err
	}
	metrics, err := NewMetrics(rt.Telemetry().Registry)
	if err != nil {
		return nil, err
	}
	client := page.NewClient(o.clientConfig())
	rob := robots.New(client, productToken(o.UserAgent), o.RobotsTTL)
	rob.OnFetch = func(resp *page.Response, err error) { metrics.fetched(kindRobots, resp, err) }
	rob.OnCrawlDelay = client.SetCrawlDelay
	cfg := PollerConfig{
		Feeds:       feeds,
		Interval:    o.Interval,
		Concurrency: o.Concurrency,
		Metrics:     metrics,
		FeedStates:  RegistryFeedStates{Registry: s.registry},
		Robots:      rob,
		Schedule:    Schedule{MinInterval: o.MinInterval, MaxInterval: o.MaxInterval, MaxBackoff: o.MaxBackoff},
		MaxBacklog:  o.MaxBacklog,
		Backlog:     func(ctx context.Context) (int, error) { return ops.Backlog(ctx, rt.JetStream()) },
	}
	var seenSet SeenSet = set
	if o.Refetch {
		seenSet = refetchSeen{set}
		cfg.FeedStates = refetchStates{cfg.FeedStates}
	}
	s.poller = NewPoller(cfg, client, seenSet, s.pub, rt.Logger())
	return s, nil
}

// clientConfig is the page client the options describe.
func (o Config) clientConfig() page.ClientConfig {
	rate := o.HostRate
	if rate == 0 {
		rate = -1 // no limit
	}
	return page.ClientConfig{
		UserAgent: o.UserAgent, Timeout: o.Timeout, MaxBytes: o.MaxBytes,
		Policy:          page.NetPolicy{Allow: o.AllowNet, AllowAddrPorts: o.AllowServices},
		HostConcurrency: o.HostConcurrency, HostRate: rate, HostWait: o.HostWait,
	}
}

// productToken is the User-Agent's product name, what robots.txt groups
// are matched against ("newsflow-fetcher" of "newsflow-fetcher/1 (+…)").
func productToken(ua string) string {
	tok, _, _ := strings.Cut(strings.TrimSpace(ua), " ")
	tok, _, _ = strings.Cut(tok, "/")
	return tok
}

// Once ingests the local path, if any, and polls every feed once (the
// feeds named by flags, or else every registered feed); it returns when
// everything found is published. Files that cannot be ingested do not stop
// the feeds from being polled: their error is returned with the poll's.
func (s *Stage) Once(ctx context.Context) (Stats, error) {
	var total Stats
	var ingestErr error
	if s.opts.Ingest != "" {
		st, err := Ingest(ctx, s.opts.Ingest, s.opts.MaxBytes, s.pub)
		total.Add(st)
		if err != nil {
			ingestErr = err // Ingest's errors name the path
		}
	}
	if s.poller == nil || ctx.Err() != nil {
		return total, ingestErr
	}
	if len(s.named) == 0 {
		entries, err := s.registry.List(ctx)
		if err != nil {
			return total, errors.Join(ingestErr, err)
		}
		s.poller.cfg.Feeds = nil
		for _, e := range entries {
			s.poller.cfg.Feeds = append(s.poller.cfg.Feeds, e.Feed.URL)
		}
	}
	st, err := s.poller.PollOnce(ctx)
	total.Add(st)
	return total, errors.Join(ingestErr, err)
}

// Run ingests the local path, if any, then polls the registered feeds, each
// when due, sharing them with the other replicas, until ctx ends.
func (s *Stage) Run(ctx context.Context) error {
	if s.opts.Ingest != "" {
		st, err := Ingest(ctx, s.opts.Ingest, s.opts.MaxBytes, s.pub)
		s.rt.Logger().Info("ingest done", "stats", st)
		if err != nil && ctx.Err() == nil {
			// Counted by reason like a fetch's failures; the feeds are
			// polled all the same.
			s.rt.Logger().Error("some files could not be ingested", "error", err)
		}
	}
	if s.poller == nil {
		<-ctx.Done()
		return nil
	}
	return s.poller.RunShared(ctx, Shared{Registry: s.registry, Owner: s.replica(), Lease: s.opts.Lease})
}

func (s *Stage) replica() string {
	if s.opts.Replica != "" {
		return s.opts.Replica
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s-%d-%04x", host, os.Getpid(), rand.Uint32()&0xffff)
}

// Registry is the feed registry (nil when only ingesting files).
func (s *Stage) Registry() *registry.Registry { return s.registry }

// Work does what the configuration asks: with Once, one pass (Once) whose
// statistics it returns; otherwise Run until ctx ends.
func (s *Stage) Work(ctx context.Context) (Stats, error) {
	if !s.opts.Once {
		return Stats{}, s.Run(ctx)
	}
	return s.Once(ctx)
}

// Run is the fetcher service: with Once it publishes what there is and
// returns, otherwise it keeps polling until ctx ends.
func Run(ctx context.Context, rt *stage.Runtime, o Config) error {
	s, err := Start(ctx, rt, o)
	if err != nil {
		return err
	}
	st, err := s.Work(ctx)
	if o.Once {
		rt.Logger().Info("fetched once", "stats", st)
	}
	if ctx.Err() != nil {
		return nil // stopped by a signal: what was published stays published
	}
	return err
}

// refetchSeen is a seen-set that reports nothing seen, and still records
// what is published: a refetch fetches every listed article.
type refetchSeen struct{ SeenSet }

func (refetchSeen) Lookup(context.Context, string) (bool, time.Time, error) {
	return false, time.Time{}, nil
}

// refetchStates forgets each feed's validators (ETag, Last-Modified), so a
// refetch reads every feed in full instead of being told "not modified".
type refetchStates struct{ FeedStates }

func (s refetchStates) Get(ctx context.Context, feedURL string) (FeedState, error) {
	st, err := s.FeedStates.Get(ctx, feedURL)
	st.ETag, st.LastModified = "", ""
	return st, err
}

// refetchPublisher gives every article a replay generation (see
// stage.MsgID), so the duplicate window does not drop a page published
// before, and the stages process it again.
type refetchPublisher struct {
	Publisher
	generation string
}

func (p refetchPublisher) Publish(ctx context.Context, a *newsflowv1.Article) error {
	a.Replay = p.generation
	return p.Publisher.Publish(ctx, a)
}
