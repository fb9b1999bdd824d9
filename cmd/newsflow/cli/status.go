package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/newsflow/newsflow/services/fetcher/registry"
	"github.com/newsflow/newsflow/services/sink/store"
	"github.com/newsflow/newsflow/stage"
	"github.com/newsflow/newsflow/stage/natsembed"
	"github.com/newsflow/newsflow/stage/ops"
)

const statusUsage = `Usage:
  newsflow status [-data DIR | -nats URL] [-store DSN] [-metrics URL,…] [-json] [-watch D]

One screen of the pipeline: per stage, the replicas pulling, messages a second
in and out, lag, in flight, the age of the oldest unprocessed message, p99
processing time and dead letters in the last hour; then the version stamps the
stages run (see newsflow replay -older-than), the dead letters by reason, the
store and the feeds by health.

p99 comes from the stages' /metrics: the running all-in-one's (found under
-data), or the URLs in -metrics (e.g. each stage's service), read at both
looks; it covers what was processed between them, or, marked *, each
process's life when nothing was.

Examples:
  newsflow status
  newsflow status -watch 5s
  newsflow status -nats nats://nats:4222 -store postgres://… -json

Flags:
`

// statusReport is what status shows; -json prints it as it is.
type statusReport struct {
	At     time.Time      `json:"at"`
	Stages []stageStatus  `json:"stages"`
	Dead   map[string]int `json:"dead_last_hour"` // "stage reason" → count
	Store  storeStatus    `json:"store"`
	Feeds  map[string]int `json:"feeds,omitempty"` // health → count
}

type stageStatus struct {
	ops.StageState
	InRate  float64  `json:"in_per_second"`
	OutRate float64  `json:"out_per_second"`
	P99     *float64 `json:"p99_seconds,omitempty"`
	// P99Over says what P99 covers: "interval" (the messages processed
	// between the two looks) or "lifetime" (each process's life, when none
	// was processed in the interval).
	P99Over  string `json:"p99_over,omitempty"`
	DeadHour int    `json:"dead_last_hour"`
	// Versions are the stamps of what makes the stage's output (build,
	// rules, model; see newsflow replay -older-than) the processes scraped
	// run, with how many run each: two during a rollout.
	Versions map[string]int `json:"versions,omitempty"`
}

type storeStatus struct {
	Store    string `json:"store"`
	Up       bool   `json:"up"`
	Articles int    `json:"articles"`
	Error    string `json:"error,omitempty"`
}

func statusCmd(args []string, _ io.Reader, stdout, stderr io.Writer) error {
	var t target
	var metricsURLs string
	var asJSON bool
	var watch, interval time.Duration
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	t.registerNATS(fs)
	t.registerStore(fs)
	fs.StringVar(&metricsURLs, "metrics", "", "the stages' /metrics `URLs`, comma-separated (default: the running all-in-one's)")
	fs.BoolVar(&asJSON, "json", false, "print JSON, for scripts")
	fs.DurationVar(&watch, "watch", 0, "refresh every `D` until interrupted")
	fs.DurationVar(&interval, "interval", 2*time.Second, "time between the two looks that give the rates")
	fs.Usage = func() { fmt.Fprint(stderr, statusUsage); fs.PrintDefaults() }
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	}
	if interval <= 0 || watch < 0 {
		return usageError{errors.New("-interval must be positive and -watch not negative")}
	}
	var urls []string
	if metricsURLs != "" {
		urls = strings.Split(metricsURLs, ",")
	} else if addr := natsembed.Recorded(t.dataDir, natsembed.HTTPFile); addr != "" && t.natsURL == "" {
		urls = []string{"http://" + addr + "/metrics"}
	}

	ctx, stop := stage.SignalContext(context.Background())
	defer stop()
	b, err := t.connect("status")
	if err != nil {
		return err
	}
	defer b.Close()

	prev, prevScrape := ops.TakeSnapshot(ctx, b.js), scrapeMetrics(ctx, urls)
	if watch > 0 {
		interval = watch
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(interval):
		}
		snap := ops.TakeSnapshot(ctx, b.js)
		cur := scrapeMetrics(ctx, urls)
		rep := gatherStatus(ctx, b, &t, prev, snap, prevScrape, cur)
		prev, prevScrape = snap, cur
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else {
			if watch > 0 && isTerminal(stdout) {
				fmt.Fprint(stdout, "\033[H\033[2J")
			}
			printStatus(stdout, rep)
		}
		if watch == 0 {
			return nil
		}
	}
}

func gatherStatus(ctx context.Context, b *bus, t *target, prev, snap ops.Snapshot, prevScrape, cur scraped) statusReport {
	rep := statusReport{At: snap.At, Dead: map[string]int{}}
	deadBy := map[string]int{}
	_ = ops.EachDead(ctx, b.js, ops.Filter{Since: snap.At.Add(-time.Hour)}, func(l ops.Letter) error {
		rep.Dead[l.Stage+" "+l.Reason]++
		deadBy[l.Stage]++
		return nil
	})
	rates := ops.RatesBetween(prev, snap)

	for _, s := range snap.Stages {
		ss := stageStatus{StageState: s, InRate: rates[s.Name].In, OutRate: rates[s.Name].Out, DeadHour: deadBy[s.Name], Versions: cur.versions[s.Name]}
		if h := cur.hists[s.Name]; h != nil {
			if d := h.minus(prevScrape.hists[s.Name]); d.total > 0 {
				v := d.p99()
				ss.P99, ss.P99Over = &v, "interval"
			} else if h.total > 0 {
				v := h.p99()
				ss.P99, ss.P99Over = &v, "lifetime"
			}
		}
		rep.Stages = append(rep.Stages, ss)
	}
	rep.Store = storeState(ctx, t)
	if _, err := b.js.KeyValue(ctx, registry.DefaultBucket); err != nil {
		return rep // no registry: nothing to open (and nothing to create)
	}
	if reg, err := registry.Open(ctx, b.js, registry.DefaultBucket, 0); err == nil {
		if entries, err := reg.List(ctx); err == nil && len(entries) > 0 {
			rep.Feeds = map[string]int{}
			for _, e := range entries {
				rep.Feeds[e.Feed.Health(snap.At)]++
			}
		}
	}
	return rep
}

// storeState checks the store: -store, or the SQLite database under -data
// when there is one.
func storeState(ctx context.Context, t *target) storeStatus {
	dsn := t.storeDSN()
	st := storeStatus{Store: store.Redact(dsn)}
	if t.store == "" {
		if _, err := os.Stat(strings.TrimPrefix(dsn, "sqlite:")); err != nil {
			st.Error = "no store under -data (give -store)"
			return st
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := t.openStore(cctx)
	if err != nil {
		st.Error = err.Error()
		return st
	}
	defer s.Close()
	if err := s.Ping(cctx); err != nil {
		st.Error = err.Error()
		return st
	}
	st.Up = true
	st.Articles, _ = s.Count(cctx)
	return st
}

// histogram is a stage's processing-time histogram, summed over every
// process scraped: cumulative counts per upper bound.
type histogram struct {
	bounds []float64
	counts []float64
	total  float64
}

// minus is h less an earlier scrape of the same processes (nil: nothing).
func (h *histogram) minus(prev *histogram) histogram {
	d := histogram{bounds: h.bounds, counts: slices.Clone(h.counts), total: h.total}
	if prev == nil || len(prev.counts) != len(d.counts) || prev.total > d.total {
		return d // a process restarted: its counters began again
	}
	for i := range d.counts {
		d.counts[i] -= prev.counts[i]
	}
	d.total -= prev.total
	return d
}

// p99 is the upper bound of the bucket holding the 99th percentile.
func (h histogram) p99() float64 {
	want := 0.99 * h.total
	for i, c := range h.counts {
		if c >= want {
			return h.bounds[i]
		}
	}
	return math.Inf(1)
}

// scraped is what status reads from the stages' /metrics, by stage.
type scraped struct {
	hists    map[string]*histogram
	versions map[string]map[string]int // version → processes running it
}

// scrapeMetrics reads newsflow_processing_duration_seconds and
// newsflow_stage_version_info from each URL, by stage.
func scrapeMetrics(ctx context.Context, urls []string) scraped {
	out := scraped{hists: map[string]*histogram{}, versions: map[string]map[string]int{}}
	byStage := out.hists
	client := &http.Client{Timeout: 5 * time.Second}
	for _, u := range urls {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSpace(u), nil)
		if err != nil {
			continue
		}
		resp, err := client.Do(req)
		if err != nil {
			continue
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		families, err := p.TextToMetricFamilies(resp.Body)
		resp.Body.Close()
		if err != nil {
			continue
		}
		for _, m := range families["newsflow_stage_version_info"].GetMetric() {
			name := labelValue(m, "stage")
			if out.versions[name] == nil {
				out.versions[name] = map[string]int{}
			}
			out.versions[name][labelValue(m, "version")]++
		}
		for _, m := range families["newsflow_processing_duration_seconds"].GetMetric() {
			name := labelValue(m, "stage")
			hm := m.GetHistogram()
			cur := byStage[name]
			if cur == nil {
				cur = &histogram{}
				for _, bk := range hm.GetBucket() {
					cur.bounds = append(cur.bounds, bk.GetUpperBound())
				}
				cur.counts = make([]float64, len(cur.bounds))
				byStage[name] = cur
			}
			for i, bk := range hm.GetBucket() {
				if i < len(cur.counts) {
					cur.counts[i] += float64(bk.GetCumulativeCount())
				}
			}
			cur.total += float64(hm.GetSampleCount())
		}
	}
	return out
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func printStatus(w io.Writer, rep statusReport) {
	fmt.Fprintf(w, "newsflow status  %s\n\n", rep.At.UTC().Format("2006-01-02 15:04:05 UTC"))
	const row = "%-11s %7s %7s %7s %7s %9s %14s %8s %7s\n"
	fmt.Fprintf(w, row, "STAGE", "PULLING", "IN/S", "OUT/S", "LAG", "IN FLIGHT", "OLDEST WAITING", "P99", "DEAD 1H")
	for _, s := range rep.Stages {
		if s.Err != "" {
			fmt.Fprintf(w, "%-11s no consumer: %s\n", s.Name, oneLine(s.Err, 60))
			continue
		}
		in, pulling, lag, flight, oldest := "-", "-", "-", "-", "-"
		if s.Name != "fetcher" {
			in = fmt.Sprintf("%.1f", s.InRate)
			pulling = fmt.Sprint(s.Waiting)
			lag = fmt.Sprint(s.Pending)
			flight = fmt.Sprint(s.AckPending)
			if !s.Oldest.IsZero() {
				oldest = rep.At.Sub(s.Oldest).Round(time.Second).String()
			}
		}
		p99 := "-"
		if s.P99 != nil {
			p99 = seconds(*s.P99)
			if s.P99Over == "lifetime" {
				p99 += "*"
			}
		}
		fmt.Fprintf(w, row, s.Name, pulling, in, fmt.Sprintf("%.1f", s.OutRate), lag, flight, oldest, p99, fmt.Sprint(s.DeadHour))
	}
	for _, st := range rep.Stages {
		if st.P99Over == "lifetime" {
			fmt.Fprintln(w, "* p99 over each process's life: nothing was processed between the two looks")
			break
		}
	}
	fmt.Fprintln(w)
	var versions []string
	for _, s := range rep.Stages {
		for _, v := range slices.Sorted(maps.Keys(s.Versions)) {
			one := s.Name + " " + v
			if len(s.Versions) > 1 {
				one += fmt.Sprintf(" (%d)", s.Versions[v])
			}
			versions = append(versions, one)
		}
	}
	if len(versions) > 0 {
		fmt.Fprintf(w, "versions      %s\n", strings.Join(versions, ", "))
	}
	if len(rep.Dead) == 0 {
		fmt.Fprintln(w, "dead letters  none in the last hour")
	} else {
		var parts []string
		for _, k := range slices.Sorted(maps.Keys(rep.Dead)) {
			parts = append(parts, fmt.Sprintf("%s %d", k, rep.Dead[k]))
		}
		fmt.Fprintf(w, "dead letters  last hour: %s (newsflow dead)\n", strings.Join(parts, ", "))
	}
	switch {
	case rep.Store.Up:
		fmt.Fprintf(w, "store         up, %d articles (%s)\n", rep.Store.Articles, rep.Store.Store)
	default:
		fmt.Fprintf(w, "store         DOWN or not reachable: %s (%s)\n", rep.Store.Error, rep.Store.Store)
	}
	if len(rep.Feeds) > 0 {
		n := 0
		for _, c := range rep.Feeds {
			n += c
		}
		fmt.Fprintf(w, "feeds         %d: %d healthy, %d backing off, %d failing\n", n,
			rep.Feeds[registry.Healthy], rep.Feeds[registry.Backoff], rep.Feeds[registry.Failing])
	} else {
		fmt.Fprintln(w, "feeds         none registered")
	}
}

// seconds shows a duration in seconds briefly: 45ms, 1.2s, >10s.
func seconds(v float64) string {
	if math.IsInf(v, 1) {
		return "high"
	}
	return time.Duration(v * float64(time.Second)).Round(time.Millisecond).String()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
