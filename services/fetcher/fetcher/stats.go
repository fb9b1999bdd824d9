package fetcher

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"

	"github.com/newsflow/newsflow/services/fetcher/page"
	"github.com/newsflow/newsflow/stage"
)

// Stats counts what one poll (or one ingest) did.
type Stats struct {
	FeedsPolled      int // feed requests made, 304s included
	FeedsNotModified int
	// FeedsFailed counts feeds that could not be fetched or parsed, by
	// reason class (see Reason).
	FeedsFailed map[string]int
	ItemsSeen   int // items found in the feeds (files found, for Ingest)
	New         int // items not in the seen-set, queued for fetching
	Published   int
	SkippedSeen int // items already seen, or already queued in this poll
	// Updated counts seen items fetched again because their feed gives a
	// newer update time (they are counted in New as well).
	Updated int
	// Failed counts item failures by reason class. All but seen_store mean
	// the item was not published; seen_store after a publish means it will
	// be published again (and dropped as a duplicate by the stream).
	Failed map[string]int
}

// Reason classes of Stats.FeedsFailed and Stats.Failed; the refusal ones
// are also the "reason" label of newsflow_fetch_refused_total.
const (
	ReasonTooLarge    = "too_large"
	ReasonContentType = "content_type"
	ReasonScheme      = "scheme"
	ReasonRedirects   = "redirects"
	ReasonAddress     = "address"   // the network policy refuses the address
	ReasonTransient   = "transient" // 5xx, 408, 429, timeouts, network
	ReasonPermanent   = "permanent" // other 4xx, undecodable body
	ReasonCanceled    = "canceled"  // the poll's context ended
	ReasonParse       = "parse"     // a feed that is not RSS or Atom
	ReasonBadURL      = "bad_url"   // an item link that cannot be canonicalised
	ReasonSeenStore   = "seen_store"
	ReasonPublish     = "publish"
	ReasonRead        = "read"   // a local file that cannot be read
	ReasonRobots      = "robots" // robots.txt disallows the page
)

// isRefusal reports the reasons for which the fetcher itself declined a
// response (rather than the server or the network failing).
func isRefusal(reason string) bool {
	switch reason {
	case ReasonTooLarge, ReasonContentType, ReasonScheme, ReasonRedirects, ReasonAddress:
		return true
	}
	return false
}

// Reason classifies a fetch error into one of the Reason* classes ("" for
// nil).
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, page.ErrTooLarge):
		return ReasonTooLarge
	case errors.Is(err, page.ErrUnsupportedContent):
		return ReasonContentType
	case errors.Is(err, page.ErrUnsupportedScheme):
		return ReasonScheme
	case errors.Is(err, page.ErrTooManyRedirects):
		return ReasonRedirects
	case errors.Is(err, page.ErrForbiddenAddress):
		return ReasonAddress
	case errors.Is(err, page.ErrTransient):
		return ReasonTransient
	case errors.Is(err, page.ErrPermanent):
		return ReasonPermanent
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ReasonCanceled
	}
	return ReasonTransient
}

// publishRefused reports whether a publish failed for good (the stage
// runtime marks an article over the message size limit as permanent), as
// opposed to a transient NATS failure worth retrying.
func publishRefused(err error) bool {
	var pe *stage.PermanentError
	return errors.As(err, &pe)
}

// Add adds o's counts to s.
func (s *Stats) Add(o Stats) {
	s.FeedsPolled += o.FeedsPolled
	s.FeedsNotModified += o.FeedsNotModified
	s.ItemsSeen += o.ItemsSeen
	s.New += o.New
	s.Published += o.Published
	s.SkippedSeen += o.SkippedSeen
	s.Updated += o.Updated
	s.FeedsFailed = addCounts(s.FeedsFailed, o.FeedsFailed)
	s.Failed = addCounts(s.Failed, o.Failed)
}

// fail counts one item failure of reason.
func (s *Stats) fail(reason string) {
	s.Failed = addCounts(s.Failed, map[string]int{reason: 1})
}

func addCounts(dst, src map[string]int) map[string]int {
	for k, v := range src {
		if dst == nil {
			dst = map[string]int{}
		}
		dst[k] += v
	}
	return dst
}

// LogValue lets a Stats be logged as one group.
func (s Stats) LogValue() slog.Value {
	attrs := []slog.Attr{
		slog.Int("feeds_polled", s.FeedsPolled),
		slog.Int("feeds_not_modified", s.FeedsNotModified),
		slog.Int("items", s.ItemsSeen),
		slog.Int("new", s.New),
		slog.Int("published", s.Published),
		slog.Int("skipped_seen", s.SkippedSeen),
		slog.Int("updated", s.Updated),
	}
	for _, k := range slices.Sorted(maps.Keys(s.FeedsFailed)) {
		attrs = append(attrs, slog.Int("feeds_failed_"+k, s.FeedsFailed[k]))
	}
	for _, k := range slices.Sorted(maps.Keys(s.Failed)) {
		attrs = append(attrs, slog.Int("failed_"+k, s.Failed[k]))
	}
	return slog.GroupValue(attrs...)
}

// counter accumulates Stats from concurrent workers.
type counter struct {
	mu sync.Mutex
	s  Stats
}

func (c *counter) update(f func(s *Stats)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(&c.s)
}

func (c *counter) failFeed(reason string) {
	c.update(func(s *Stats) { s.FeedsFailed = addCounts(s.FeedsFailed, map[string]int{reason: 1}) })
}

func (c *counter) fail(reason string) { c.update(func(s *Stats) { s.fail(reason) }) }

func (c *counter) stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.s
}
