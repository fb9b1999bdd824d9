package fetcher

import (
	"errors"
	"github.com/newsflow/newsflow/services/fetcher/feed"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/newsflow/newsflow/services/fetcher/page"
	"github.com/newsflow/newsflow/services/fetcher/registry"
)

// noJitter makes waits exact: Rand returns the middle of [0,1).
func noJitter() Schedule {
	return Schedule{Rand: func() float64 { return 0.5 }}.withDefaults(15 * time.Minute)
}

var t0 = time.Date(2025, 6, 2, 8, 0, 0, 0, time.UTC)

func TestScheduleBackoffNeverGivesUp(t *testing.T) {
	s := noJitter()
	st := FeedState{}
	now := t0
	var waits []time.Duration
	for range 12 {
		st = s.Next(st, pollResult{err: errors.New("boom"), class: page.ClassHTTPStatus}, now)
		waits = append(waits, st.NextPoll.Sub(now))
		now = st.NextPoll
	}
	require.Equal(t, []time.Duration{
		15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour, 16 * time.Hour,
		24 * time.Hour, 24 * time.Hour, 24 * time.Hour, 24 * time.Hour, 24 * time.Hour, // capped, never dropped
	}, waits)
	require.Equal(t, 12, st.ErrorStreak)
	require.Equal(t, map[string]int{page.ClassHTTPStatus: 12}, st.Errors)
	require.Equal(t, registry.Failing, st.Health(now))
	require.Equal(t, registry.Backoff, FeedState{ErrorStreak: 1, FailingSince: now}.Health(now.Add(time.Hour)))

	// One success resets the streak and the health.
	st = s.Next(st, pollResult{itemsPerDay: -1}, now)
	require.Zero(t, st.ErrorStreak)
	require.Equal(t, registry.Healthy, st.Health(now))
	require.Empty(t, st.LastError)
}

func TestScheduleServerHints(t *testing.T) {
	s := noJitter()
	tests := []struct {
		name string
		res  pollResult
		want time.Duration
	}{
		{"no hint", pollResult{itemsPerDay: -1}, 15 * time.Minute},
		{"rss ttl raises", pollResult{itemsPerDay: -1, ttl: time.Hour}, time.Hour},
		{"max-age raises", pollResult{itemsPerDay: -1, cacheFor: 2 * time.Hour}, 2 * time.Hour},
		{"a short max-age does not lower", pollResult{itemsPerDay: -1, cacheFor: time.Minute}, 15 * time.Minute},
		{"an absurd hint is capped", pollResult{itemsPerDay: -1, ttl: 365 * 24 * time.Hour}, 24 * time.Hour},
		{"429 retry-after", pollResult{err: errors.New("429"), retryAfter: 3 * time.Hour}, 3 * time.Hour},
		{"retry-after shorter than backoff", pollResult{err: errors.New("503"), retryAfter: time.Second}, 15 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := s.Next(FeedState{}, tt.res, t0)
			require.Equal(t, tt.want, st.NextPoll.Sub(t0))
		})
	}
}

func TestScheduleAdaptsToPublishingRate(t *testing.T) {
	s := noJitter()
	// 96 items a day by their dates: one every 15 minutes; 480 a day is
	// held at the minimum interval.
	require.Equal(t, 15*time.Minute, s.Next(FeedState{}, pollResult{itemsPerDay: 96}, t0).Interval)
	require.Equal(t, 5*time.Minute, s.Next(FeedState{}, pollResult{itemsPerDay: 480}, t0).Interval)
	// Two a day: every 12 hours, but the maximum is 6 hours.
	require.Equal(t, 6*time.Hour, s.Next(FeedState{}, pollResult{itemsPerDay: 2}, t0).Interval)

	// Undated items: the rate comes from new items between polls.
	st := s.Next(FeedState{}, pollResult{itemsPerDay: -1, newItems: 20}, t0)
	require.Equal(t, 15*time.Minute, st.Interval) // first poll: no rate yet
	st = s.Next(st, pollResult{itemsPerDay: -1, newItems: 4}, t0.Add(time.Hour))
	require.InDelta(t, 96, st.ItemsPerDay, 0.01) // 4 an hour: faster is followed at once
	st = s.Next(st, pollResult{itemsPerDay: -1, newItems: 2}, t0.Add(2*time.Hour))
	require.InDelta(t, 0.3*48+0.7*96, st.ItemsPerDay, 0.01) // slower is smoothed
	// A quiet feed slows down gradually.
	quiet := s.Next(FeedState{Polls: 3, Interval: time.Hour}, pollResult{itemsPerDay: 0}, t0)
	require.Equal(t, 90*time.Minute, quiet.Interval)
}

func TestScheduleKeepsValidatorsWhenItemsNeedRetry(t *testing.T) {
	s := noJitter()
	st := s.Next(FeedState{ETag: `"old"`}, pollResult{itemsPerDay: -1, etag: `"new"`, retry: true}, t0)
	require.Equal(t, `"old"`, st.ETag)
	st = s.Next(st, pollResult{itemsPerDay: -1, etag: `"new"`}, t0)
	require.Equal(t, `"new"`, st.ETag)
}

func TestScheduleJitterSpreads(t *testing.T) {
	lo := Schedule{Rand: func() float64 { return 0 }}.withDefaults(time.Hour)
	hi := Schedule{Rand: func() float64 { return 0.999999 }}.withDefaults(time.Hour)
	res := pollResult{itemsPerDay: -1}
	require.Equal(t, 54*time.Minute, lo.Next(FeedState{}, res, t0).NextPoll.Sub(t0))
	require.InDelta(t, float64(66*time.Minute), float64(hi.Next(FeedState{}, res, t0).NextPoll.Sub(t0)), float64(time.Second))
}

// TestRateReadsTheFeedsOwnWindow: a feed listing its latest 20 items,
// published over the last two hours, publishes about 230 a day, not 20/7
// (the old estimate read "items of the last week / 7", which sent such a
// feed to the 6-hour maximum and lost most of its items).
func TestRateReadsTheFeedsOwnWindow(t *testing.T) {
	now := t0
	var items []feed.Item
	for i := range 20 {
		items = append(items, feed.Item{Published: now.Add(-time.Duration(i) * 6 * time.Minute).Add(-5 * time.Minute)})
	}
	rate, window := itemsPerDay(items, now)
	require.InDelta(t, 19/(119.0/60)*24, rate, 1)
	require.Equal(t, 119*time.Minute, window)
	s := Schedule{MinInterval: time.Minute, Rand: func() float64 { return 0.5 }}.withDefaults(15 * time.Minute)
	st := s.Next(FeedState{}, pollResult{itemsPerDay: rate, window: window, listed: 20}, now)
	require.LessOrEqual(t, st.Interval, 7*time.Minute, "about one new item per poll")

	// A feed that stopped publishing a week ago reads as slow.
	var stale []feed.Item
	for _, it := range items {
		stale = append(stale, feed.Item{Published: it.Published.Add(-7 * 24 * time.Hour)})
	}
	slow, _ := itemsPerDay(stale, now)
	require.Less(t, slow, 3.0)
	// Half the window at most, whatever the rate says.
	st = s.Next(FeedState{}, pollResult{itemsPerDay: 1, window: time.Hour, listed: 5}, now)
	require.Equal(t, 30*time.Minute, st.Interval)
}

// TestGapIsDetected: a repeat poll that finds every listed item new counts
// a gap and at least halves the wait at once.
func TestGapIsDetected(t *testing.T) {
	s := Schedule{MinInterval: time.Minute, Rand: func() float64 { return 0.5 }}.withDefaults(time.Hour)
	st := s.Next(FeedState{}, pollResult{itemsPerDay: -1, newItems: 5, listed: 5}, t0)
	require.Zero(t, st.Gaps, "the first poll finds everything new")
	st = s.Next(st, pollResult{itemsPerDay: -1, newItems: 5, listed: 5}, t0.Add(time.Hour))
	require.Equal(t, 1, st.Gaps)
	require.LessOrEqual(t, st.Interval, 30*time.Minute)
	st = s.Next(st, pollResult{itemsPerDay: -1, newItems: 1, listed: 5}, t0.Add(90*time.Minute))
	require.Equal(t, 1, st.Gaps)
}
