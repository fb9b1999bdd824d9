// Package registry keeps the feeds the fetcher polls, and each feed's
// polling state, in a JetStream key-value bucket: it survives restarts, is
// shared by every fetcher replica, and is changed at runtime by the CLI
// (newsflow feeds add|remove|list|stats). Every write of a feed's state is
// a compare-and-set on the entry's revision, which is what makes a poll
// lease exclusive between replicas.
package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/newsflow/newsflow/proto/canon"
)

// DefaultBucket is the registry's bucket name.
const DefaultBucket = "newsflow_feeds"

// Health of a feed, the "health" label of newsflow_feeds.
const (
	Healthy = "healthy" // last poll succeeded
	Backoff = "backoff" // failing lately, polled less often
	Failing = "failing" // failing for FailingAfter or longer: polled rarely
)

// FailingAfter is how long a feed fails without a success before it is
// shown as failing rather than backing off.
const FailingAfter = 24 * time.Hour

// ErrNotFound: no such feed in the registry.
var ErrNotFound = errors.New("feed not registered")

// ErrConflict: the entry changed since it was read (another replica, or the
// CLI, wrote it first).
var ErrConflict = errors.New("feed entry changed concurrently")

// Feed is one registered feed and its polling state.
type Feed struct {
	URL   string    `json:"url"`
	Added time.Time `json:"added"`
	State
}

// State is what the fetcher remembers about a feed between polls.
type State struct {
	// Validators for the next conditional GET.
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`

	LastPoll    time.Time `json:"last_poll,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	NextPoll    time.Time `json:"next_poll,omitzero"`
	// Interval is the adapted polling interval (before backoff and jitter).
	Interval time.Duration `json:"interval,omitempty"`
	// ErrorStreak counts failed polls since the last success.
	ErrorStreak    int       `json:"error_streak,omitempty"`
	FailingSince   time.Time `json:"failing_since,omitzero"`
	LastErrorClass string    `json:"last_error_class,omitempty"`
	LastError      string    `json:"last_error,omitempty"`
	// Errors counts failures by class over the feed's life.
	Errors map[string]int `json:"errors,omitempty"`
	// ItemsPerDay is a moving average of new items per day.
	ItemsPerDay float64 `json:"items_per_day,omitempty"`
	Polls       int     `json:"polls,omitempty"`
	NotModified int     `json:"not_modified,omitempty"`
	NewItems    int     `json:"new_items,omitempty"`
	// Window is the time the feed's listed items span, from the oldest to
	// the poll: an item published more than a window before a poll may
	// have scrolled out unseen.
	Window time.Duration `json:"window,omitempty"`
	// Gaps counts polls that found every listed item new: items may have
	// scrolled out of the feed between the two polls.
	Gaps int `json:"gaps,omitempty"`
	// Discovered is the feed found on the page at URL, when URL is an HTML
	// page with <link rel="alternate">.
	Discovered string `json:"discovered,omitempty"`

	// The lease: while LeaseUntil is in the future, only LeaseOwner polls.
	LeaseOwner string    `json:"lease_owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
}

// Health classifies the feed at now.
func (s State) Health(now time.Time) string {
	switch {
	case s.ErrorStreak == 0:
		return Healthy
	case !s.FailingSince.IsZero() && now.Sub(s.FailingSince) >= FailingAfter:
		return Failing
	}
	return Backoff
}

// Leased reports whether another owner holds a live lease at now.
func (s State) Leased(now time.Time, owner string) bool {
	return s.LeaseOwner != "" && s.LeaseOwner != owner && now.Before(s.LeaseUntil)
}

// Entry is a feed as read from the bucket, with the revision a
// compare-and-set needs.
type Entry struct {
	Key      string
	Revision uint64
	Feed     Feed
}

// Registry is the bucket of feeds; it is safe for concurrent use.
type Registry struct {
	kv jetstream.KeyValue
	nc *nats.Conn // the connection, whose reconnects end a Watch
}

// Open creates the bucket if needed, or brings its replica count to replicas
// (idempotently, so every replica can call it at start), and returns the
// registry. With replicas 0 (the CLI) an existing bucket is used as it is,
// and a missing one is created with one replica.
func Open(ctx context.Context, js jetstream.JetStream, bucket string, replicas int) (*Registry, error) {
	if replicas == 0 {
		kv, err := js.KeyValue(ctx, bucket)
		if err == nil {
			return &Registry{kv: kv, nc: js.Conn()}, nil
		}
		if !errors.Is(err, jetstream.ErrBucketNotFound) {
			return nil, fmt.Errorf("open feed registry %s: %w", bucket, err)
		}
		replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "feeds the fetcher polls, with their polling state",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("open feed registry %s: %w", bucket, err)
	}
	return &Registry{kv: kv, nc: js.Conn()}, nil
}

// reconnects counts the times the connection was made again.
func (r *Registry) reconnects() uint64 {
	if r.nc == nil {
		return 0
	}
	return r.nc.Stats().Reconnects
}

// Key is the bucket key of a feed URL: a hash of its canonical form, so
// that spellings of one URL are one feed.
func Key(feedURL string) (string, error) {
	c, err := canon.URL(feedURL)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(c))
	return hex.EncodeToString(sum[:16]), nil
}

// Add registers feedURL; it reports false if it was registered already
// (its state is then left alone).
func (r *Registry) Add(ctx context.Context, feedURL string, now time.Time) (bool, error) {
	key, err := Key(feedURL)
	if err != nil {
		return false, fmt.Errorf("add feed: %w", err)
	}
	b, err := json.Marshal(Feed{URL: strings.TrimSpace(feedURL), Added: now.UTC()})
	if err != nil {
		return false, err
	}
	_, err = r.kv.Create(ctx, key, b)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, jetstream.ErrKeyExists):
		return false, nil
	default:
		return false, fmt.Errorf("add feed %s: %w", feedURL, err)
	}
}

// Remove unregisters feedURL.
func (r *Registry) Remove(ctx context.Context, feedURL string) error {
	key, err := Key(feedURL)
	if err != nil {
		return fmt.Errorf("remove feed: %w", err)
	}
	if _, err := r.kv.Get(ctx, key); errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("remove feed %s: %w", feedURL, ErrNotFound)
	}
	if err := r.kv.Purge(ctx, key); err != nil {
		return fmt.Errorf("remove feed %s: %w", feedURL, err)
	}
	return nil
}

// Get reads one feed.
func (r *Registry) Get(ctx context.Context, feedURL string) (Entry, error) {
	key, err := Key(feedURL)
	if err != nil {
		return Entry{}, err
	}
	e, err := r.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Entry{}, fmt.Errorf("feed %s: %w", feedURL, ErrNotFound)
	}
	if err != nil {
		return Entry{}, fmt.Errorf("read feed %s: %w", feedURL, err)
	}
	return decode(e)
}

func decode(e jetstream.KeyValueEntry) (Entry, error) {
	var f Feed
	if err := json.Unmarshal(e.Value(), &f); err != nil {
		return Entry{}, fmt.Errorf("decode feed entry %s: %w", e.Key(), err)
	}
	return Entry{Key: e.Key(), Revision: e.Revision(), Feed: f}, nil
}

// Update writes e.Feed if the entry is still at e.Revision, and returns the
// new revision; ErrConflict if someone wrote it first, ErrNotFound if it
// was removed.
func (r *Registry) Update(ctx context.Context, e Entry) (uint64, error) {
	b, err := json.Marshal(e.Feed)
	if err != nil {
		return 0, err
	}
	rev, err := r.kv.Update(ctx, e.Key, b, e.Revision)
	if err == nil {
		return rev, nil
	}
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		if _, gerr := r.kv.Get(ctx, e.Key); errors.Is(gerr, jetstream.ErrKeyNotFound) {
			return 0, fmt.Errorf("update feed %s: %w", e.Feed.URL, ErrNotFound)
		}
		return 0, fmt.Errorf("update feed %s: %w", e.Feed.URL, ErrConflict)
	}
	return 0, fmt.Errorf("update feed %s: %w", e.Feed.URL, err)
}

// List reads every feed, sorted by URL.
//
// It reads through a watch rather than listing keys and getting each: a
// key listing misses the entries that replicas rewrite while it runs (the
// old revision is gone before it is read, the new one comes after the
// listing ends). The watch goes on past its initial values until it has
// seen as many keys as the bucket holds.
func (r *Registry) List(ctx context.Context) ([]Entry, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	w, err := r.kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("list feeds: %w", err)
	}
	defer func() { _ = w.Stop() }()
	entries := map[string]Entry{}
	removed := map[string]bool{}
	initial := true
	for {
		var want uint64
		if !initial {
			st, err := r.kv.Status(ctx)
			if err != nil {
				return nil, fmt.Errorf("list feeds: %w", err)
			}
			want = st.Values() // one message a key: a value, or a removal marker
			if uint64(len(entries)+len(removed)) >= want {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("list feeds: %w", ctx.Err())
		case kve, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("list feeds: watch ended")
			}
			if kve == nil {
				initial = false
				continue
			}
			if kve.Operation() != jetstream.KeyValuePut {
				removed[kve.Key()] = true
				delete(entries, kve.Key())
				continue
			}
			delete(removed, kve.Key())
			if e, err := decode(kve); err == nil {
				entries[kve.Key()] = e
			} else {
				removed[kve.Key()] = true // a foreign value: counted, not listed
			}
		}
	}
	out := slices.Collect(maps.Values(entries))
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Feed.URL, b.Feed.URL) })
	return out, nil
}

// ErrReconnected ends a Watch when the connection was made again: the
// watch's consumer may have gone with the server (a restarted one keeps no
// ephemeral consumers), and nats.go makes it again only once heartbeats
// have been missed long enough (15-20 s measured), so the caller watches
// again at once, from every feed's current state.
var ErrReconnected = errors.New("watch feeds: the connection to nats was made again")

// watchCheck is how often a Watch looks whether its connection reconnected.
const watchCheck = 250 * time.Millisecond

// Watch streams every feed, then every change, until ctx ends or the
// connection reconnects (ErrReconnected): an entry given with removed true
// is a feed removed (only its Key and Revision set).
func (r *Registry) Watch(ctx context.Context, fn func(e Entry, removed bool)) error {
	reconnects := r.reconnects()
	w, err := r.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch feeds: %w", err)
	}
	defer func() { _ = w.Stop() }()
	check := time.NewTicker(watchCheck)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-check.C:
			if r.reconnects() != reconnects {
				return ErrReconnected
			}
		case kve, ok := <-w.Updates():
			if !ok {
				return nil
			}
			if kve == nil {
				continue // the end of the initial values
			}
			if kve.Operation() != jetstream.KeyValuePut {
				fn(Entry{Key: kve.Key(), Revision: kve.Revision()}, true)
				continue
			}
			e, err := decode(kve)
			if err != nil {
				continue // a foreign value: not a feed of ours
			}
			fn(e, false)
		}
	}
}
