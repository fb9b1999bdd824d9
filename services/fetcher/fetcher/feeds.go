package fetcher

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/newsflow/newsflow/proto/canon"
)

// ReadFeedsFile reads feed URLs, one per line. Blank lines and lines
// starting with '#' are ignored, as is a " #" comment after a URL; repeated
// URLs are kept once. Every malformed line is reported, with its number.
func ReadFeedsFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read feeds file: %w", err)
	}
	defer f.Close()

	var feeds []string
	var errs []error
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i] // a '#' inside a URL is a fragment, after a space a comment
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if _, err := canon.URL(line); err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: %w", path, n, err))
			continue
		}
		if !slices.Contains(feeds, line) {
			feeds = append(feeds, line)
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("read feeds file %s: %w", path, err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return feeds, nil
}
