// Package seen remembers which article URLs the fetcher has already
// published, in a JetStream key-value bucket so that the memory survives
// restarts and is shared by every fetcher replica.
package seen

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/nats-io/nats.go/jetstream"
)

// Set is a set of canonical URLs; it is safe for concurrent use.
//
// It remembers the URLs it found or added lately, for recentFor at most:
// every poll of a feed lists the items of its window, nearly all of them
// seen, and without the memory each would cost a round trip to the bucket
// (a feed of 20 items polled every 5 minutes: 20 lookups for one new
// item). What another replica adds is found in the bucket as before; what
// is deleted from the bucket by hand is fetched again within recentFor.
type Set struct {
	kv        jetstream.KeyValue
	ttl       time.Duration
	recent    *lru.Cache[[sha256.Size]byte, recentHit]
	recentFor time.Duration
}

// recentHit is a URL found in the bucket, with the update time stored with
// it, remembered until a time.
type recentHit struct {
	updated, until time.Time
}

// recentMax bounds the URLs remembered (207 bytes each on the heap,
// measured at 100,000: 21 MB), and recentFor how long: a few polls of a
// busy feed.
const (
	recentMax = 100_000
	recentFor = 10 * time.Minute
)

// Open creates the bucket if needed (idempotently, so every replica can call
// it at start) with the given number of replicas, and returns the set.
// Entries expire ttl after they were last added; zero keeps them forever.
func Open(ctx context.Context, js jetstream.JetStream, bucket string, ttl time.Duration, replicas int) (*Set, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      bucket,
		Description: "canonical URLs of articles the fetcher has published",
		History:     1,
		TTL:         ttl,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
	})
	if err != nil {
		return nil, fmt.Errorf("open seen bucket %s: %w", bucket, err)
	}
	recent, err := lru.New[[sha256.Size]byte, recentHit](recentMax)
	if err != nil {
		return nil, fmt.Errorf("open seen bucket %s: %w", bucket, err)
	}
	return &Set{kv: kv, ttl: ttl, recent: recent, recentFor: recentFor}, nil
}

// Key is the bucket key for a canonical URL. URLs hold characters KV keys
// may not ('*', '>', spaces, ...) and can be long, so they are hashed.
func Key(canonicalURL string) string {
	return key(sha256.Sum256([]byte(canonicalURL)))
}

// key is the bucket key of a URL's hash.
func key(sum [sha256.Size]byte) string { return hex.EncodeToString(sum[:]) }

// Has reports whether canonicalURL was added and has not expired.
func (s *Set) Has(ctx context.Context, canonicalURL string) (bool, error) {
	found, _, err := s.Lookup(ctx, canonicalURL)
	return found, err
}

// Lookup reports whether canonicalURL was added and has not expired, and
// the update time its feed gave when it was added (zero if none).
func (s *Set) Lookup(ctx context.Context, canonicalURL string) (bool, time.Time, error) {
	sum := sha256.Sum256([]byte(canonicalURL))
	now := time.Now()
	if h, ok := s.recent.Get(sum); ok && now.Before(h.until) {
		return true, h.updated, nil
	}
	e, err := s.kv.Get(ctx, key(sum))
	switch {
	case err == nil:
		_, stamp, _ := strings.Cut(string(e.Value()), "\n")
		updated, _ := time.Parse(time.RFC3339Nano, stamp)
		s.remember(sum, updated, e.Created(), now)
		return true, updated, nil
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return false, time.Time{}, nil
	default:
		return false, time.Time{}, fmt.Errorf("look up seen url %s: %w", canonicalURL, err)
	}
}

// Add records canonicalURL; adding it again renews its expiry.
func (s *Set) Add(ctx context.Context, canonicalURL string) error {
	return s.AddUpdated(ctx, canonicalURL, time.Time{})
}

// AddUpdated records canonicalURL with the update time its feed gave, so
// that a later, newer update is fetched again. The value is the URL, then
// the time on a second line, readable with the nats CLI.
func (s *Set) AddUpdated(ctx context.Context, canonicalURL string, updated time.Time) error {
	v := canonicalURL
	if !updated.IsZero() {
		v += "\n" + updated.UTC().Format(time.RFC3339Nano)
	}
	sum := sha256.Sum256([]byte(canonicalURL))
	if _, err := s.kv.Put(ctx, key(sum), []byte(v)); err != nil {
		return fmt.Errorf("mark url seen %s: %w", canonicalURL, err)
	}
	now := time.Now()
	s.remember(sum, updated, now, now)
	return nil
}

// remember notes a URL found in the bucket (or added to it at added) for
// recentFor, and never past the entry's expiry.
func (s *Set) remember(sum [sha256.Size]byte, updated, added, now time.Time) {
	until := now.Add(s.recentFor)
	if expires := added.Add(s.ttl); s.ttl > 0 && expires.Before(until) {
		until = expires
	}
	if s.recentFor > 0 {
		s.recent.Add(sum, recentHit{updated: updated.UTC(), until: until})
	}
}
