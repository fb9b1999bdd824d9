package fetcher

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/newsflow/newsflow/services/fetcher/page"
	"github.com/newsflow/newsflow/services/fetcher/seen"
	"github.com/newsflow/newsflow/stage"
)

// Name is the stage name: the stage label on its metrics and the client
// name of its NATS connection.
const Name = "fetcher"

// Options are the fetcher service's flags.
type Options struct {
	Feeds       []string
	FeedsFile   string
	Ingest      string
	Once        bool
	Interval    time.Duration
	Concurrency int
	UserAgent   string
	Timeout     time.Duration
	MaxBytes    int64
	SeenBucket  string
	SeenTTL     time.Duration
}

// DefaultOptions returns the defaults of the fetcher's flags.
func DefaultOptions() Options {
	return Options{
		Interval:    defaultInterval,
		Concurrency: defaultConcurrency,
		UserAgent:   "newsflow-fetcher/1 (+https://github.com/newsflow/newsflow)",
		Timeout:     30 * time.Second,
		MaxBytes:    page.DefaultMaxBytes,
		SeenBucket:  "newsflow_seen",
		SeenTTL:     90 * 24 * time.Hour,
	}
}

// RegisterFlags registers the fetcher's flags on fs.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	fs.Func("feeds", "comma-separated feed `URLs` (RSS 2.0 or Atom)", func(s string) error {
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
	fs.DurationVar(&o.Interval, "interval", o.Interval, "time between two polls of the feeds")
	fs.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "feeds, and separately pages, fetched at once")
	fs.StringVar(&o.UserAgent, "user-agent", o.UserAgent, "User-Agent header sent with every request")
	fs.DurationVar(&o.Timeout, "timeout", o.Timeout, "time limit for one HTTP request, body included")
	fs.Int64Var(&o.MaxBytes, "max-bytes", o.MaxBytes, "largest page body accepted, in bytes (larger pages are refused, never truncated)")
	fs.StringVar(&o.SeenBucket, "seen-bucket", o.SeenBucket, "JetStream key-value bucket of URLs already published")
	fs.DurationVar(&o.SeenTTL, "seen-ttl", o.SeenTTL, "how long a published URL is remembered")
}

// Validate reports every problem with o at once.
func (o Options) Validate() error {
	var p stage.Problems
	bad := p.Add
	if len(o.Feeds) == 0 && o.FeedsFile == "" && o.Ingest == "" {
		bad("feeds", "name feeds with -feeds or -feeds-file, or files with -ingest")
	}
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
	if err := (Config{Feeds: o.Feeds, Interval: o.Interval, Concurrency: o.Concurrency}).Validate(); err != nil && len(o.Feeds) > 0 {
		bad("feeds", "%v", err)
	}
	if o.Interval < time.Second {
		bad("interval", "must be at least 1s, got %s", o.Interval)
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
	return p.Err()
}

// Stage is a fetcher connected to the pipeline.
type Stage struct {
	opts   Options
	poller *Poller
	pub    *stage.Publisher
	rt     *stage.Runtime
}

// Start connects the fetcher's parts: its seen-set bucket, its HTTP client
// and its publisher to the fetched subject.
func Start(ctx context.Context, rt *stage.Runtime, o Options) (*Stage, error) {
	feeds := o.Feeds
	if o.FeedsFile != "" {
		more, err := ReadFeedsFile(o.FeedsFile)
		if err != nil {
			return nil, err
		}
		feeds = append(append([]string(nil), feeds...), more...)
	}
	pub, err := rt.Publisher(ctx, stage.SubjectFetched)
	if err != nil {
		return nil, err
	}
	s := &Stage{opts: o, pub: pub, rt: rt}
	if len(feeds) == 0 {
		return s, nil
	}
	set, err := seen.Open(ctx, rt.JetStream(), o.SeenBucket, o.SeenTTL)
	if err != nil {
		return nil, err
	}
	client := page.NewClient(page.ClientConfig{UserAgent: o.UserAgent, Timeout: o.Timeout, MaxBytes: o.MaxBytes})
	cfg := Config{
		Feeds:       feeds,
		Interval:    o.Interval,
		Concurrency: o.Concurrency,
		Metrics:     NewMetrics(rt.Telemetry().Registry),
	}
	s.poller = NewPoller(cfg, client, set, pub, rt.Logger())
	return s, nil
}

// Once ingests the local path, if any, and polls every feed once; it
// returns when everything found is published.
func (s *Stage) Once(ctx context.Context) (Stats, error) {
	var total Stats
	if s.opts.Ingest != "" {
		st, err := Ingest(ctx, s.opts.Ingest, s.opts.MaxBytes, s.pub)
		total.Add(st)
		if err != nil {
			return total, fmt.Errorf("ingest %s: %w", s.opts.Ingest, err)
		}
	}
	if s.poller != nil {
		st, err := s.poller.PollOnce(ctx)
		total.Add(st)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Run ingests the local path, if any, then polls the feeds every interval
// until ctx ends.
func (s *Stage) Run(ctx context.Context) error {
	if s.opts.Ingest != "" {
		st, err := Ingest(ctx, s.opts.Ingest, s.opts.MaxBytes, s.pub)
		s.rt.Logger().Info("ingest done", "stats", st)
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("ingest %s: %w", s.opts.Ingest, err)
		}
	}
	if s.poller == nil {
		<-ctx.Done()
		return nil
	}
	return s.poller.Run(ctx)
}

// Run is the fetcher service: with Once it publishes what there is and
// returns, otherwise it keeps polling until ctx ends.
func Run(ctx context.Context, rt *stage.Runtime, o Options) error {
	s, err := Start(ctx, rt, o)
	if err != nil {
		return err
	}
	if !o.Once {
		return s.Run(ctx)
	}
	st, err := s.Once(ctx)
	rt.Logger().Info("fetched once", "stats", st)
	if ctx.Err() != nil {
		return nil // stopped by a signal: what was published stays published
	}
	return err
}
