// Command extract scores the normalizer's extraction on benchmark
// directories (html/<id>.html.gz and ground-truth.json, as in
// ../shared/extraction-bench) in two metrics, the shingle F1 of
// extraction-bench and WCXB's word F1 with its snippet rates, and, in the
// same run and on the same pages, the reference Go extractors:
// go-trafilatura with its fallback extractors off, and readeck's
// go-readability v2. Each set is also scored per site fold, to show the
// spread across sites.
//
//	go run ./bench/extract -bench ../shared/extraction-bench,../shared/extraction-bench-wcxb
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

func main() {
	var c config
	fs := flag.NewFlagSet("extract", flag.ExitOnError)
	fs.StringVar(&c.dirs, "bench", "", "benchmark `directories`, comma-separated (each with html/*.html.gz and ground-truth.json)")
	fs.IntVar(&c.folds, "folds", 5, "site `folds` for the spread across sites")
	fs.IntVar(&c.runs, "runs", 3, "timed runs per page and extractor; a page's time is the median of its runs")
	fs.StringVar(&c.only, "only", "", "comma-separated `extractors` to run (default all: "+strings.Join(extractorNames(), ", ")+")")
	fs.IntVar(&c.worst, "worst", 0, "list the `n` pages with the lowest F1 for each extractor")
	fs.StringVar(&c.dump, "dump", "", "write each extractor's text per page to `dir`/<extractor>/<id>.txt")
	_ = fs.Parse(os.Args[1:])
	if c.dirs == "" || c.runs < 1 || fs.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: extract -bench DIR[,DIR…] [-folds N] [-runs N] [-only NAMES] [-worst N] [-dump DIR]")
		os.Exit(2)
	}
	if err := run(c, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "extract:", err)
		os.Exit(1)
	}
}
