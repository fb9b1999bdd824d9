package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/newsflow/newsflow/cmd/newsflow/pipeline"
	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/stage"
)

// Config is one soak run.
type Config struct {
	Farm FarmConfig
	// Duration is how long the farm publishes; Drain how long the pipeline
	// then has to store what was listed (it ends as soon as all is).
	Duration, Drain time.Duration
	// Sample is how often RSS is recorded (default 10s).
	Sample time.Duration
	// Pipeline is the all-in-one's configuration; the run fills in the
	// feeds, the network policy and (when empty) the data directory and
	// the store.
	Pipeline pipeline.Options
	// Progress, when set, gets a line per sample.
	Progress io.Writer
}

// Report is what a soak run measured.
type Report struct {
	Feeds, Hosts, ItemsPerFeed int
	Duration                   time.Duration
	Host                       HostStats
	// Listed counts the items the feeds listed during the run (the first
	// window included); Stored those of them stored by the end of the
	// drain; Served and StoredServed the same for the items listed in a
	// feed response the fetcher got; DuringRun and StoredDuringRun for the
	// items published after the start.
	Listed, Stored, Served, StoredServed, DuringRun, StoredDuringRun int
	// Lost names up to five items served but not stored.
	Lost []string
	// Freshness is publication→stored for the items published during the
	// run that were stored: p50 and p99.
	FreshnessP50, FreshnessP99 time.Duration
	// Late counts the items published during the run that were stored
	// later than FreshnessTarget of their feed's period, or not at all.
	Late int
	// FirstWindowStored is when the last item of the first window (listed
	// at the start) was stored, from the start. Steady, SteadyLate,
	// SteadyP50 and SteadyP99 are DuringRun, Late and the freshness
	// percentiles for the items published after it: the steady state, past
	// the first pass's backlog.
	FirstWindowStored    time.Duration
	Steady, SteadyLate   int
	SteadyP50, SteadyP99 time.Duration
	// Stored per second over the run (first window included).
	StoredPerSecond float64
	// RSS samples of this process (farm included), and the Go heap in use.
	RSS, Heap []Sample
	// Drained is the time from the freeze until every feed was polled
	// again and all that was served was stored (or the drain ended).
	Drained time.Duration
	// DeadLetters counts the messages the stages dead-lettered, by reason.
	DeadLetters map[string]float64
	// Tagged counts the articles the tagger handled (relinked ones
	// included); Relinks the tagger's relinks by outcome.
	Tagged  float64
	Relinks map[string]float64
	// RelinksWaiting counts relinks not yet sent when the report was made.
	RelinksWaiting float64
}

// Sample is one reading over time.
type Sample struct {
	At    time.Duration
	Bytes uint64
}

// Coverage is the share of listed items stored.
func (r Report) Coverage() float64 { return share(r.Stored, r.Listed) }

// CoverageServed is the share of the items the fetcher was served (listed
// in a feed response it got) that were stored.
func (r Report) CoverageServed() float64 { return share(r.StoredServed, r.Served) }

// CoverageDuringRun is the share of items published during the run stored.
func (r Report) CoverageDuringRun() float64 { return share(r.StoredDuringRun, r.DuringRun) }

// NotModifiedShare is the share of repeat feed requests answered 304.
func (r Report) NotModifiedShare() float64 {
	return share(r.Host.NotModified, r.Host.FeedRequests-r.Host.FeedsPolled)
}

func share(n, of int) float64 {
	if of <= 0 {
		return 0
	}
	return float64(n) / float64(of)
}

// Run runs the farm and the pipeline for cfg.Duration, freezes the farm,
// lets the pipeline drain, and reports.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if cfg.Sample <= 0 {
		cfg.Sample = 10 * time.Second
	}
	farm, err := StartFarm(cfg.Farm)
	if err != nil {
		return Report{}, err
	}
	defer farm.Close()

	o := cfg.Pipeline
	if o.DataDir == "" {
		dir, err := os.MkdirTemp("", "newsflow-soak-")
		if err != nil {
			return Report{}, err
		}
		defer os.RemoveAll(dir)
		o.DataDir = dir
	}
	if o.Sink.Store == "" {
		o.Sink.Store = "sqlite:" + filepath.Join(o.DataDir, "newsflow.db")
	}
	o.Fetcher.Feeds = farm.FeedURLs()
	o.Fetcher.AllowNet = append(o.Fetcher.AllowNet, netip.MustParsePrefix("127.0.0.0/8"))
	p, err := pipeline.Start(ctx, o)
	if err != nil {
		return Report{}, err
	}
	defer p.Close()
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	fetchDone := make(chan error, 1)
	go func() { fetchDone <- p.Fetcher().Run(runCtx) }()

	st, err := openStore(ctx, p, o.Sink.Store)
	if err != nil {
		return Report{}, err
	}
	defer st.Close()

	rep := Report{Feeds: cfg.Farm.Feeds, Hosts: cfg.Farm.Hosts, ItemsPerFeed: cfg.Farm.Items, Duration: cfg.Duration}
	start := time.Now()
	sample := func() {
		at := time.Since(start).Round(time.Second)
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		rss := readRSS()
		rep.RSS = append(rep.RSS, Sample{at, rss})
		rep.Heap = append(rep.Heap, Sample{at, ms.HeapInuse})
		if cfg.Progress != nil {
			n, _ := st.Count(ctx)
			hs := farm.Stats()
			fmt.Fprintf(cfg.Progress, "%6s  stored %6d  feeds polled %5d/%d  requests %7d  rss %4d MB  heap %4d MB\n",
				at, n, hs.FeedsPolled, cfg.Farm.Feeds, hs.Requests, rss>>20, ms.HeapInuse>>20)
		}
	}
	ticker := time.NewTicker(cfg.Sample)
	defer ticker.Stop()
	deadline := time.After(cfg.Duration)
run:
	for {
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case err := <-fetchDone:
			return rep, fmt.Errorf("the fetcher stopped: %v", err)
		case <-ticker.C:
			sample()
		case <-deadline:
			break run
		}
	}
	farm.Freeze()
	frozen := time.Now()
	drainEnd := time.After(cfg.Drain)
drain:
	for {
		// Done once every feed was polled after the freeze (so the fetcher
		// knows all they list) and all it was served is stored.
		if farm.PolledSince(frozen) {
			served := 0
			for _, it := range farm.Listed() {
				if it.Served {
					served++
				}
			}
			if n, err := st.Count(ctx); err == nil && n >= served {
				break
			}
		}
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-drainEnd:
			break drain
		case <-time.After(time.Second):
		}
	}
	rep.Drained = time.Since(frozen)
	stop()
	<-fetchDone
	// The stages finish what is in flight; story relinks still waiting are
	// reported, not waited for: after a first pass over thousands of feeds
	// they can take longer than the run.
	idleCtx, cancel := context.WithTimeout(ctx, max(cfg.Drain-rep.Drained, 30*time.Second))
	err = p.WaitIdle(idleCtx)
	cancel()
	if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
		return rep, err
	}
	sample()
	rep.Host = farm.Stats()
	rep.Tagged = p.Telemetry().MessageCount("tagger", stage.OutcomeOK)
	rep.Relinks = p.Telemetry().CounterValues("newsflow_story_relinks_total", "outcome")
	rep.RelinksWaiting = p.Telemetry().GaugeSum("newsflow_story_relinks_pending")
	rep.DeadLetters = p.Telemetry().CounterValues("newsflow_dead_letters_total", "reason")
	err = rep.count(ctx, st, farm.Listed(), start)
	return rep, err
}

// openStore opens the sink's store for reading once the sink has created
// it: the sink opens (and migrates) it in its own goroutine after Start.
func openStore(ctx context.Context, p *pipeline.Pipeline, dsn string) (*store.Store, error) {
	deadline := time.After(time.Minute)
	for {
		st, err := store.OpenReadOnly(ctx, dsn)
		if err == nil {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-p.Done():
			return nil, fmt.Errorf("the pipeline stopped: %v", p.Err())
		case <-deadline:
			return nil, fmt.Errorf("open the store: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// count matches what was listed with what was stored.
func (r *Report) count(ctx context.Context, st *store.Store, listed []Item, start time.Time) error {
	took := time.Since(start)
	// When each article first reached the store: a story relink writes it
	// again later, which moves its row's stored_at but not this.
	first, err := st.FirstStored(ctx)
	if err != nil {
		return fmt.Errorf("read the store: %w", err)
	}
	stored := map[string]time.Time{}
	if err := st.Each(ctx, func(a *store.Article) error {
		if at, ok := first[a.ID]; ok {
			stored[a.URL] = at.Stored
		}
		return nil
	}); err != nil {
		return fmt.Errorf("read the store: %w", err)
	}
	var fresh, steady []time.Duration
	var firstDone time.Time
	for _, it := range listed {
		if at, ok := stored[it.URL]; ok && !it.DuringRun && at.After(firstDone) {
			firstDone = at
		}
	}
	if !firstDone.IsZero() {
		r.FirstWindowStored = firstDone.Sub(start)
	}
	for _, it := range listed {
		r.Listed++
		at, ok := stored[it.URL]
		if ok {
			r.Stored++
		}
		if it.Served {
			r.Served++
			if ok {
				r.StoredServed++
			} else if len(r.Lost) < 5 {
				r.Lost = append(r.Lost, it.URL)
			}
		}
		if !it.DuringRun {
			continue
		}
		r.DuringRun++
		late := !ok || at.Sub(it.Published) > FreshnessTarget(it.Period)
		inSteady := it.Published.After(firstDone)
		if late {
			r.Late++
		}
		if inSteady {
			r.Steady++
			if late {
				r.SteadyLate++
			}
		}
		if ok {
			r.StoredDuringRun++
			fresh = append(fresh, at.Sub(it.Published))
			if inSteady {
				steady = append(steady, at.Sub(it.Published))
			}
		}
	}
	r.StoredPerSecond = float64(r.Stored) / took.Seconds()
	r.FreshnessP50, r.FreshnessP99 = percentiles(fresh)
	r.SteadyP50, r.SteadyP99 = percentiles(steady)
	return nil
}

// percentiles returns the p50 and p99 of ds (sorting it).
func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	slices.Sort(ds)
	return ds[len(ds)/2], ds[min(len(ds)*99/100, len(ds)-1)]
}

// FreshnessTarget is how soon after publication an item of a feed that
// publishes every period should be stored: a poll finds it within about a
// period, and a minute covers fetching and the stages.
func FreshnessTarget(period time.Duration) time.Duration { return 2*period + time.Minute }

// readRSS is this process's resident set size (0 where /proc is missing).
func readRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Print writes the report as a table.
func (r Report) Print(w io.Writer) {
	fmt.Fprintf(w, "feeds / hosts / items        %d / %d / %d, %s of publishing\n", r.Feeds, r.Hosts, r.ItemsPerFeed, r.Duration)
	first := "not every feed was polled"
	if r.Host.FirstPass > 0 {
		first = r.Host.FirstPass.Round(time.Second).String()
	}
	fmt.Fprintf(w, "first pass                   %s (%d of %d feeds polled)\n", first, r.Host.FeedsPolled, r.Feeds)
	fmt.Fprintf(w, "listed items stored          %.2f%% (%d of %d)\n", 100*r.Coverage(), r.Stored, r.Listed)
	fmt.Fprintf(w, "  of them served to fetcher  %.2f%% (%d of %d; the others scrolled out unpolled)\n", 100*r.CoverageServed(), r.StoredServed, r.Served)
	if len(r.Lost) > 0 {
		fmt.Fprintf(w, "  served, not stored         %s\n", strings.Join(r.Lost, " "))
	}
	fmt.Fprintf(w, "published during run stored  %.2f%% (%d of %d)\n", 100*r.CoverageDuringRun(), r.StoredDuringRun, r.DuringRun)
	fmt.Fprintf(w, "freshness p50 / p99          %s / %s (publication to stored)\n", r.FreshnessP50.Round(100*time.Millisecond), r.FreshnessP99.Round(100*time.Millisecond))
	fmt.Fprintf(w, "  later than 2×period + 1m   %d of %d (each item against its own feed's period; unstored ones count)\n", r.Late, r.DuringRun)
	fmt.Fprintf(w, "steady state                 published after the first window was stored (%s): p50 / p99 %s / %s, %d of %d later than 2×period + 1m\n",
		r.FirstWindowStored.Round(time.Second), r.SteadyP50.Round(100*time.Millisecond), r.SteadyP99.Round(100*time.Millisecond), r.SteadyLate, r.Steady)
	fmt.Fprintf(w, "stored per second            %.1f\n", r.StoredPerSecond)
	fmt.Fprintf(w, "requests                     %d (%d feed requests, %.1f%% of repeat polls answered 304)\n", r.Host.Requests, r.Host.FeedRequests, 100*r.NotModifiedShare())
	fmt.Fprintf(w, "per host at most             %d requests in one second, %d in flight\n", r.Host.MaxPerSecond, r.Host.MaxInFlight)
	fmt.Fprintf(w, "drain after the freeze       %s\n", r.Drained.Round(time.Second))
	fmt.Fprintf(w, "dead letters                 %s\n", countsByKey(r.DeadLetters))
	fmt.Fprintf(w, "story relinks                %.0f sent, %.0f gone, %.0f failed, %.0f still waiting (articles tagged %.0f, relinked ones included)\n",
		r.Relinks["sent"], r.Relinks["gone"], r.Relinks["failed"], r.RelinksWaiting, r.Tagged)
	if len(r.RSS) > 0 {
		var parts []string
		for _, s := range r.RSS {
			parts = append(parts, fmt.Sprintf("%s %d", s.At, s.Bytes>>20))
		}
		fmt.Fprintf(w, "rss MB over time             %s\n", strings.Join(parts, ", "))
		lo, hi := r.SecondHalfRSS()
		fmt.Fprintf(w, "rss over the last half       %d to %d MB\n", lo>>20, hi>>20)
	}
}

// countsByKey writes counts as "key n, key n" in key order, or "none".
func countsByKey(m map[string]float64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f", k, m[k]))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// SecondHalfRSS is the lowest and highest RSS sampled in the second half
// of the run.
func (r Report) SecondHalfRSS() (lo, hi uint64) {
	if len(r.RSS) == 0 {
		return 0, 0
	}
	half := r.RSS[len(r.RSS)-1].At / 2
	for _, s := range r.RSS {
		if s.At < half {
			continue
		}
		if lo == 0 || s.Bytes < lo {
			lo = s.Bytes
		}
		hi = max(hi, s.Bytes)
	}
	return lo, hi
}
