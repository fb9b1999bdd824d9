package main

import (
	"cmp"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/newsflow/newsflow/bench/score"
)

type config struct {
	dir, only, dump string
	runs, worst     int
}

// page is one benchmark page.
type page struct {
	id, url, truth string
	body           []byte
}

// result is one extractor's run over the benchmark.
type result struct {
	name    string
	scores  []score.Page
	times   []time.Duration // per page: the median of the runs
	allocs  []uint64        // per page: bytes allocated by one extraction
	failed  int
	summary score.Summary
}

func run(c config, w io.Writer) error {
	pages, err := loadBench(c.dir)
	if err != nil {
		return err
	}
	var chosen []extractor
	for _, e := range extractors {
		if c.only == "" || slices.Contains(strings.Split(c.only, ","), e.name) {
			chosen = append(chosen, e)
		}
	}
	if len(chosen) == 0 {
		return fmt.Errorf("-only %q names no extractor (have %s)", c.only, strings.Join(extractorNames(), ", "))
	}
	results, err := measure(chosen, pages, c)
	if err != nil {
		return err
	}
	report(w, results, pages, c)
	return nil
}

func loadBench(dir string) ([]page, error) {
	b, err := os.ReadFile(filepath.Join(dir, "ground-truth.json"))
	if err != nil {
		return nil, err
	}
	var truth map[string]struct {
		ArticleBody string `json:"articleBody"`
		URL         string `json:"url"`
	}
	if err := json.Unmarshal(b, &truth); err != nil {
		return nil, fmt.Errorf("ground-truth.json: %w", err)
	}
	var pages []page
	for id, t := range truth {
		body, err := readGzip(filepath.Join(dir, "html", id+".html.gz"))
		if err != nil {
			return nil, err
		}
		pages = append(pages, page{id: id, url: t.URL, truth: t.ArticleBody, body: body})
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("%s: no pages in ground-truth.json", dir)
	}
	slices.SortFunc(pages, func(a, b page) int { return strings.Compare(a.id, b.id) })
	return pages, nil
}

func readGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return b, nil
}

// measure runs each extractor once over every page, untimed, to score it
// and count its allocations; then c.runs timed runs in which the extractors
// take turns page by page, so a change in the machine's load falls on all
// of them alike.
func measure(chosen []extractor, pages []page, c config) ([]*result, error) {
	fns := make([]func([]byte, string) (string, error), len(chosen))
	results := make([]*result, len(chosen))
	var ms runtime.MemStats
	for k, e := range chosen {
		fn, err := e.setup()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
		fns[k] = fn
		r := &result{name: e.name}
		for _, p := range pages {
			runtime.ReadMemStats(&ms)
			before := ms.TotalAlloc
			text, err := fn(p.body, p.url)
			runtime.ReadMemStats(&ms)
			r.allocs = append(r.allocs, ms.TotalAlloc-before)
			if err != nil {
				r.failed++
				text = ""
			}
			r.scores = append(r.scores, score.Compare(text, p.truth))
			if c.dump != "" {
				if err := dumpText(c.dump, e.name, p.id, text); err != nil {
					return nil, err
				}
			}
		}
		r.summary = score.Summarize(r.scores)
		results[k] = r
	}
	runs := make([][][]time.Duration, len(chosen)) // extractor, page, run
	for k := range runs {
		runs[k] = make([][]time.Duration, len(pages))
	}
	for range c.runs {
		for i, p := range pages {
			for k, fn := range fns {
				start := time.Now()
				_, _ = fn(p.body, p.url)
				runs[k][i] = append(runs[k][i], time.Since(start))
			}
		}
	}
	for k, r := range results {
		for _, d := range runs[k] {
			slices.Sort(d)
			r.times = append(r.times, d[len(d)/2])
		}
	}
	return results, nil
}

func dumpText(dir, name, id, text string) error {
	d := filepath.Join(dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(d, id+".txt"), []byte(text), 0o644)
}

func report(w io.Writer, results []*result, pages []page, c config) {
	var in int
	for _, p := range pages {
		in += len(p.body)
	}
	fmt.Fprintf(w, "%d pages (%.1f MB of HTML), %d timed runs each, %s, GOMAXPROCS %d\n\n",
		len(pages), float64(in)/1e6, c.runs, runtime.Version(), runtime.GOMAXPROCS(0))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "extractor\tF1\tprecision\trecall\taccuracy\tms p50\tms p99\tMB alloc mean\tMB alloc max\terrors\t")
	for _, r := range results {
		s := r.summary
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.3f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t\n",
			r.name, s.F1, s.Precision, s.Recall, s.Accuracy,
			ms(quantile(r.times, 0.5)), ms(quantile(r.times, 0.99)),
			mean(r.allocs)/1e6, float64(slices.Max(r.allocs))/1e6, r.failed)
	}
	tw.Flush()
	if c.worst <= 0 {
		return
	}
	for _, r := range results {
		idx := make([]int, len(pages))
		for i := range idx {
			idx[i] = i
		}
		f1 := func(i int) float64 { return score.F1(r.scores[i].Precision(), r.scores[i].Recall()) }
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(f1(a), f1(b)) })
		fmt.Fprintf(w, "\n%s: the %d pages with the lowest F1\n", r.name, min(c.worst, len(idx)))
		for _, i := range idx[:min(c.worst, len(idx))] {
			s := r.scores[i]
			fmt.Fprintf(w, "  %s  F1 %.3f  P %.3f  R %.3f  tp %d fp %d fn %d  %s\n",
				pages[i].id, f1(i), s.Precision(), s.Recall(), s.TP, s.FP, s.FN, pages[i].url)
		}
	}
}

// quantile is the nearest-rank quantile of ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*q+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func mean(xs []uint64) float64 {
	var t float64
	for _, x := range xs {
		t += float64(x)
	}
	return t / float64(len(xs))
}
