package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/newsflow/newsflow/services/sink/api"
	"github.com/newsflow/newsflow/stage"
	"github.com/newsflow/newsflow/stage/ops"
)

const deadUsage = `Usage:
  newsflow dead [list] [filters] [-items]   counts by stage, reason and source; -items lists each one
  newsflow dead show SEQ…                   one dead letter: its headers, error and payload
  newsflow dead redrive [filters | SEQ…]    send dead letters back to their stage's input (after a fix)
  newsflow dead purge [filters | SEQ… | -all]  delete dead letters

Filters: -stage NAME -reason REASON -source HOST -since WHEN -until WHEN, where
WHEN is RFC 3339, a date (YYYY-MM-DD) or a duration ago (90m, 24h).

Examples:
  newsflow dead                                  what died, by stage, reason and source
  newsflow dead list -reason empty_extraction -items
  newsflow dead redrive -stage normalizer -reason panic -dry-run
  newsflow dead redrive -stage normalizer -reason panic -wait 2m
  newsflow dead purge -source spam.example -until 168h   what is older than a week

Exit codes: 0 done, 1 partly failed (a letter could not be redriven, or died
again), 2 bad usage.

Flags (after the verb):
`

// deadFlags are the flags every dead verb takes.
type deadFlags struct {
	t            target
	f            ops.Filter
	since, until string
	items        bool
	dryRun       bool
	all          bool
	wait         time.Duration
}

func deadCmd(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	verb := "list"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		verb, args = args[0], args[1:]
	}
	switch verb {
	case "list", "show", "redrive", "purge":
	default:
		fmt.Fprint(stderr, deadUsage)
		return usageError{fmt.Errorf("unknown verb %q: list, show, redrive or purge", verb)}
	}
	var d deadFlags
	fs := flag.NewFlagSet("dead "+verb, flag.ContinueOnError)
	d.t.registerNATS(fs)
	if verb != "show" {
		fs.StringVar(&d.f.Stage, "stage", "", "only dead letters of this `stage` (normalizer, tagger, sink)")
		fs.StringVar(&d.f.Reason, "reason", "", "only dead letters with this `reason` (decode, empty_extraction, max_deliver, panic, oversize, …)")
		fs.StringVar(&d.f.Source, "source", "", "only dead letters of articles from this `host`")
		fs.StringVar(&d.since, "since", "", "only those dead-lettered at or after `WHEN`")
		fs.StringVar(&d.until, "until", "", "only those dead-lettered before `WHEN`")
	}
	switch verb {
	case "list":
		fs.BoolVar(&d.items, "items", false, "list each dead letter after the counts")
	case "redrive":
		fs.BoolVar(&d.dryRun, "dry-run", false, "show what would be redriven; change nothing")
		fs.DurationVar(&d.wait, "wait", 30*time.Second, "how long to wait for the redriven articles to go through, counting those that die again (0: do not wait)")
	case "purge":
		fs.BoolVar(&d.dryRun, "dry-run", false, "show what would be deleted; change nothing")
		fs.BoolVar(&d.all, "all", false, "delete every dead letter (needed when no filter or SEQ is given)")
	}
	fs.Usage = func() { fmt.Fprint(stderr, deadUsage); fs.PrintDefaults() }
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if err := d.finish(verb, fs.Args()); err != nil {
		return usageError{err}
	}
	ctx, stop := stage.SignalContext(context.Background())
	defer stop()
	b, err := d.t.connect("dead")
	if err != nil {
		return err
	}
	defer b.Close()
	switch verb {
	case "show":
		return deadShow(ctx, b, d.f.Seqs, stdout)
	case "redrive":
		return deadRedrive(ctx, b, &d, stdout)
	case "purge":
		return deadPurge(ctx, b, &d, stdout)
	}
	return deadList(ctx, b, &d, stdout)
}

// finish checks the flags and reads the SEQ arguments.
func (d *deadFlags) finish(verb string, args []string) error {
	var errs []error
	var err error
	if d.f.Since, err = parseWhen(d.since, false); err != nil {
		errs = append(errs, fmt.Errorf("-since: %w", err))
	}
	if d.f.Until, err = parseWhen(d.until, true); err != nil {
		errs = append(errs, fmt.Errorf("-until: %w", err))
	}
	for _, a := range args {
		seq, err := strconv.ParseUint(a, 10, 64)
		if err != nil || seq == 0 {
			errs = append(errs, fmt.Errorf("%q is no dead letter sequence number", a))
			continue
		}
		d.f.Seqs = append(d.f.Seqs, seq)
	}
	switch {
	case verb == "list" && len(args) > 0:
		errs = append(errs, errors.New("list takes filters, not sequence numbers (see dead show)"))
	case verb == "show" && len(args) == 0:
		errs = append(errs, errors.New("name the dead letters to show: newsflow dead show SEQ…"))
	case verb == "purge" && !d.all && d.f.Stage == "" && d.f.Reason == "" && d.f.Source == "" && d.since == "" && d.until == "" && len(args) == 0:
		errs = append(errs, errors.New("purge deletes what the filters or SEQs select: give some, or -all for every dead letter"))
	}
	return errors.Join(errs...)
}

// parseWhen reads a time: RFC 3339, a date, or a duration before now. end
// makes a date mean the end of that day.
func parseWhen(s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q: a duration ago must not be negative", s)
		}
		return time.Now().Add(-d), nil
	}
	return api.ParseTime(s, end)
}

// deadCount is one row of the counts.
type deadCount struct {
	stage, reason, source string
	n                     int
	oldest, newest        time.Time
}

func deadList(ctx context.Context, b *bus, d *deadFlags, w io.Writer) error {
	counts := map[[3]string]*deadCount{}
	var items []ops.Letter
	total := 0
	err := ops.EachDead(ctx, b.js, d.f, func(l ops.Letter) error {
		total++
		k := [3]string{l.Stage, l.Reason, l.SourceHost()}
		c := counts[k]
		if c == nil {
			c = &deadCount{stage: k[0], reason: k[1], source: k[2], oldest: l.Time}
			counts[k] = c
		}
		c.n++
		c.newest = l.Time
		if d.items {
			items = append(items, l)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if total == 0 {
		fmt.Fprintln(w, "no dead letters")
		return nil
	}
	rows := make([]*deadCount, 0, len(counts))
	for _, c := range counts {
		rows = append(rows, c)
	}
	slices.SortFunc(rows, func(a, b *deadCount) int {
		if a.n != b.n {
			return b.n - a.n
		}
		return strings.Compare(a.stage+a.reason+a.source, b.stage+b.reason+b.source)
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tREASON\tSOURCE\tCOUNT\tOLDEST\tNEWEST")
	for _, c := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", c.stage, c.reason, c.source, c.n, stamp(c.oldest), stamp(c.newest))
	}
	tw.Flush()
	fmt.Fprintf(w, "%d dead letters\n", total)
	if len(items) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tTIME\tSTAGE\tREASON\tURL\tERROR")
		for _, l := range items {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", l.Seq, stamp(l.Time), l.Stage, l.Reason, stage.RedactURLs(l.URL()), oneLine(l.Error, 60))
		}
		tw.Flush()
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") }

// oneLine is s's first line, cut to n runes.
func oneLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func deadShow(ctx context.Context, b *bus, seqs []uint64, w io.Writer) error {
	var errs []error
	for i, seq := range seqs {
		l, err := ops.GetDead(ctx, b.js, seq)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if i > 0 {
			fmt.Fprintln(w)
		}
		printLetter(ctx, b, w, l)
	}
	return errors.Join(errs...)
}

func printLetter(ctx context.Context, b *bus, w io.Writer, l ops.Letter) {
	fmt.Fprintf(w, "dead letter %d, %s\n", l.Seq, l.Time.UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "  %s\t%s\n", k, v)
		}
	}
	row("stage", l.Stage)
	row("reason", l.Reason)
	row("deliveries", strconv.FormatUint(l.Deliveries, 10))
	row("original", l.Source)
	row("article id", l.ArticleID)
	row("input id", l.InputID)
	data, err := ops.Original(ctx, b.js, l)
	switch {
	case err != nil:
		row("payload", err.Error())
	case l.Article == nil && len(data) > 0:
		if a, derr := stage.DecodeArticle(data); derr == nil {
			l.Article = a
		} else {
			row("payload", fmt.Sprintf("%d bytes that do not decode as an article", len(data)))
		}
	}
	if a := l.Article; a != nil {
		row("url", stage.RedactURLs(a.GetUrl()))
		row("source", a.GetSource())
		row("feed", stage.RedactURLs(a.GetFeed()))
		row("content hash", a.GetContentHash())
		row("replay", a.GetReplay())
		if f := a.GetFetch(); f != nil {
			size := fmt.Sprintf("%d bytes", len(f.GetBody()))
			if enc := f.GetBodyEncoding(); enc != "" {
				size += " " + enc
				if b, err := stage.FetchBody(f); err == nil {
					size = fmt.Sprintf("%d bytes (%s)", len(b), size)
				}
			}
			row("fetched", fmt.Sprintf("%s, HTTP %d, %s, %s", f.GetFetchedAt().AsTime().UTC().Format(time.RFC3339), f.GetStatus(), f.GetContentType(), size))
		}
		if n := a.GetNormalized(); n != nil {
			row("title", n.GetTitle())
			row("text", fmt.Sprintf("%d characters", len([]rune(n.GetText()))))
		}
		var stages []string
		for _, s := range a.GetTrace() {
			stages = append(stages, s.GetStage())
		}
		row("through", strings.Join(stages, ", "))
	}
	tw.Flush()
	fmt.Fprintf(w, "  error\n")
	for line := range strings.SplitSeq(strings.TrimRight(l.Error, "\n"), "\n") {
		fmt.Fprintf(w, "    %s\n", line)
	}
}

func deadRedrive(ctx context.Context, b *bus, d *deadFlags, w io.Writer) error {
	var letters []ops.Letter
	if err := ops.EachDead(ctx, b.js, d.f, func(l ops.Letter) error { letters = append(letters, l); return nil }); err != nil {
		return err
	}
	if len(letters) == 0 {
		fmt.Fprintln(w, "no dead letters selected")
		return nil
	}
	if d.dryRun {
		for _, l := range letters {
			fmt.Fprintf(w, "would redrive %d  %s  %s  %s\n", l.Seq, l.Stage, l.Reason, stage.RedactURLs(l.URL()))
		}
		fmt.Fprintf(w, "%d dead letters would go back to their stage\n", len(letters))
		return nil
	}
	// Watch for what dies again before sending anything back.
	sent := map[string]bool{}
	var watch *deaths
	if d.wait > 0 {
		var err error
		if watch, err = watchDeaths(b, func(gen string) bool { return sent[gen] }); err != nil {
			return err
		}
		defer watch.stop()
	}
	var failed []error
	for _, l := range letters {
		gen, err := ops.Redrive(ctx, b.js, l)
		if err != nil {
			failed = append(failed, err)
			fmt.Fprintf(w, "could not redrive %d: %v\n", l.Seq, err)
			continue
		}
		sent[gen] = true
	}
	fmt.Fprintf(w, "redriven %d of %d dead letters\n", len(sent), len(letters))
	if watch != nil && len(sent) > 0 {
		settled := waitSettled(ctx, b, d.wait, watch.drain)
		if n := watch.report(w, len(sent), settled, d.wait, "died again"); n > 0 {
			failed = append(failed, fmt.Errorf("%d redriven articles died again", n))
		}
	}
	if len(failed) > 0 {
		return errors.Join(failed...)
	}
	return nil
}

// waitSettled polls until every consuming stage is idle or wait passes,
// calling drain at each poll and once more at the end; it reports whether
// the stages were idle.
func waitSettled(ctx context.Context, b *bus, wait time.Duration, drain func()) bool {
	wctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	err := ops.WaitIdle(wctx, b.nc, b.js, 200*time.Millisecond, func() error { drain(); return nil })
	drain()
	return err == nil
}

// deaths counts the dead letters of articles a command sent again, by the
// replay generation they carry.
type deaths struct {
	sub   *nats.Subscription
	c     chan stage.DeadLetter
	match func(generation string) bool
	by    map[string]int // "stage reason" → count
}

func watchDeaths(b *bus, match func(generation string) bool) (*deaths, error) {
	d := &deaths{c: make(chan stage.DeadLetter, 1024), match: match, by: map[string]int{}}
	var err error
	d.sub, err = b.nc.Subscribe(stage.SubjectDeadPrefix+">", func(m *nats.Msg) { d.c <- stage.ParseDeadLetter(m.Header, m.Data) })
	if err != nil {
		return nil, fmt.Errorf("watch dead letters: %w", err)
	}
	if err := b.nc.Flush(); err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

func (d *deaths) stop() { _ = d.sub.Unsubscribe() }

// drain counts what has arrived.
func (d *deaths) drain() {
	for {
		select {
		case dl := <-d.c:
			if dl.Article != nil && d.match(dl.Article.GetReplay()) {
				d.by[dl.Stage+" "+dl.Reason]++
			}
		default:
			return
		}
	}
}

// report prints how many of sent went through and how many died (word says
// how), and returns the latter.
func (d *deaths) report(w io.Writer, sent int, settled bool, wait time.Duration, word string) int {
	n := 0
	for _, c := range d.by {
		n += c
	}
	fmt.Fprintf(w, "went through %d, %s %d", sent-n, word, n)
	if !settled {
		fmt.Fprintf(w, " (still in flight after %s: see newsflow dead later)", wait)
	}
	fmt.Fprintln(w)
	for _, k := range slices.Sorted(maps.Keys(d.by)) {
		fmt.Fprintf(w, "  %s %s: %d\n", word, k, d.by[k])
	}
	return n
}

func deadPurge(ctx context.Context, b *bus, d *deadFlags, w io.Writer) error {
	var seqs []uint64
	if err := ops.EachDead(ctx, b.js, d.f, func(l ops.Letter) error { seqs = append(seqs, l.Seq); return nil }); err != nil {
		return err
	}
	if d.dryRun {
		fmt.Fprintf(w, "%d dead letters would be deleted\n", len(seqs))
		return nil
	}
	var errs []error
	for _, seq := range seqs {
		if err := ops.DeleteDead(ctx, b.js, seq); err != nil {
			errs = append(errs, err)
		}
	}
	fmt.Fprintf(w, "deleted %d dead letters\n", len(seqs)-len(errs))
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return nil
}
