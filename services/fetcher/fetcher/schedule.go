package fetcher

import (
	"cmp"
	"math"
	"math/rand/v2"
	"time"

	"github.com/newsflow/newsflow/services/fetcher/page"
)

// Schedule decides when each feed is polled next. Zero fields take the
// defaults noted.
type Schedule struct {
	// MinInterval and MaxInterval bound the interval adapted to a feed's
	// publishing rate (defaults 5m, or the base interval if shorter, and
	// 6h). A feed's TTL, Cache-Control max-age or Expires raise it, up to
	// MaxHint.
	MinInterval, MaxInterval time.Duration
	// MaxHint caps what a server's TTL, max-age, Expires or Retry-After can
	// ask for (default 24h).
	MaxHint time.Duration
	// MaxBackoff caps the wait after repeated failures (default 24h): a
	// feed is never given up, only polled rarely.
	MaxBackoff time.Duration
	// Jitter spreads each wait by ±Jitter of itself (default 0.1), so the
	// feeds of one host drift apart instead of firing together.
	Jitter float64
	// Rand returns a number in [0,1) (default math/rand/v2).
	Rand func() float64

	base time.Duration // the interval of a feed with no known rate
}

func (s Schedule) withDefaults(base time.Duration) Schedule {
	s.base = base
	if s.MinInterval <= 0 {
		s.MinInterval = min(5*time.Minute, base)
	}
	if s.MaxInterval <= 0 {
		s.MaxInterval = max(6*time.Hour, base)
	}
	if s.MaxHint <= 0 {
		s.MaxHint = 24 * time.Hour
	}
	if s.MaxBackoff <= 0 {
		s.MaxBackoff = 24 * time.Hour
	}
	if s.Jitter == 0 {
		s.Jitter = 0.1
	}
	if s.Rand == nil {
		s.Rand = rand.Float64
	}
	return s
}

// rateSmoothing weighs a new rate estimate against the running one.
const rateSmoothing = 0.3

// Next returns the feed's state after a poll that ended at now with res.
func (s Schedule) Next(st FeedState, res pollResult, now time.Time) FeedState {
	prev := st.LastPoll
	st.Polls++
	st.LastPoll = now
	st.LeaseOwner, st.LeaseUntil = "", time.Time{}
	if st.Interval <= 0 {
		st.Interval = s.base
	}
	if res.err != nil {
		st.ErrorStreak++
		if st.FailingSince.IsZero() {
			st.FailingSince = now
		}
		st.LastErrorClass = cmp.Or(res.class, page.ClassOther)
		st.LastError = truncate(res.err.Error(), 300)
		if st.Errors == nil {
			st.Errors = map[string]int{}
		}
		st.Errors[st.LastErrorClass]++
		st.NextPoll = now.Add(s.jitter(max(s.backoff(st), min(res.retryAfter, s.MaxHint))))
		return st
	}
	st.ErrorStreak, st.FailingSince, st.LastError = 0, time.Time{}, ""
	st.LastSuccess = now
	st.Discovered = res.discovered
	if res.notModified {
		st.NotModified++
	} else if !res.retry {
		st.ETag, st.LastModified = res.etag, res.lastModified
	}
	st.NewItems += res.newItems

	// The publishing rate: from the items' dates when they have any, and
	// at least what the polls found new since the previous one.
	sample := res.itemsPerDay
	if !prev.IsZero() && !res.notModified {
		if found := float64(res.newItems) / (now.Sub(prev).Hours() / 24); found > sample {
			sample = found
		}
	}
	switch {
	case sample < 0:
	case st.ItemsPerDay == 0 && st.Polls == 1, sample > 2*st.ItemsPerDay:
		// The first estimate, or a feed publishing much faster than
		// thought: follow at once (slowing down is smoothed, speeding up
		// is not, since a late poll loses items).
		st.ItemsPerDay = sample
	default:
		st.ItemsPerDay = rateSmoothing*sample + (1-rateSmoothing)*st.ItemsPerDay
	}
	if res.window > 0 {
		st.Window = res.window
	}
	// Every listed item new on a repeat poll: some may have scrolled out
	// unseen. Count it and poll twice as often at once.
	gap := !prev.IsZero() && !res.notModified && res.listed >= 2 && res.newItems >= res.listed
	if gap {
		st.Gaps++
	}
	switch {
	case st.ItemsPerDay > 0:
		// About one new item per poll.
		st.Interval = time.Duration(float64(24*time.Hour) / st.ItemsPerDay)
	case st.Polls > 1:
		st.Interval = st.Interval * 3 / 2 // quiet: slow down gradually
	}
	if gap {
		st.Interval = min(st.Interval, now.Sub(prev)/2)
	}
	if st.Window > 0 {
		// Never longer than half the feed's window, so that an item is
		// listed at least twice before it scrolls out.
		st.Interval = min(st.Interval, st.Window/2)
	}
	st.Interval = min(max(st.Interval, s.MinInterval), s.MaxInterval)
	wait := max(st.Interval, min(max(res.ttl, res.cacheFor), s.MaxHint))
	st.NextPoll = now.Add(s.jitter(wait))
	return st
}

// backoff is the wait after the st.ErrorStreak-th failure in a row: the
// feed's interval doubled per failure, capped.
func (s Schedule) backoff(st FeedState) time.Duration {
	exp := math.Pow(2, float64(min(st.ErrorStreak-1, 30)))
	return min(time.Duration(float64(max(st.Interval, s.MinInterval))*exp), s.MaxBackoff)
}

func (s Schedule) jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (1 + s.Jitter*(2*s.Rand()-1)))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
