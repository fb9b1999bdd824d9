package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/newsflow/newsflow/cmd/newsflow/pipeline"
	"github.com/newsflow/newsflow/cmd/newsflow/samplesite"
	"github.com/newsflow/newsflow/services/fetcher/fetcher"
	"github.com/newsflow/newsflow/services/normalizer/normalizer"
	"github.com/newsflow/newsflow/services/sink/sink"
	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/services/tagger/tagger"
	"github.com/newsflow/newsflow/stage"
)

// runConfig is everything "newsflow run" is configured with.
type runConfig struct {
	dataDir    string
	sampleAddr string
	progress   time.Duration
	opts       pipeline.Options
}

func (c *runConfig) register(fs *flag.FlagSet) {
	c.opts.Stage = stage.DefaultConfig()
	// Empty -nats means the embedded server; the API and metrics share one
	// loopback address; the stages' logs stay quiet behind progress lines.
	c.opts.Stage.NATSURL = ""
	c.opts.Stage.HTTPAddr = "127.0.0.1:8080"
	c.opts.Stage.LogLevel = "warn"
	c.opts.Fetcher = fetcher.DefaultConfig()
	c.opts.Normalizer = normalizer.DefaultConfig()
	c.opts.Tagger = tagger.DefaultConfig()
	c.opts.Sink = sink.DefaultConfig()
	c.opts.Sink.Store = "" // DATA/newsflow.db, known once -data is parsed

	fs.StringVar(&c.dataDir, "data", "data", "`directory` for JetStream storage and the SQLite database")
	fs.StringVar(&c.sampleAddr, "sample-addr", "127.0.0.1:8090", "`address` of the bundled sample site, served when no feeds or files are named (a fixed port keeps its article URLs, and so their ids, stable across runs)")
	fs.DurationVar(&c.progress, "progress", 2*time.Second, "interval between progress lines (0: none)")
	c.opts.Stage.RegisterFlags(fs)
	c.opts.Fetcher.RegisterFlags(fs)
	c.opts.Normalizer.RegisterFlags(fs)
	c.opts.Tagger.RegisterFlags(fs)
	c.opts.Sink.RegisterFlags(fs)
	fs.Lookup("nats").Usage = "NATS server `URL` to use instead of the embedded one"
	fs.Lookup("store").Usage = "article store: sqlite:`PATH` or postgres://user:pass@host:port/db (default: sqlite:DATA/newsflow.db)"
}

// finish fills in what depends on other flags and validates everything.
func (c *runConfig) finish() error {
	o := &c.opts
	o.DataDir = c.dataDir
	o.HTTPAddr = o.Stage.HTTPAddr
	o.NATSURL = o.Stage.NATSURL
	if o.Sink.Store == "" {
		o.Sink.Store = "sqlite:" + filepath.Join(c.dataDir, "newsflow.db")
	}
	st := o.Stage
	if st.NATSURL == "" {
		st.NATSURL = "embedded"
	}
	fo := o.Fetcher
	if c.sampleSite() {
		fo.Feeds = []string{"http://127.0.0.1/feed.xml"} // the sample site's, known once it listens
	}
	return errors.Join(st.Validate(), fo.Validate(), o.Normalizer.Validate(), o.Tagger.Validate(), o.Sink.Validate())
}

// hasRegisteredFeeds reports whether the feed registry the run will use
// holds a feed other than the sample site's (which every run without feeds
// registers).
func (c *runConfig) hasRegisteredFeeds(ctx context.Context, stderr io.Writer) bool {
	t := target{dataDir: c.dataDir, natsURL: c.opts.NATSURL}
	if !t.hasState() {
		return false // new data: nothing registered
	}
	reg, closeReg, err := t.openRegistry(ctx, c.opts.Fetcher.FeedsBucket)
	if err != nil {
		fmt.Fprintf(stderr, "feed registry: %v (polling the sample site)\n", err)
		return false
	}
	defer closeReg()
	entries, err := reg.List(ctx)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if u, err := url.Parse(e.Feed.URL); err != nil || !samplesite.IsFeedURL(u) {
			return true
		}
	}
	return false
}

// sampleSite reports whether no feeds or files were named, so the bundled
// sample site is served and polled.
func (c *runConfig) sampleSite() bool {
	f := c.opts.Fetcher
	return len(f.Feeds) == 0 && f.FeedsFile == "" && f.Ingest == ""
}

func runCmd(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var c runConfig
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	c.register(fs)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	}
	if err := c.finish(); err != nil {
		return usageError{fmt.Errorf("invalid configuration:\n%w", err)}
	}
	log, err := stage.NewLogger(stderr, c.opts.Stage.LogFormat, c.opts.Stage.LogLevel)
	if err != nil {
		return usageError{err}
	}
	c.opts.Logger = log

	ctx, stop := stage.SignalContext(context.Background()) // a second Ctrl-C kills at once
	defer stop()

	o := &c.opts
	if c.sampleSite() && c.hasRegisteredFeeds(ctx, stderr) {
		// No feeds named, and the registry (under -data, or on -nats)
		// holds feeds of the user's: poll those, not the sample site.
		fmt.Fprintln(stdout, "feeds         the registered feeds (see newsflow feeds list)")
	} else if c.sampleSite() {
		site, err := samplesite.Start(c.sampleAddr)
		if err != nil {
			return fmt.Errorf("sample site: %w (choose another with -sample-addr)", err)
		}
		defer site.Close()
		o.Fetcher.Feeds = []string{samplesite.FeedURL(site.URL)}
		if err := allowSampleSite(&o.Fetcher, site.URL); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "sample site   %s/ (feed %s)\n", site.URL, o.Fetcher.Feeds[0])
	}
	started := time.Now()
	p, err := pipeline.Start(ctx, *o)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%w (choose another address with -http)", err)
	}
	if err != nil {
		return err
	}
	defer p.Close()
	natsDesc := p.NATSURL + " (embedded, storage " + filepath.Join(c.dataDir, "nats") + ")"
	if o.NATSURL != "" {
		natsDesc = p.NATSURL
	}
	fmt.Fprintf(stdout, "nats          %s\nstore         %s\n", natsDesc, store.Redact(o.Sink.Store))
	if p.Addr != "" {
		fmt.Fprintf(stdout, "api           http://%s/api/v1/articles\nmetrics       http://%s/metrics\n", p.Addr, p.Addr)
	}

	progressDone := make(chan struct{})
	progressCtx, stopProgress := context.WithCancel(ctx)
	go func() {
		defer close(progressDone)
		printProgress(progressCtx, stdout, p, c.progress)
	}()
	defer func() { stopProgress(); <-progressDone }()

	if !o.Fetcher.Once {
		fmt.Fprintln(stdout, "running; press Ctrl-C to stop")
	}
	type result struct {
		stats fetcher.Stats
		err   error
	}
	worked := make(chan result, 1)
	go func() {
		st, err := p.Fetcher().Work(ctx)
		worked <- result{st, err}
	}()
	var res result
	select {
	case res = <-worked:
	case <-p.Done():
		if err := p.Err(); err != nil {
			return err
		}
		return errors.New("a stage stopped on its own")
	}
	err = res.err
	if o.Fetcher.Once && ctx.Err() == nil {
		// Whatever failed in the fetcher, what it did publish is carried
		// to the store (or dead-lettered) before the summary.
		if werr := p.WaitIdle(ctx); werr != nil && ctx.Err() == nil {
			return errors.Join(err, fmt.Errorf("waiting for the stages: %w", werr))
		}
	}
	switch {
	case ctx.Err() != nil && o.Fetcher.Once:
		fmt.Fprintln(stdout, "interrupted: what was published is kept in the streams and is processed on the next run")
		return nil
	case ctx.Err() != nil:
		fmt.Fprintln(stdout, "stopping")
		return nil
	case !o.Fetcher.Once:
		return err
	}
	stopProgress()
	<-progressDone
	printSummary(stdout, p, res.stats, time.Since(started))
	if err != nil {
		return fmt.Errorf("%w\n(everything published was processed; the summary above counts the failures)", err)
	}
	return allFeedsFailed(res.stats)
}

// allFeedsFailed is run -once's error when it polled feeds and none of them
// could be fetched or parsed: a run that got nothing is not a success.
func allFeedsFailed(st fetcher.Stats) error {
	failed := 0
	for _, n := range st.FeedsFailed {
		failed += n
	}
	if failed == 0 || failed < st.FeedsPolled {
		return nil
	}
	return fmt.Errorf("every feed failed (%d of %d); see the feed failures above", failed, st.FeedsPolled)
}

// counts reads the per-stage message counters.
type counts struct{ fetched, normalized, tagged, stored, duplicates, dead, retried float64 }

func readCounts(t *stage.Telemetry) counts {
	c := counts{
		fetched:    t.PublishedCount(fetcher.Name),
		normalized: t.MessageCount(normalizer.Name, stage.OutcomeOK),
		tagged:     t.MessageCount(tagger.Name, stage.OutcomeOK),
		stored:     t.MessageCount(sink.Name, stage.OutcomeOK),
		duplicates: t.MessageCount(sink.Name, stage.OutcomeDuplicate),
	}
	for _, s := range []string{normalizer.Name, tagger.Name, sink.Name} {
		c.dead += t.MessageCount(s, stage.OutcomeDeadLettered)
		c.retried += t.MessageCount(s, stage.OutcomeRetried)
	}
	return c
}

func printProgress(ctx context.Context, w io.Writer, p *pipeline.Pipeline, every time.Duration) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var last counts
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c := readCounts(p.Telemetry())
		if c == last {
			continue
		}
		last = c
		fmt.Fprintf(w, "%s  fetched %.0f  normalized %.0f  tagged %.0f  stored %.0f  duplicates %.0f  dead %.0f  retried %.0f\n",
			time.Now().Format("15:04:05"), c.fetched, c.normalized, c.tagged, c.stored, c.duplicates, c.dead, c.retried)
	}
}

func printSummary(w io.Writer, p *pipeline.Pipeline, st fetcher.Stats, took time.Duration) {
	t := p.Telemetry()
	c := readCounts(t)
	failed := 0
	for _, n := range st.Failed {
		failed += n
	}
	for _, n := range st.FeedsFailed {
		failed += n
	}
	// The stream's own count: a page published again after a crash (or
	// re-ingested) is dropped by its duplicate window and is not new.
	fmt.Fprintf(w, "\ndone in %s: %.0f new articles published, %.0f already in the stream (%d items found, %d already seen, %d fetch failures)\n",
		took.Round(time.Millisecond), c.fetched, t.PublishedDuplicateCount(fetcher.Name), st.ItemsSeen, st.SkippedSeen, failed)
	for reason, n := range st.Failed {
		fmt.Fprintf(w, "  fetch failures %s: %d\n", reason, n)
	}
	for reason, n := range st.FeedsFailed {
		fmt.Fprintf(w, "  feed failures %s: %d\n", reason, n)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "stage\tok\tduplicate\tretried\tdead-lettered")
	fmt.Fprintf(tw, "fetcher\t%.0f\t%.0f\t-\t-\n", c.fetched, t.PublishedDuplicateCount(fetcher.Name))
	for _, s := range []string{normalizer.Name, tagger.Name, sink.Name} {
		fmt.Fprintf(tw, "%s\t%.0f\t%.0f\t%.0f\t%.0f\n", s,
			t.MessageCount(s, stage.OutcomeOK), t.MessageCount(s, stage.OutcomeDuplicate),
			t.MessageCount(s, stage.OutcomeRetried), t.MessageCount(s, stage.OutcomeDeadLettered))
	}
	tw.Flush()

	dead := p.DeadLetters()
	if len(dead) == 0 {
		fmt.Fprintln(w, "\ndead letters: none")
	} else {
		fmt.Fprintf(w, "\ndead letters: %d\n", len(dead))
		for _, d := range dead {
			fmt.Fprintf(w, "  %s  %s  %s\n      %s\n", d.Stage, d.Reason, d.URL(), d.Error)
		}
	}
	if topics := tagger.TopicCounts(t.Registry); len(topics) > 0 {
		parts := make([]string, len(topics))
		for i, tc := range topics {
			parts[i] = fmt.Sprintf("%s %.0f", tc.Label, tc.N)
		}
		fmt.Fprintf(w, "\ntopics: %s\n", strings.Join(parts, ", "))
	}
}
