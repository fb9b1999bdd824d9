package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/newsflow/newsflow/cmd/newsflow/soak"
	"github.com/newsflow/newsflow/stage"
)

// soakCmd runs the all-in-one against a feed farm on loopback and reports
// what was listed against what was stored.
func soakCmd(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var c runConfig
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	c.register(fs)
	// A soak run keeps its data in a temporary directory unless told, and
	// serves its metrics on a free port.
	c.dataDir = ""
	fs.Lookup("data").DefValue = ""
	fs.Lookup("data").Usage = "`directory` for the run's data (default: a temporary directory, removed afterwards)"
	c.opts.Stage.HTTPAddr = "127.0.0.1:0"
	fs.Lookup("http").DefValue = c.opts.Stage.HTTPAddr
	fc := soak.FarmConfig{Feeds: 1000, Hosts: 100, Items: 5, PeriodMin: 45 * time.Second, PeriodMax: 90 * time.Second, Seed: 1}
	cfg := soak.Config{Duration: 10 * time.Minute, Sample: 30 * time.Second}
	fs.IntVar(&fc.Feeds, "farm-feeds", fc.Feeds, "feeds in the farm")
	fs.IntVar(&fc.Hosts, "farm-hosts", fc.Hosts, "hosts the feeds are spread over (one loopback address each, 127.1.x.y)")
	fs.IntVar(&fc.Items, "farm-items", fc.Items, "items a feed lists (its newest)")
	fs.DurationVar(&fc.PeriodMin, "farm-period-min", fc.PeriodMin, "shortest time between two items of a feed")
	fs.DurationVar(&fc.PeriodMax, "farm-period-max", fc.PeriodMax, "longest time between two items of a feed")
	fs.Uint64Var(&fc.Seed, "farm-seed", fc.Seed, "seed of the feeds' periods and phases")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long the farm publishes")
	fs.DurationVar(&cfg.Drain, "drain", 0, "how long the pipeline then has to store what was listed; it ends as soon as all is (default: 2 × -farm-period-max + 1m, the freshness target of the slowest feed, at least 3m)")
	fs.DurationVar(&cfg.Sample, "sample", cfg.Sample, "interval between progress lines (stored, requests, RSS)")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	}
	if cfg.Drain <= 0 {
		// An item published just after its feed's last poll is found by
		// the next one, up to a period later.
		cfg.Drain = max(soak.FreshnessTarget(fc.PeriodMax), 3*time.Minute)
	}
	dataDir := c.dataDir
	c.dataDir = "soak-data" // for finish's defaults; replaced below
	if err := c.finish(); err != nil {
		return usageError{fmt.Errorf("invalid configuration:\n%w", err)}
	}
	c.opts.DataDir = dataDir
	if dataDir == "" && c.opts.Sink.Store == "sqlite:soak-data/newsflow.db" {
		c.opts.Sink.Store = "" // in the temporary directory
	}
	log, err := stage.NewLogger(stderr, c.opts.Stage.LogFormat, c.opts.Stage.LogLevel)
	if err != nil {
		return usageError{err}
	}
	c.opts.Logger = log
	cfg.Farm, cfg.Pipeline, cfg.Progress = fc, c.opts, stdout

	ctx, stop := stage.SignalContext(context.Background())
	defer stop()
	fmt.Fprintf(stdout, "soak: %d feeds on %d hosts, %d items each, one new item every %s to %s, for %s (then up to %s to drain)\n",
		fc.Feeds, fc.Hosts, fc.Items, fc.PeriodMin, fc.PeriodMax, cfg.Duration, cfg.Drain)
	rep, err := soak.Run(ctx, cfg)
	if err != nil {
		return err
	}
	rep.Print(stdout)
	return nil
}
