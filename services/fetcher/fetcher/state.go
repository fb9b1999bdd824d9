package fetcher

import (
	"context"
	"sync"
)

// FeedState is what the poller remembers about a feed between polls.
// (Next-poll time and error streaks join it with adaptive scheduling.)
type FeedState struct {
	ETag, LastModified string
}

// FeedStates stores FeedState by feed URL. The in-memory implementation is
// the default; a KV-bucket one will share it between replicas.
type FeedStates interface {
	Get(ctx context.Context, feedURL string) (FeedState, error)
	Put(ctx context.Context, feedURL string, s FeedState) error
}

// MemoryFeedStates keeps feed state in process memory.
type MemoryFeedStates struct {
	mu sync.Mutex
	m  map[string]FeedState
}

// NewMemoryFeedStates returns an empty store.
func NewMemoryFeedStates() *MemoryFeedStates {
	return &MemoryFeedStates{m: map[string]FeedState{}}
}

// Get returns the state of feedURL, zero if unknown.
func (s *MemoryFeedStates) Get(_ context.Context, feedURL string) (FeedState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[feedURL], nil
}

// Put replaces the state of feedURL.
func (s *MemoryFeedStates) Put(_ context.Context, feedURL string, st FeedState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[feedURL] = st
	return nil
}
