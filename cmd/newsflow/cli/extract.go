package cli

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/newsflow/newsflow/services/normalizer/extract"
	"github.com/newsflow/newsflow/services/normalizer/normalizer"
)

// extracted is one line of "newsflow extract" output.
type extracted struct {
	File         string     `json:"file"`
	Title        string     `json:"title"`
	Byline       string     `json:"byline"`
	Published    *time.Time `json:"published"`
	Modified     *time.Time `json:"modified,omitempty"`
	Language     string     `json:"language"`
	SiteName     string     `json:"site_name,omitempty"`
	CanonicalURL string     `json:"canonical_url,omitempty"`
	LeadImageURL string     `json:"lead_image_url,omitempty"`
	Text         string     `json:"text"`
	Method       string     `json:"method,omitempty"`
	LinesRemoved int        `json:"lines_removed"`
	Rules        []string   `json:"rules,omitempty"`
	Error        string     `json:"error,omitempty"`
}

func extractCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg := normalizer.DefaultConfig()
	fs := flag.NewFlagSet("extract", flag.ContinueOnError)
	pageURL := fs.String("url", "", "page `URL`, to resolve relative links and pick per-site rules")
	cfg.RegisterFlags(fs)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageError{errors.New("name one or more files, or - for stdin")}
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err}
	}
	ex, err := cfg.Extractor()
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	failed := 0
	for _, file := range fs.Args() {
		out := extracted{File: file}
		body, err := readInput(file, stdin, int64(cfg.MaxPageBytes))
		if err == nil {
			var doc *extract.Document
			doc, err = ex.Extract(body, contentTypeOf(file), *pageURL)
			if doc != nil {
				out.fill(doc)
			}
		}
		if err != nil {
			out.Error = err.Error()
			failed++
		}
		if err := enc.Encode(out); err != nil {
			return err
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d files failed", failed, fs.NArg())
	}
	return nil
}

// readInput reads file ("-": stdin), refusing one over limit bytes (0: no
// limit) without reading past it: a device such as /dev/zero or an endless
// pipe ends with an error, not with the machine's memory.
func readInput(file string, stdin io.Reader, limit int64) ([]byte, error) {
	r := stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	if limit <= 0 {
		return io.ReadAll(r)
	}
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: over %d bytes (-max-page-bytes)", extract.ErrTooLarge, limit)
	}
	return body, nil
}

// contentTypeOf guesses a file's content type from its extension ("" lets
// the extractor sniff).
func contentTypeOf(file string) string {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".html", ".htm", ".xhtml":
		return "text/html; charset=utf-8"
	case ".txt", ".text":
		return "text/plain; charset=utf-8"
	}
	return ""
}

func (o *extracted) fill(d *extract.Document) {
	o.Title, o.Byline, o.Language, o.Text = d.Title, d.Byline, d.Language, d.Text
	o.SiteName, o.CanonicalURL, o.LeadImageURL = d.SiteName, d.CanonicalURL, d.LeadImageURL
	o.Published, o.Modified = timePtr(d.Published), timePtr(d.Modified)
	o.LinesRemoved, o.Rules, o.Method = d.LinesRemoved, d.Rules, d.Method
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
