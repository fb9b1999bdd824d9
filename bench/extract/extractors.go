package main

import (
	"bytes"
	"errors"
	"net/url"
	"strings"

	readability "codeberg.org/readeck/go-readability/v2"
	trafilatura "github.com/markusmobius/go-trafilatura"

	"github.com/newsflow/newsflow/services/normalizer/extract"
)

// extractor turns one page into its main text.
type extractor struct {
	name string
	// setup returns the function that extracts a page; it runs once, outside
	// the timed runs (the normalizer compiles its rules there).
	setup func() (extractFunc, error)
}

// extractFunc extracts one page: its text, and the method that served it
// ("" for extractors that do not say).
type extractFunc func(body []byte, pageURL string) (text, method string, err error)

var extractors = []extractor{
	{"newsflow", func() (extractFunc, error) {
		// No minimum length: a short extraction is scored, not refused.
		ex, err := extract.New(extract.WithMinChars(0))
		if err != nil {
			return nil, err
		}
		return func(body []byte, pageURL string) (string, string, error) {
			d, err := ex.Extract(body, "text/html", pageURL)
			if errors.Is(err, extract.ErrEmpty) {
				return "", "none", nil
			}
			if err != nil {
				return "", "", err
			}
			return d.Text, d.Method, nil
		}, nil
	}},
	{"go-trafilatura", func() (extractFunc, error) {
		return func(body []byte, pageURL string) (string, string, error) {
			u, _ := url.Parse(pageURL)
			res, err := trafilatura.Extract(bytes.NewReader(body), trafilatura.Options{
				OriginalURL:    u,
				EnableFallback: false,
			})
			if err != nil {
				return "", "", nil // scored as an empty extraction
			}
			return res.ContentText, "", nil
		}, nil
	}},
	{"go-readability", func() (extractFunc, error) {
		return func(body []byte, pageURL string) (string, string, error) {
			u, _ := url.Parse(pageURL)
			p := readability.NewParser()
			art, err := p.Parse(bytes.NewReader(body), u)
			if err != nil || art.Node == nil {
				return "", "", nil
			}
			var b strings.Builder
			if err := art.RenderText(&b); err != nil {
				return "", "", err
			}
			return b.String(), "", nil
		}, nil
	}},
}

func extractorNames() []string {
	names := make([]string, len(extractors))
	for i, e := range extractors {
		names[i] = e.name
	}
	return names
}
