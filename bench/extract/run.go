package main

import (
	"cmp"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"math"
	"net/url"
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
	// dirs are the benchmark directories, comma-separated.
	dirs, only, dump string
	runs, worst      int
	folds            int
}

// page is one benchmark page.
type page struct {
	id, url, truth string
	// with and without are the snippets the extraction must and must not
	// contain (WCXB's ground truth has them; others may not).
	with, without []string
	fold          int // the site fold, by host name
	body          []byte
}

// result is one extractor's run over the benchmark.
type result struct {
	name    string
	scores  []score.Page
	words   []score.WordPage
	with    int             // snippets found of those the pages must contain
	without int             // snippets found of those the pages must not contain
	methods map[string]int  // pages served per extraction method
	empty   int             // pages that came out with no text
	times   []time.Duration // per page: the median of the runs
	allocs  []uint64        // per page: bytes allocated by one extraction
	failed  int
	summary score.Summary
	wordSum score.WordSummary
}

func run(c config, w io.Writer) error {
	if c.folds < 1 {
		c.folds = 5
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
	for i, dir := range strings.Split(c.dirs, ",") {
		pages, err := loadBench(dir, c.folds)
		if err != nil {
			return err
		}
		results, err := measure(chosen, pages, c, filepath.Base(dir))
		if err != nil {
			return err
		}
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "== %s\n", dir)
		report(w, results, pages, c)
	}
	return nil
}

func loadBench(dir string, folds int) ([]page, error) {
	b, err := os.ReadFile(filepath.Join(dir, "ground-truth.json"))
	if err != nil {
		return nil, err
	}
	var truth map[string]struct {
		ArticleBody string   `json:"articleBody"`
		URL         string   `json:"url"`
		With        []string `json:"with"`
		Without     []string `json:"without"`
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
		pages = append(pages, page{id: id, url: t.URL, truth: t.ArticleBody, with: t.With, without: t.Without,
			fold: siteFold(t.URL, folds), body: body})
	}
	if len(pages) == 0 {
		return nil, fmt.Errorf("%s: no pages in ground-truth.json", dir)
	}
	slices.SortFunc(pages, func(a, b page) int { return strings.Compare(a.id, b.id) })
	return pages, nil
}

// siteFold puts every page of one site (the host name without "www.") in
// the same one of n folds.
func siteFold(pageURL string, n int) int {
	host := pageURL
	if u, err := url.Parse(pageURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	h := fnv.New32a()
	h.Write([]byte(strings.TrimPrefix(strings.ToLower(host), "www.")))
	return int(h.Sum32() % uint32(n))
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
func measure(chosen []extractor, pages []page, c config, set string) ([]*result, error) {
	fns := make([]extractFunc, len(chosen))
	results := make([]*result, len(chosen))
	var ms runtime.MemStats
	for k, e := range chosen {
		fn, err := e.setup()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.name, err)
		}
		fns[k] = fn
		r := &result{name: e.name, methods: map[string]int{}}
		for _, p := range pages {
			runtime.ReadMemStats(&ms)
			before := ms.TotalAlloc
			text, method, err := fn(p.body, p.url)
			runtime.ReadMemStats(&ms)
			r.allocs = append(r.allocs, ms.TotalAlloc-before)
			if err != nil {
				r.failed++
				text = ""
			}
			if strings.TrimSpace(text) == "" {
				r.empty++
			}
			if method != "" {
				r.methods[method]++
			}
			r.scores = append(r.scores, score.Compare(text, p.truth))
			r.words = append(r.words, score.CompareWords(text, p.truth))
			r.with += score.SnippetsFound(text, p.with)
			r.without += score.SnippetsFound(text, p.without)
			if c.dump != "" {
				if err := dumpText(filepath.Join(c.dump, set), e.name, p.id, text); err != nil {
					return nil, err
				}
			}
		}
		r.summary = score.Summarize(r.scores)
		r.wordSum = score.SummarizeWords(r.words)
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
				_, _, _ = fn(p.body, p.url)
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
	var in, with, without int
	for _, p := range pages {
		in += len(p.body)
		with += len(p.with)
		without += len(p.without)
	}
	fmt.Fprintf(w, "%d pages (%.1f MB of HTML), %d timed runs each, %s, GOMAXPROCS %d\n\n",
		len(pages), float64(in)/1e6, c.runs, runtime.Version(), runtime.GOMAXPROCS(0))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "extractor\tF1\tprecision\trecall\taccuracy\tword F1\tword P\tword R\twith\twithout\tempty\tms p50\tms p99\tMB alloc mean\tMB alloc max\terrors\t")
	for _, r := range results {
		s, ws := r.summary, r.wordSum
		fmt.Fprintf(tw, "%s\t%.4f\t%.4f\t%.4f\t%.3f\t%.4f\t%.4f\t%.4f\t%s\t%s\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t\n",
			r.name, s.F1, s.Precision, s.Recall, s.Accuracy, ws.F1, ws.Precision, ws.Recall,
			share(r.with, with), share(r.without, without), r.empty,
			ms(quantile(r.times, 0.5)), ms(quantile(r.times, 0.99)),
			mean(r.allocs)/1e6, float64(slices.Max(r.allocs))/1e6, r.failed)
	}
	tw.Flush()
	fmt.Fprintln(w, "\n(F1, precision, recall, accuracy: the shingle metric of extraction-bench; word F1/P/R: WCXB's; with/without: the shares of the must-contain and must-not-contain snippets found; empty: pages with no text)")

	// The spread over site folds: every site's pages in one fold.
	fmt.Fprintf(w, "\nby site fold (%d folds; pages per fold:", c.folds)
	byFold := make([][]int, c.folds)
	for i, p := range pages {
		byFold[p.fold] = append(byFold[p.fold], i)
	}
	for _, f := range byFold {
		fmt.Fprintf(w, " %d", len(f))
	}
	fmt.Fprintln(w, ")")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "extractor\tmetric\tmin\tmax\tsd\tper fold\t")
	for _, r := range results {
		for _, m := range []struct {
			name string
			f1   func(idx []int) float64
		}{
			{"F1", func(idx []int) float64 {
				var ps []score.Page
				for _, i := range idx {
					ps = append(ps, r.scores[i])
				}
				return score.Summarize(ps).F1
			}},
			{"word F1", func(idx []int) float64 {
				var ps []score.WordPage
				for _, i := range idx {
					ps = append(ps, r.words[i])
				}
				return score.SummarizeWords(ps).F1
			}},
		} {
			var vals []float64
			for _, idx := range byFold {
				if len(idx) > 0 {
					vals = append(vals, m.f1(idx))
				}
			}
			var each []string
			for _, v := range vals {
				each = append(each, fmt.Sprintf("%.4f", v))
			}
			fmt.Fprintf(tw, "%s\t%s\t%.4f\t%.4f\t%.4f\t%s\t\n", r.name, m.name,
				slices.Min(vals), slices.Max(vals), stddev(vals), strings.Join(each, " "))
		}
	}
	tw.Flush()

	for _, r := range results {
		if len(r.methods) == 0 {
			continue
		}
		names := slices.Sorted(maps.Keys(r.methods))
		var parts []string
		for _, n := range names {
			parts = append(parts, fmt.Sprintf("%s %d", n, r.methods[n]))
		}
		fmt.Fprintf(w, "\n%s: pages by extraction method: %s\n", r.name, strings.Join(parts, ", "))
	}
	if c.worst <= 0 {
		return
	}
	for _, r := range results {
		idx := make([]int, len(pages))
		for i := range idx {
			idx[i] = i
		}
		f1 := func(i int) float64 { return r.words[i].F1() }
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(f1(a), f1(b)) })
		fmt.Fprintf(w, "\n%s: the %d pages with the lowest word F1\n", r.name, min(c.worst, len(idx)))
		for _, i := range idx[:min(c.worst, len(idx))] {
			s, ws := r.scores[i], r.words[i]
			fmt.Fprintf(w, "  %s  word F1 %.3f  P %.3f  R %.3f  F1 %.3f  tp %d fp %d fn %d  %s\n",
				pages[i].id, ws.F1(), ws.Precision(), ws.Recall(),
				score.F1(s.Precision(), s.Recall()), s.TP, s.FP, s.FN, pages[i].url)
		}
	}
}

// share formats n of total as a percentage, "-" when there is nothing to count.
func share(n, total int) string {
	if total == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(total))
}

func stddev(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	var m float64
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	var v float64
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return math.Sqrt(v / float64(len(xs)-1))
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
