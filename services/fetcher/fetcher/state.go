package fetcher

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/newsflow/newsflow/services/fetcher/registry"
)

// FeedState is what the poller remembers about a feed between polls.
type FeedState = registry.State

// FeedStates stores FeedState by feed URL: in memory, or in the feed
// registry shared by replicas.
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

// RegistryFeedStates keeps feed state in the feed registry, registering a
// feed on first use. Writes are compare-and-set, retried on a conflict;
// another owner's lease is left in place.
type RegistryFeedStates struct {
	Registry *registry.Registry
}

// Get returns the state of feedURL, registering it if needed.
func (s RegistryFeedStates) Get(ctx context.Context, feedURL string) (FeedState, error) {
	e, err := s.Registry.Get(ctx, feedURL)
	if errors.Is(err, registry.ErrNotFound) {
		_, err = s.Registry.Add(ctx, feedURL, time.Now())
		return FeedState{}, err
	}
	return e.Feed.State, err
}

// Put replaces the state of feedURL.
func (s RegistryFeedStates) Put(ctx context.Context, feedURL string, st FeedState) error {
	var err error
	for range 5 {
		var e registry.Entry
		if e, err = s.Registry.Get(ctx, feedURL); err != nil {
			return err
		}
		st.LeaseOwner, st.LeaseUntil = e.Feed.LeaseOwner, e.Feed.LeaseUntil
		e.Feed.State = st
		if _, err = s.Registry.Update(ctx, e); !errors.Is(err, registry.ErrConflict) {
			return err
		}
	}
	return err
}
