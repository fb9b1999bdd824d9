package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/newsflow/newsflow/stage"
	"github.com/newsflow/newsflow/stage/ops"
)

const replayUsage = `Usage:
  newsflow replay -stage STAGE [filters] [-rate N] [-dry-run] [-wait D]

Runs a stage again over the history its input stream keeps (raw pages for the
normalizer: -retention, a week by default): after a boilerplate rule is fixed
or the topic model retrained. The selected messages go back into the stage's
input under a new replay generation, so the duplicate window does not drop
them; every later stage runs on them again and the sink stores the result
(the article's row is replaced; its versions are kept).

Filters: -since WHEN -until WHEN (when the message was stored: RFC 3339, a
date, or a duration ago such as 24h), -source HOST, -feed URL, -id ID,ID…

Examples:
  newsflow replay -stage normalizer -source www.example.com -since 24h -dry-run
  newsflow replay -stage normalizer -source www.example.com -since 24h -rate 50
  newsflow replay -stage tagger -since 2026-12-01 -until 2026-12-02 -nats nats://nats:4222

Exit codes: 0 done, 1 partly failed (an article died in the replay, or the
stream could not be read to the end), 2 bad usage.

Flags:
`

func replayCmd(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var t target
	var o ops.ReplayOptions
	var since, until, ids string
	var wait time.Duration
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	t.registerNATS(fs)
	fs.StringVar(&o.Stage, "stage", "", "the `stage` to run again: normalizer, tagger or sink")
	fs.StringVar(&since, "since", "", "only messages stored at or after `WHEN`")
	fs.StringVar(&until, "until", "", "only messages stored before `WHEN`")
	fs.StringVar(&o.Filter.Source, "source", "", "only articles from this `host`")
	fs.StringVar(&o.Filter.Feed, "feed", "", "only articles found in this feed `URL`")
	fs.StringVar(&ids, "id", "", "only these article `ids` (comma-separated)")
	fs.Float64Var(&o.Rate, "rate", 100, "messages sent a `second` at most (0: no bound)")
	fs.BoolVar(&o.DryRun, "dry-run", false, "count what would be replayed; send nothing")
	fs.StringVar(&o.Generation, "generation", "", "replay `generation` the articles carry (default: r and the time); running one generation twice sends nothing new")
	fs.DurationVar(&wait, "wait", 0, "after sending, wait up to `D` for the pipeline to go through them, counting those that die")
	fs.Usage = func() { fmt.Fprint(stderr, replayUsage); fs.PrintDefaults() }
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if err := finishReplay(&o, fs.Args(), since, until, ids); err != nil {
		return usageError{err}
	}
	if o.Generation == "" {
		o.Generation = ops.NewGeneration(time.Now())
	}

	ctx, stop := stage.SignalContext(context.Background())
	defer stop()
	b, err := t.connect("replay")
	if err != nil {
		return err
	}
	defer b.Close()

	var watch *deaths
	if wait > 0 && !o.DryRun {
		if watch, err = watchDeaths(b, func(gen string) bool { return gen == o.Generation }); err != nil {
			return err
		}
		defer watch.stop()
	}

	verb := "replaying"
	if o.DryRun {
		verb = "dry run of"
	}
	fmt.Fprintf(stdout, "%s %s over %s as generation %s\n", verb, o.Stage, stage.StreamFor(stage.StageTopology(o.Stage).Input), o.Generation)
	started := time.Now()
	last := started
	o.ProgressEvery = 100
	o.Progress = func(st ops.ReplayStats) {
		if time.Since(last) >= 2*time.Second {
			last = time.Now()
			fmt.Fprintf(stdout, "%s  scanned %d  selected %d  sent %d\n", last.Format("15:04:05"), st.Scanned, st.Selected, st.Published)
		}
	}
	st, err := ops.Replay(ctx, b.js, o)
	fmt.Fprintf(stdout, "scanned %d messages in %s: %d selected, %d sent, %d already sent in this generation, %d unreadable\n",
		st.Scanned, time.Since(started).Round(time.Millisecond), st.Selected, st.Published, st.Duplicates, st.Unreadable)
	if err != nil {
		return err
	}
	if wait <= 0 || o.DryRun || st.Published == 0 {
		return nil
	}
	settled := waitSettled(ctx, b, wait, watch.drain)
	if n := watch.report(stdout, st.Published, settled, wait, "died"); n > 0 {
		return fmt.Errorf("%d replayed articles died (see newsflow dead -since %s)", n, started.UTC().Format(time.RFC3339))
	}
	return nil
}

// finishReplay checks replay's flags and reads its filters into o.
func finishReplay(o *ops.ReplayOptions, args []string, since, until, ids string) error {
	var errs []error
	if len(args) > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %v", args))
	}
	if names := stage.ConsumerNames(); !slices.Contains(names, o.Stage) {
		errs = append(errs, fmt.Errorf("-stage must be one of %s", strings.Join(names, ", ")))
	}
	var err error
	if o.Filter.Since, err = parseWhen(since, false); err != nil {
		errs = append(errs, fmt.Errorf("-since: %w", err))
	}
	if o.Filter.Until, err = parseWhen(until, true); err != nil {
		errs = append(errs, fmt.Errorf("-until: %w", err))
	}
	if ids != "" {
		o.Filter.IDs = strings.Split(ids, ",")
	}
	if o.Rate < 0 {
		errs = append(errs, errors.New("-rate must not be negative"))
	}
	return errors.Join(errs...)
}
