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

	"github.com/newsflow/newsflow/services/sink/store"
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
date, or a duration ago such as 24h), -source HOST, -feed URL, -id ID,ID…,
and -older-than VERSION: only articles whose stored version the stage made
under a version first stored before VERSION (older rules or an older model),
read from the store (-store, or the SQLite database under -data). A stage's
version is the stamp of its build, rules and model: the normalizer and the
tagger log it at start and export it as newsflow_stage_version_info, and
-versions lists those the store has seen. A VERSION not stored yet (rules
just deployed) is newer than all of them.

Examples:
  newsflow replay -stage normalizer -source www.example.com -since 24h -dry-run
  newsflow replay -stage normalizer -source www.example.com -since 24h -rate 50
  newsflow replay -stage tagger -since 2026-12-01 -until 2026-12-02 -nats nats://nats:4222
  newsflow replay -stage tagger -versions
  newsflow replay -stage tagger -older-than v1.4.0+3fa2c1d0 -store postgres://newsflow@db/newsflow

Exit codes: 0 done, 1 partly failed (an article died in the replay, or the
stream could not be read to the end), 2 bad usage.

Flags:
`

func replayCmd(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var t target
	var o ops.ReplayOptions
	var since, until, ids, olderThan string
	var wait time.Duration
	var versions bool
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	t.registerNATS(fs)
	t.registerStore(fs)
	fs.StringVar(&o.Stage, "stage", "", "the `stage` to run again: normalizer, tagger or sink")
	fs.StringVar(&since, "since", "", "only messages stored at or after `WHEN`")
	fs.StringVar(&until, "until", "", "only messages stored before `WHEN`")
	fs.StringVar(&o.Filter.Source, "source", "", "only articles from this `host`")
	fs.StringVar(&o.Filter.Feed, "feed", "", "only articles found in this feed `URL`")
	fs.StringVar(&ids, "id", "", "only these article `ids` (comma-separated)")
	fs.StringVar(&olderThan, "older-than", "", "only articles the stage made under a version first stored before `VERSION` (normalizer, tagger)")
	fs.BoolVar(&versions, "versions", false, "list the stage's versions the store has seen, with their article counts, and exit")
	fs.Float64Var(&o.Rate, "rate", 100, "messages sent a `second` at most (0: no bound)")
	fs.BoolVar(&o.DryRun, "dry-run", false, "count what would be replayed; send nothing")
	fs.StringVar(&o.Generation, "generation", "", "replay `generation` the articles carry (default: r and the time); running one generation twice sends nothing new")
	fs.DurationVar(&wait, "wait", 0, "after sending, wait up to `D` for the pipeline to go through them, counting those that die")
	fs.Usage = func() { fmt.Fprint(stderr, replayUsage); fs.PrintDefaults() }
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if err := finishReplay(&o, fs.Args(), since, until, ids, olderThan, versions); err != nil {
		return usageError{err}
	}
	if o.Generation == "" {
		o.Generation = ops.NewGeneration(time.Now())
	}

	ctx, stop := stage.SignalContext(context.Background())
	defer stop()
	if versions {
		return listVersions(ctx, &t, o.Stage, stdout)
	}
	if olderThan != "" {
		if err := selectOlder(ctx, &t, &o, olderThan, stdout); err != nil {
			return err
		}
	}
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
func finishReplay(o *ops.ReplayOptions, args []string, since, until, ids, olderThan string, versions bool) error {
	var errs []error
	if len(args) > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %v", args))
	}
	if names := stage.ConsumerNames(); !slices.Contains(names, o.Stage) {
		errs = append(errs, fmt.Errorf("-stage must be one of %s", strings.Join(names, ", ")))
	} else if (olderThan != "" || versions) && !slices.Contains(store.StampedStages, o.Stage) {
		errs = append(errs, fmt.Errorf("-older-than and -versions need -stage %s: the store keeps no version of the %s", strings.Join(store.StampedStages, " or "), o.Stage))
	}
	var err error
	if o.Filter.Since, err = parseWhen(since, false); err != nil {
		errs = append(errs, fmt.Errorf("-since: %w", err))
	}
	if o.Filter.Until, err = parseWhen(until, true); err != nil {
		errs = append(errs, fmt.Errorf("-until: %w", err))
	}
	if ids != "" {
		o.Filter.IDs = map[string]bool{}
		for _, id := range strings.Split(ids, ",") {
			o.Filter.IDs[strings.TrimSpace(id)] = true
		}
	}
	if o.Rate < 0 {
		errs = append(errs, errors.New("-rate must not be negative"))
	}
	return errors.Join(errs...)
}

// listVersions prints the versions of stage the store has seen.
func listVersions(ctx context.Context, t *target, stageName string, stdout io.Writer) error {
	st, err := t.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	vs, err := st.StageVersions(ctx, stageName)
	if err != nil {
		return err
	}
	if len(vs) == 0 {
		fmt.Fprintf(stdout, "the store holds no article the %s made\n", stageName)
		return nil
	}
	fmt.Fprintf(stdout, "%s versions the store has seen, oldest first:\n%-20s %9s  %s\n", stageName, "FIRST STORED", "ARTICLES", "VERSION")
	for _, v := range vs {
		first, name := "-", v.Version
		if !v.FirstSeen.IsZero() {
			first = v.FirstSeen.Local().Format(time.DateTime)
		}
		if name == "" {
			name = "(not known: stored before versions were kept)"
		}
		fmt.Fprintf(stdout, "%-20s %9d  %s\n", first, v.Articles, name)
	}
	return nil
}

// selectOlder narrows o's filter to the articles the store holds as made by
// a version of the stage older than version.
func selectOlder(ctx context.Context, t *target, o *ops.ReplayOptions, version string, stdout io.Writer) error {
	st, err := t.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	ids, err := st.MadeBefore(ctx, o.Stage, version)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d stored articles were made by %s versions older than %s\n", len(ids), o.Stage, version)
	older := make(map[string]bool, len(ids))
	for _, id := range ids {
		if o.Filter.IDs == nil || o.Filter.IDs[id] {
			older[id] = true
		}
	}
	o.Filter.IDs = older
	return nil
}
