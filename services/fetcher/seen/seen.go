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

	"github.com/nats-io/nats.go/jetstream"
)

// Set is a set of canonical URLs; it is safe for concurrent use.
type Set struct {
	kv jetstream.KeyValue
}

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
	return &Set{kv: kv}, nil
}

// Key is the bucket key for a canonical URL. URLs hold characters KV keys
// may not ('*', '>', spaces, ...) and can be long, so they are hashed.
func Key(canonicalURL string) string {
	sum := sha256.Sum256([]byte(canonicalURL))
	return hex.EncodeToString(sum[:])
}

// Has reports whether canonicalURL was added and has not expired.
func (s *Set) Has(ctx context.Context, canonicalURL string) (bool, error) {
	found, _, err := s.Lookup(ctx, canonicalURL)
	return found, err
}

// Lookup reports whether canonicalURL was added and has not expired, and
// the update time its feed gave when it was added (zero if none).
func (s *Set) Lookup(ctx context.Context, canonicalURL string) (bool, time.Time, error) {
	e, err := s.kv.Get(ctx, Key(canonicalURL))
	switch {
	case err == nil:
		_, stamp, _ := strings.Cut(string(e.Value()), "\n")
		updated, _ := time.Parse(time.RFC3339Nano, stamp)
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
	if _, err := s.kv.Put(ctx, Key(canonicalURL), []byte(v)); err != nil {
		return fmt.Errorf("mark url seen %s: %w", canonicalURL, err)
	}
	return nil
}
