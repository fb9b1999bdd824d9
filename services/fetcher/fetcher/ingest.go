package fetcher

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/newsflow/newsflow/services/fetcher/feed"
	"github.com/newsflow/newsflow/services/fetcher/page"
)

// ingestType returns the content type of a file Ingest reads, by extension.
func ingestType(name string) (string, bool) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".html", ".htm":
		return "text/html", true
	case ".txt":
		return "text/plain", true
	}
	return "", false
}

// Ingest publishes local files as articles: path is a file or a directory
// walked recursively (skipping dot-directories), and every .html, .htm and
// .txt file is one article with url file://<absolute path> and source
// "file". A file that cannot be read, or is larger than maxBytes (0 means
// page.DefaultMaxBytes), is counted, reported in the returned error, and
// skipped, as is a file whose article the publisher refuses as permanent
// (over the message size limit); any other publish failure stops the ingest
// at once.
func Ingest(ctx context.Context, path string, maxBytes int64, pub Publisher) (Stats, error) {
	if maxBytes <= 0 {
		maxBytes = page.DefaultMaxBytes
	}
	var stats Stats
	root, err := filepath.Abs(path)
	if err != nil {
		return stats, fmt.Errorf("ingest %s: %w", path, err)
	}
	info, err := os.Stat(root)
	if err != nil {
		return stats, fmt.Errorf("ingest %s: %w", path, err)
	}
	if !info.IsDir() {
		if _, ok := ingestType(root); !ok {
			return stats, fmt.Errorf("ingest %s: not an .html, .htm or .txt file", path)
		}
	}
	feedURL := fileURL(root)

	var fileErrs []error
	walkErr := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		if err != nil {
			stats.fail(ReasonRead)
			fileErrs = append(fileErrs, err)
			return nil
		}
		if d.IsDir() {
			if p != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		contentType, ok := ingestType(p)
		if !ok {
			return nil
		}
		stats.ItemsSeen++
		received := time.Now()
		resp, err := readFile(p, contentType, maxBytes)
		if err != nil {
			reason := ReasonRead
			if errors.Is(err, page.ErrTooLarge) {
				reason = ReasonTooLarge
			}
			stats.fail(reason)
			fileErrs = append(fileErrs, err)
			return nil
		}
		art := newArticle(origin{canonical: resp.URL, feed: feedURL, source: "file", item: feed.Item{}}, resp, received)
		if err := pub.Publish(ctx, art); err != nil {
			if publishRefused(err) {
				// Over the message size limit: this file is skipped, the
				// others still go.
				stats.fail(ReasonTooLarge)
				fileErrs = append(fileErrs, fmt.Errorf("publish %s: %w", p, err))
				return nil
			}
			stats.fail(ReasonPublish)
			return fmt.Errorf("publish %s: %w", p, err)
		}
		stats.Published++
		return nil
	})
	if walkErr != nil {
		return stats, fmt.Errorf("ingest %s: %w", path, walkErr)
	}
	if len(fileErrs) > 0 {
		return stats, fmt.Errorf("ingest %s: %w", path, errors.Join(fileErrs...))
	}
	return stats, nil
}

// readFile reads a local file as if it had been fetched: the same size cap
// and charset decoding as page.Client, status 200, and the modification
// time as Last-Modified.
func readFile(path, contentType string, maxBytes int64) (*page.Response, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	// The cap matches a fetched page's, so a local file is no way round
	// the message size limit.
	raw, err := page.ReadAll(f, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	body, charset, err := page.DecodeCapped(raw, contentType, maxBytes)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return &page.Response{
		URL:          fileURL(path),
		Status:       http.StatusOK,
		ContentType:  contentType,
		Charset:      charset,
		Body:         body,
		LastModified: info.ModTime().UTC().Format(http.TimeFormat),
		FetchedAt:    time.Now().UTC(),
	}, nil
}

// fileURL is file:// followed by the absolute path, percent-encoded where
// a URL needs it.
func fileURL(abs string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()
}
